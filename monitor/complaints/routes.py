"""HTTP API of complaints: parse, authorise (policy table), call a service, serialise."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, request
from sqlalchemy import Row

from monitor.api.problems import FieldError, NotFound, Problem
from monitor.api.schemas import Page
from monitor.api.spec import operation
from monitor.audit.schemas import History
from monitor.audit.services import entity_history
from monitor.auth import current_user, has_role, request_session
from monitor.complaints import services
from monitor.complaints.models import CommentVisibility, Complaint, CrisisStep, Severity
from monitor.complaints.schemas import (
    AssignBody,
    AssignmentRuleBody,
    AssignmentRuleOut,
    CommentCreate,
    CommentOut,
    ComplaintCreate,
    ComplaintOut,
    ComplaintQuery,
    ComplaintUpdate,
    PolicyOut,
    PolicyUpdate,
    QueueItemOut,
    StatisticsOut,
    StatisticsQuery,
    StepOut,
    StepUpdate,
    TransitionBody,
    clock_out,
)
from monitor.complaints.sla import Moment
from monitor.db import one_page, utcnow
from monitor.policy import MANAGER

bp = Blueprint("complaints", __name__, url_prefix="/api/v1")

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


_PLAIN_FIELDS = [name for name in ComplaintOut.model_fields if name not in ("sla", "checklist")]


def _clock(complaint: Complaint | Row[Any], history: list[Moment] | None = None) -> dict:
    """The complaint's live SLA clock, replayed from ``history`` when the caller read it for a
    whole page, else from the complaint's events."""
    return clock_out(services.sla_clock(request_session(), complaint, history=history))


def _out(complaint: Complaint) -> dict[str, Any]:
    """The complaint with its live SLA clock and its crisis checklist."""
    data = {name: getattr(complaint, name) for name in _PLAIN_FIELDS}
    return data | {"sla": _clock(complaint), "checklist": complaint.steps}


def _readable(complaint_id: int) -> Complaint:
    return services.get_readable(request_session(), complaint_id, current_user())


