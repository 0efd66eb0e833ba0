"""HTTP API of collection work: the escalation ladder, collection tasks, promises to pay,
disputes, overdue causes and imports. Parse, authorise (policy table), call a service, serialise.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, request

from monitor.api.problems import FieldError, Problem
from monitor.api.schemas import Page, PageQuery
from monitor.api.spec import operation
from monitor.auth import request_session
from monitor.db import paginate, utcnow
from receivables import causes, disputes, imports, ladder
from receivables.collection_schemas import (
    ActionOut,
    AsOfQuery,
    CauseBreakdownOut,
    CausesIn,
    CausesOut,
    DisputeIn,
    DisputeOut,
    DisputeQuery,
    DisputeResolve,
    EscalationQuery,
    ImportQuery,
    ImportSummaryOut,
    LadderStatusOut,
    OverrideIn,
    PromiseIn,
    PromiseList,
    PromiseOut,
    StepOut,
    TaskComplete,
    TaskQuery,
)
from receivables.escalation_models import Dispute, EscalationAction

bp = Blueprint("collection", __name__, url_prefix="/api/v1")


def _today() -> date:
    return utcnow().date()


# --- the ladder ---------------------------------------------------------------------------------


@operation(
    bp,
    "/receivables/escalations",
    "GET",
    summary="Accounts on the escalation ladder",
    query=EscalationQuery,
    response=Page[LadderStatusOut],
)
def list_escalations(query: EscalationQuery) -> dict[str, Any]:
    """Every account that is overdue or escalated, most days past due first: its level, whether
    the ladder waits (promise, dispute, hold) and the next action with its date."""
    return ladder.overview(
        request_session(),
        query.as_of or _today(),
        level=query.level,
        page=query.page,
        per_page=query.per_page,
    )


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/escalation",
    "GET",
    summary="An account's place on the escalation ladder",
    query=AsOfQuery,
    response=LadderStatusOut,
)
def get_escalation(account_id: int, query: AsOfQuery) -> object:
    """The current level, the pause if any, and the next action with the date it is due."""
    return ladder.status(request_session(), account_id, query.as_of or _today())


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/escalation/override",
    "POST",
    summary="Override an account's escalation level",
    body=OverrideIn,
    response=LadderStatusOut,
    errors=(409,),
)
def override_escalation(account_id: int, body: OverrideIn) -> object:
    """Raise the level (its actions are done now, as the job would) or lower it (a new cycle
    starts), with a reason; `hold_until` stops the daily job from moving it until that date."""
    return ladder.override(
        request_session(),
        account_id,
        level=body.level,
        reason=body.reason,
        hold_until=body.hold_until,
        as_of=_today(),
    )


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/escalation/steps",
    "GET",
    summary="An account's escalation history",
    query=PageQuery,
    response=Page[StepOut],
)
def list_escalation_steps(account_id: int, query: PageQuery) -> dict[str, Any]:
    """Every level reached, newest first, with time, actor, trigger and the actions taken."""
    session = request_session()
    return paginate(session, ladder.steps_of(session, account_id), query.page, query.per_page)


@operation(
    bp,
    "/receivables/collection-tasks",
    "GET",
    summary="Collection tasks (calls, letters, legal reviews)",
    query=TaskQuery,
    response=Page[ActionOut],
)
def list_collection_tasks(query: TaskQuery) -> dict[str, Any]:
    session = request_session()
    stmt = ladder.tasks(
        session, state=query.state, assignee_id=query.assignee_id, account_id=query.account_id
    )
    return paginate(session, stmt, query.page, query.per_page)


@operation(
    bp,
    "/receivables/collection-tasks/<id:task_id>/complete",
    "POST",
    summary="Complete a collection task",
    body=TaskComplete,
    response=ActionOut,
    errors=(409,),
)
def complete_collection_task(task_id: int, body: TaskComplete) -> EscalationAction:
    session = request_session()
    return ladder.complete_task(session, ladder.get_action(session, task_id), body.note)


# --- promises to pay ----------------------------------------------------------------------------


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/promises",
    "POST",
    summary="Record a promise to pay",
    body=PromiseIn,
    response=PromiseOut,
    status=201,
    errors=(409,),
)
def create_promise(account_id: int, body: PromiseIn) -> object:
    """The ladder waits until `promised_date` plus `grace_days`; if the payments received from
    today on do not cover `amount` by then, the promise is broken and the account escalates at
    once. One open promise per account."""
    return ladder.make_promise(
        request_session(),
        account_id,
        amount=body.amount,
        currency=body.currency,
        promised_date=body.promised_date,
        grace_days=body.grace_days,
        note=body.note,
        as_of=_today(),
    )


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/promises",
    "GET",
    summary="An account's promises to pay",
    response=PromiseList,
)
def list_promises(account_id: int) -> dict[str, Any]:
    return {"items": ladder.promises_of(request_session(), account_id)}


@operation(
    bp,
    "/receivables/promises/<id:promise_id>/cancel",
    "POST",
    summary="Cancel an open promise to pay",
    response=PromiseOut,
    errors=(409,),
)
def cancel_promise(promise_id: int) -> object:
    session = request_session()
    return ladder.cancel_promise(session, ladder.get_promise(session, promise_id))


# --- disputes -----------------------------------------------------------------------------------


def _disputes_out(items: list[Dispute]) -> list[dict[str, Any]]:
    numbers = disputes.invoice_numbers(request_session(), [d.id for d in items])
    fields = [c for c in DisputeOut.model_fields if c != "invoice_numbers"]
    return [{**{c: getattr(d, c) for c in fields}, "invoice_numbers": numbers[d.id]} for d in items]


def _dispute_out(dispute: Dispute) -> dict[str, Any]:
    return _disputes_out([dispute])[0]


@operation(
    bp,
    "/receivables/disputes",
    "POST",
    summary="Open a dispute on invoices",
    body=DisputeIn,
    response=DisputeOut,
    status=201,
    errors=(409,),
)
def create_dispute(body: DisputeIn) -> dict[str, Any]:
    """The ladder pauses for the account while the dispute is open. Quality, service and
    contract disputes also open a complaint in the senior-manager queue (`complaint_id`)."""
    dispute = disputes.open_dispute(request_session(), **body.model_dump())
    return _dispute_out(dispute)


@operation(
    bp,
    "/receivables/disputes",
    "GET",
    summary="List disputes",
    query=DisputeQuery,
    response=Page[DisputeOut],
)
def list_disputes(query: DisputeQuery) -> dict[str, Any]:
    session = request_session()
    stmt = disputes.list_disputes(
        session, account_id=query.account_id, state=query.state, reason=query.reason
    )
    page = paginate(session, stmt, query.page, query.per_page)
    page["items"] = _disputes_out(page["items"])
    return page


@operation(
    bp,
    "/receivables/disputes/<id:dispute_id>",
    "GET",
    summary="Read a dispute",
    response=DisputeOut,
)
def get_dispute(dispute_id: int) -> dict[str, Any]:
    return _dispute_out(disputes.get_dispute(request_session(), dispute_id))


@operation(
    bp,
    "/receivables/disputes/<id:dispute_id>/resolve",
    "POST",
    summary="Resolve a dispute",
    body=DisputeResolve,
    response=DisputeOut,
    errors=(409,),
)
def resolve_dispute(dispute_id: int, body: DisputeResolve) -> dict[str, Any]:
    """The ladder resumes for the account at the next daily run (unless another dispute or a
    promise still holds it). The linked complaint is left to the senior manager."""
    session = request_session()
    dispute = disputes.resolve_dispute(
        session, disputes.get_dispute(session, dispute_id), body.resolution
    )
    return _dispute_out(dispute)


# --- overdue causes -----------------------------------------------------------------------------


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/overdue-causes",
    "GET",
    summary="An account's overdue causes",
    response=CausesOut,
)
def get_overdue_causes(account_id: int) -> dict[str, Any]:
    return {"account_id": account_id, "causes": causes.causes_of(request_session(), account_id)}


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/overdue-causes",
    "PUT",
    summary="Set an account's overdue causes",
    body=CausesIn,
    response=CausesOut,
)
def set_overdue_causes(account_id: int, body: CausesIn) -> dict[str, Any]:
    """Replaces the account's causes with those given (`{}` clears them)."""
    tags = causes.set_causes(request_session(), account_id, list(body.causes.items()))
    return {"account_id": account_id, "causes": tags}


