"""HTTP API of surveys: parse, authorise (policy table), call a service, serialise."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from monitor.accounts.services import get_account
from monitor.api.schemas import PageQuery
from monitor.api.spec import operation
from monitor.auth import request_session
from surveys import questionnaires, scoring, services, settings
from surveys.models import RespondentRole, SurveyCycle, SurveyResponse
from surveys.schemas import (
    AccountResultPage,
    AccountResultQuery,
    AccountTrend,
    Coverage,
    CycleList,
    CycleOut,
    CycleResults,
    QuestionnaireList,
    ResponseOut,
    ResponsePage,
    ResponseQuery,
)

bp = Blueprint("surveys", __name__, url_prefix="/api/v1")


@bp.record_once
def _check_settings(state: BlueprintSetupState) -> None:
    """Refuse bad survey settings when the app is built, not at the first survey request."""
    settings.SurveySettings.of(state.app.config["MONITOR"])


def _cycle_out(cycle: SurveyCycle) -> dict[str, Any]:
    status = services.cycle_status(request_session(), cycle)
    return {
        "quarter": cycle.quarter,
        "opens_at": cycle.opens_at,
        "closes_at": cycle.closes_at,
        "reminder_days": cycle.reminder_days,
        "eligible": cycle.eligible_count,
        "opted_out": cycle.opted_out_count,
        "invited": status.invited,
        "still_to_invite": status.still_to_invite,
        "opened": status.opened,
        "responded": status.responded,
        "reminded": status.reminded,
        "follow_ups": status.follow_ups,
    }


def _response_out(response: SurveyResponse, quarters: dict[int, str]) -> dict[str, Any]:
    return {
        "id": response.id,
        "quarter": quarters[response.cycle_id],
        "account_id": response.account_id,
        "contact_id": response.contact_id,
        "respondent_role": response.respondent_role,
        "account_class": response.account_class,
        "language": response.language,
        "questionnaire_id": response.questionnaire_id,
        "submitted_at": response.submitted_at,
        "wants_contact": response.wants_contact,
        "complaint_id": response.complaint_id,
        "answers": response.answers,
    }


def _quarters() -> dict[int, str]:
    return {c.id: c.quarter for c in services.list_cycles(request_session())}


@operation(
    bp,
    "/surveys/questionnaires",
    "GET",
    summary="Current questionnaires",
    response=QuestionnaireList,
)
def list_questionnaires() -> dict:
    """The questionnaire each role answers now (the latest version)."""
    session = request_session()
    items = []
    for role in RespondentRole:
        found = questionnaires.current(session, role)
        items.append(
            {
                "id": found.id,
                "role": found.role,
                "version": found.version,
                "created_at": found.created_at,
                "title": found.definition["title"],
                "questions": [
                    {"category": "other", "options": [], **q} for q in found.definition["questions"]
                ],
            }
        )
    return {"items": items}


@operation(bp, "/surveys/cycles", "GET", summary="Survey cycles", response=CycleList)
def list_cycles() -> dict:
    """Every quarter's cycle, newest first, with its dispatch and response counts."""
    return {"items": [_cycle_out(c) for c in services.list_cycles(request_session())]}


@operation(bp, "/surveys/cycles/<quarter>", "GET", summary="A survey cycle", response=CycleOut)
def get_cycle(quarter: str) -> dict:
    """`quarter` as `2026-Q4`."""
    return _cycle_out(services.get_cycle(request_session(), quarter))


@operation(
    bp,
    "/surveys/cycles/<quarter>/results",
    "GET",
    summary="A cycle's scores",
    response=CycleResults,
)
def cycle_results(quarter: str) -> dict:
    """NPS, CSAT %, CES mean and response rate overall, by role and by account class, by every
    roll-up method (each figure names its method), with the change from the previous quarter."""
    session = request_session()
    cycle = services.get_cycle(session, quarter)
    return scoring.cycle_results(session, cycle, settings.current())


@operation(
    bp,
    "/surveys/cycles/<quarter>/accounts",
    "GET",
    summary="A cycle's scores per account",
    query=AccountResultQuery,
    response=AccountResultPage,
)
def cycle_accounts(quarter: str, query: AccountResultQuery) -> dict:
    """Each account's role-weighted score (and the other methods), naming the roles that did
    not answer; `missing_role` keeps the accounts where that role did not answer."""
    session = request_session()
    cycle = services.get_cycle(session, quarter)
    return scoring.account_results(
        session,
        cycle,
        settings.current(),
        query.page,
        query.per_page,
        missing_role=query.missing_role,
    )


@operation(
    bp,
    "/surveys/cycles/<quarter>/coverage",
    "GET",
    summary="A cycle's coverage gaps",
    query=PageQuery,
    response=Coverage,
)
def cycle_coverage(quarter: str, query: PageQuery) -> dict:
    """Accounts with no reachable contact for a surveyed role, and accounts where an invited
    role did not answer."""
    session = request_session()
    cycle = services.get_cycle(session, quarter)
    return scoring.coverage(session, cycle, query.page, query.per_page)


@operation(
    bp,
    "/surveys/responses",
    "GET",
    summary="Survey returns",
    query=ResponseQuery,
    response=ResponsePage,
)
def list_responses(query: ResponseQuery) -> dict:
    """Newest first. Filter by quarter, account, role, class, follow-up, contact request, NPS
    ceiling and submission time."""
    page = services.list_responses(request_session(), **query.model_dump(exclude_none=True))
    quarters = _quarters()
    page["items"] = [_response_out(r, quarters) for r in page["items"]]
    return page


@operation(
    bp,
    "/surveys/responses/<id:response_id>",
    "GET",
    summary="A survey return",
    response=ResponseOut,
)
def get_response(response_id: int) -> dict:
    response = services.get_response(request_session(), response_id)
    return _response_out(response, _quarters())


@operation(
    bp,
    "/accounts/<id:account_id>/satisfaction",
    "GET",
    summary="An account's satisfaction trend",
    response=AccountTrend,
)
def account_satisfaction(account_id: int) -> dict:
    """The account's scores in every cycle, oldest first, with the change from the one before."""
    session = request_session()
    get_account(session, account_id)
    return scoring.account_trend(session, account_id, settings.current())