@operation(
    bp,
    "/complaints",
    "POST",
    summary="Log a complaint",
    body=ComplaintCreate,
    response=ComplaintOut,
    status=201,
    errors=(409,),
)
def create_complaint(body: ComplaintCreate) -> object:
    """The complaint lands in the senior-manager queue and is assigned by the assignment rule.
    Send an `Idempotency-Key` header (up to 200 printable characters) to make a retried request
    return the complaint created the first time instead of a second one."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise FieldError(
            "Idempotency-Key", "1 to 200 printable ASCII characters, no spaces", location="header"
        )
    complaint = services.open_complaint(request_session(), **body.model_dump(), idempotency_key=key)
    return _out(complaint)


@operation(
    bp,
    "/complaints",
    "GET",
    summary="The complaint queue",
    query=ComplaintQuery,
    response=Page[QueueItemOut],
)
def list_complaints(query: ComplaintQuery) -> dict:
    """Nearest SLA deadline first; complaints whose clocks are paused or stopped come last.
    Each item gives its crisis checklist's progress; the steps are on the complaint. Finance
    sees the complaints of the accounts it manages and those opened by disputes."""
    filters = query.model_dump(exclude_none=True)
    filters["open_only"] = filters.pop("open", None)
    session = request_session()
    page = services.list_complaints(session, viewer=current_user(), **filters)
    ids = [c.id for c in page["items"]]
    histories = services.histories(session, ids)
    progress = services.checklist_progress(session, ids)
    # The page's rows hold every column (the model leaves out those it does not show).
    page["items"] = [
        row._asdict()
        | {"sla": _clock(row, histories[row.id]), "checklist_progress": progress[row.id]}
        for row in page["items"]
    ]
    return page


@operation(
    bp,
    "/complaints/<id:complaint_id>",
    "GET",
    summary="Read a complaint, with its SLA clock and crisis checklist",
    response=ComplaintOut,
)
def get_complaint(complaint_id: int) -> object:
    return _out(_readable(complaint_id))


@operation(
    bp,
    "/complaints/<id:complaint_id>",
    "PATCH",
    summary="Change severity, category or contact",
    body=ComplaintUpdate,
    response=ComplaintOut,
    errors=(409,),
)
def update_complaint(complaint_id: int, body: ComplaintUpdate) -> object:
    """A severity change re-times the SLA clock from receipt; raising it to critical adds the
    crisis checklist."""
    session = request_session()
    complaint = services.get_complaint(session, complaint_id)
    changes = body.model_dump(exclude_unset=True)
    return _out(services.change(session, complaint, **changes))


@operation(
    bp,
    "/complaints/<id:complaint_id>/claim",
    "POST",
    summary="Claim an unassigned complaint",
    response=ComplaintOut,
    errors=(409,),
)
def claim_complaint(complaint_id: int) -> object:
    """Of two managers claiming at once, one gets the complaint and the other a 409."""
    return _out(services.claim(request_session(), complaint_id, current_user()))


@operation(
    bp,
    "/complaints/<id:complaint_id>/assignee",
    "PUT",
    summary="Assign a complaint to a manager",
    body=AssignBody,
    response=ComplaintOut,
)
def assign_complaint(complaint_id: int, body: AssignBody) -> object:
    session = request_session()
    complaint = services.get_complaint(session, complaint_id)
    return _out(services.assign(session, complaint, body.assignee_id))


@operation(
    bp,
    "/complaints/<id:complaint_id>/transitions",
    "POST",
    summary="Move a complaint to its next handling step",
    body=TransitionBody,
    response=ComplaintOut,
    errors=(409,),
)
def transition_complaint(complaint_id: int, body: TransitionBody) -> object:
    """new → acknowledged → investigating ⇄ waiting on customer → resolved → closed, and
    reopened. An illegal step is refused with 409 and changes nothing."""
    session = request_session()
    complaint = services.get_complaint(session, complaint_id)
    fields = body.model_dump(exclude_none=True)
    return _out(services.transition(session, complaint, fields.pop("action"), **fields))


@operation(
    bp,
    "/complaints/<id:complaint_id>/comments",
    "GET",
    summary="Comments on a complaint, oldest first",
    response=Page[CommentOut],
)
def list_comments(complaint_id: int) -> dict:
    return one_page(services.list_comments(request_session(), _readable(complaint_id)))


@operation(
    bp,
    "/complaints/<id:complaint_id>/comments",
    "POST",
    summary="Comment on a complaint",
    body=CommentCreate,
    response=CommentOut,
    status=201,
)
def add_comment(complaint_id: int, body: CommentCreate) -> object:
    """Agents add customer-facing comments; managers add both kinds."""
    if body.visibility is CommentVisibility.INTERNAL and not has_role(MANAGER):
        raise Problem(
            403,
            "Forbidden",
            "only managers add internal comments; agents add customer-facing ones",
            [{"field": "visibility", "message": "internal needs the manager role"}],
        )
    session = request_session()
    complaint = _readable(complaint_id)
    return services.add_comment(session, complaint, body.visibility, body.body)


@operation(
    bp,
    "/complaints/<id:complaint_id>/checklist/<step>",
    "PATCH",
    summary="Update a step of the crisis checklist",
    body=StepUpdate,
    response=StepOut,
    errors=(409,),
)
def update_checklist_step(complaint_id: int, step: str, body: StepUpdate) -> object:
    """Give a step an owner or a note, or mark it done, skipped (with `skip_reason`) or pending
    again. Steps: reach_site, listen, calm_customer, report_leadership, first_handling,
    mobilise_resources, public_sentiment."""
    try:
        crisis_step = CrisisStep(step)
    except ValueError:
        raise NotFound(f"checklist step {step}") from None
    session = request_session()
    complaint = services.get_complaint(session, complaint_id)
    return services.update_step(
        session, complaint, crisis_step, **body.model_dump(), fields_set=body.model_fields_set
    )


@operation(
    bp,
    "/complaints/<id:complaint_id>/history",
    "GET",
    summary="Every change to a complaint",
    response=History,
)
def complaint_history(complaint_id: int) -> dict:
    """State, assignee, severity, SLA breaches, comments and checklist steps, oldest first."""
    _readable(complaint_id)
    return entity_history(request_session(), "complaint", complaint_id)


@operation(
    bp,
    "/complaints/statistics",
    "GET",
    summary="Queue statistics and SLA compliance per month",
    query=StatisticsQuery,
    response=StatisticsOut,
)
def complaint_statistics(query: StatisticsQuery) -> dict:
    """Open complaints by severity and state; per month of receipt: volume, median minutes to
    first response and to resolution, breach rate, and compliance per target (met within
    target / decided)."""
    config = current_app.config["MONITOR"]
    zone = query.timezone or config.default_timezone
    if query.first_month is not None:
        first = date.fromisoformat(query.first_month + "-01")
    else:
        today = utcnow().astimezone(ZoneInfo(zone)).date()
        index = today.year * 12 + today.month - 1 - (query.months - 1)
        first = date(index // 12, index % 12 + 1, 1)
    return services.statistics(
        request_session(), first_month=first, months=query.months, timezone=zone
    )


@operation(
    bp,
    "/complaints/sla-policies",
    "GET",
    summary="SLA targets in force, per severity",
    response=Page[PolicyOut],
)
def list_sla_policies() -> dict:
    return one_page(services.current_policies(request_session()))


@operation(
    bp,
    "/complaints/sla-policies/<severity>",
    "PUT",
    summary="Set the SLA targets of a severity",
    body=PolicyUpdate,
    response=PolicyOut,
)
def set_sla_policy(severity: str, body: PolicyUpdate) -> object:
    """In force from now on for complaints received from now on; complaints already in the
    queue keep the targets they were received under."""
    try:
        level = Severity(severity)
    except ValueError:
        raise NotFound(f"severity {severity}") from None
    row = services.set_policy(request_session(), level, **body.model_dump())
    return {
        **body.model_dump(),
        "severity": level,
        "effective_from": row.effective_from,
        "source": "configured",
    }


@operation(
    bp,
    "/complaints/assignment-rule",
    "GET",
    summary="How new complaints are assigned",
    response=AssignmentRuleOut,
)
def get_assignment_rule() -> object:
    return services.assignment_rule(request_session())


@operation(
    bp,
    "/complaints/assignment-rule",
    "PUT",
    summary="Change how new complaints are assigned",
    body=AssignmentRuleBody,
    response=AssignmentRuleOut,
)
def set_assignment_rule(body: AssignmentRuleBody) -> object:
    """round_robin (default) among active managers; account_class (a manager per class);
    account_owner (the account's manager, when a manager); manual (managers claim). When the
    rule names no active manager, round-robin decides."""
    return services.set_assignment_rule(
        request_session(), body.mode, body.class_managers.model_dump(exclude_none=True)
    )