@operation(
    bp,
    "/receivables/overdue-causes/breakdown",
    "GET",
    summary="Overdue debt by cause",
    query=AsOfQuery,
    response=CauseBreakdownOut,
)
def overdue_cause_breakdown(query: AsOfQuery) -> dict[str, Any]:
    """Accounts overdue on `as_of` and their overdue and open amounts, per cause and currency.
    An account with several causes counts under each; `total` counts each account once and
    `untagged` the overdue accounts without a cause."""
    as_of = query.as_of or _today()
    return {"as_of": as_of, "rows": causes.breakdown(request_session(), as_of)}


# --- imports ------------------------------------------------------------------------------------

_IMPORT_HELP = (
    "Upload the file as `multipart/form-data` in the field `file` (`.csv` or `.xlsx`, first "
    "row = headers). `?partial=true` keeps the good rows; by default a file with any bad row "
    "stores nothing and answers 422 with every error (`row`, `column`, `message`). Re-importing "
    "a file records nothing twice (`already_recorded`)."
)


def _import(kind: imports.ImportKind, partial: bool) -> imports.ImportResult:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise FieldError(
            "file", "send the file as multipart/form-data in the field 'file'", "missing", "body"
        )
    result = imports.import_file(
        request_session(), kind, upload.filename, upload.read(), partial=partial
    )
    if not result.committed:
        raise Problem(
            422,
            "Import failed",
            result.message,
            [error.as_problem_error() for error in result.errors],
        )
    return result


def _summary(result: imports.ImportResult) -> dict[str, Any]:
    return {
        **{k: getattr(result, k) for k in ImportSummaryOut.model_fields if k != "errors"},
        "errors": [e.__dict__ for e in result.errors],
    }


def import_invoices(query: ImportQuery) -> dict[str, Any]:
    return _summary(_import(imports.ImportKind.INVOICES, query.partial))


def import_payments(query: ImportQuery) -> dict[str, Any]:
    return _summary(_import(imports.ImportKind.PAYMENTS, query.partial))


# The column mapping is the imports module's documentation: one text, in the API reference too.
for _view, _what in ((import_invoices, "invoices"), (import_payments, "payments")):
    _view.__doc__ = f"{_IMPORT_HELP}\n\n{imports.__doc__}"
    operation(
        bp,
        f"/receivables/imports/{_what}",
        "POST",
        summary=f"Import {_what} from CSV or XLSX",
        query=ImportQuery,
        response=ImportSummaryOut,
        errors=(400, 413),
        upload="file",
    )(_view)
