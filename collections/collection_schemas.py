"""Request and response shapes of the collection API: ladder, promises, disputes, causes,
imports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from monitor.api.schemas import (
    MAX_ID,
    Currency,
    Id,
    Input,
    Output,
    PageQuery,
    Query,
    integer,
    omittable,
    text,
)
from receivables.escalation_models import (
    ActionKind,
    DisputeReason,
    DisputeState,
    OverdueCause,
    PromiseState,
    StepTrigger,
    TaskState,
)
from receivables.ladder import LADDER
from receivables.schemas import PositiveMoney

Level = integer(0, LADDER.top)
InvoiceNumber = Annotated[str, text(40)]


class AsOfQuery(Query):
    as_of: date = omittable(description="Business date; default today (UTC).")


# --- ladder -------------------------------------------------------------------------------------


class PauseOut(Output):
    reason: str = Field(description="promise_to_pay, dispute or override.")
    until: date | None = Field(description="Last day of the pause; null while a dispute is open.")
    ref_id: int | None = Field(description="The promise's or dispute's id.")


class NextActionOut(Output):
    level: int
    name: str
    actions: list[ActionKind]
    due_on: date | None = Field(
        description="First day the daily job takes it; null while it waits for a dispute."
    )


class ActionOut(Output):
    id: int
    step_id: int
    account_id: int
    kind: ActionKind
    summary: str
    detail: dict
    task_state: TaskState | None
    assignee_id: int | None
    completed_at: datetime | None
    completed_by: str | None
    completion_note: str | None
    created_at: datetime


class StepOut(Output):
    id: int
    account_id: int
    cycle: int
    level: int
    from_level: int
    trigger: StepTrigger
    as_of: date
    days_past_due: int
    overdue_amount: Decimal
    currency: str
    note: str | None
    actor_kind: str
    actor_label: str
    occurred_at: datetime
    actions: list[ActionOut]


class LadderStatusOut(Output):
    account_id: int
    level: int
    level_name: str | None
    cycle: int
    as_of: date
    days_past_due: int
    overdue_amount: Decimal
    open_amount: Decimal
    currency: str
    pause: PauseOut | None
    next_action: NextActionOut | None
    hold_until: date | None
    override_reason: str | None
    last_step: StepOut | None


class EscalationQuery(PageQuery):
    as_of: date = omittable(description="Business date; default today (UTC).")
    level: Level = omittable(description="Only accounts at this level.")


class OverrideIn(Input):
    level: Level = Field(description="The level to put the account at (0 = not escalated).")
    reason: str = text(500, description="Why the ladder is overridden (required).")
    hold_until: date | None = Field(
        default=None,
        description="Keep the daily job from moving the account until this date (inclusive); "
        "without it the next run places the account by its days past due again.",
    )


class TaskQuery(PageQuery):
    state: TaskState = omittable()
    assignee_id: int = omittable(ge=1, le=MAX_ID)
    account_id: int = omittable(ge=1, le=MAX_ID)


class TaskComplete(Input):
    note: str = text(1000, description="What was done: the call's outcome, the letter's reference.")


# --- promises -----------------------------------------------------------------------------------


class PromiseIn(Input):
    amount: PositiveMoney
    currency: Currency | None = Field(default=None, description="Default: the account's.")
    promised_date: date
    grace_days: integer(0, 60) | None = Field(  # type: ignore[valid-type]
        default=None, description=f"Default {LADDER.promise_grace_days}."
    )
    note: str | None = text(1000, default=None)


class PromiseOut(Output):
    id: int
    account_id: int
    amount: Decimal
    currency: str
    promised_date: date
    grace_days: int
    made_on: date
    note: str | None
    state: PromiseState
    resolved_at: datetime | None
    created_by: str
    created_at: datetime


class PromiseList(Output):
    items: list[PromiseOut]


# --- disputes -----------------------------------------------------------------------------------


class DisputeIn(Input):
    account_id: Id
    invoice_numbers: list[InvoiceNumber] = Field(min_length=1, max_length=100)
    reason: DisputeReason
    description: str = text(5000)


class DisputeResolve(Input):
    resolution: str = text(1000, description="How it was settled.")


class DisputeOut(Output):
    id: int
    account_id: int
    reason: DisputeReason
    description: str
    state: DisputeState
    invoice_numbers: list[str]
    complaint_id: int | None = Field(description="The complaint opened for it, if any.")
    resolution: str | None
    opened_by: str
    opened_at: datetime
    resolved_at: datetime | None


class DisputeQuery(PageQuery):
    account_id: int = omittable(ge=1, le=MAX_ID)
    state: DisputeState = omittable()
    reason: DisputeReason = omittable()


# --- overdue causes -----------------------------------------------------------------------------


CauseNote = Annotated[str, text(1000)]


class CausesIn(Input):
    causes: dict[OverdueCause, CauseNote | None] = Field(
        description='Cause → note (or null), e.g. `{"quality_problem": "batch 7 failed"}`; '
        "`{}` clears them."
    )


class CauseOut(Output):
    cause: OverdueCause
    note: str | None
    tagged_by: str
    tagged_at: datetime


class CausesOut(Output):
    account_id: int
    causes: list[CauseOut]


class CauseRowOut(Output):
    cause: str = Field(description="A cause, `untagged`, or `total` (each account once).")
    currency: str
    accounts: int
    overdue_amount: Decimal
    open_amount: Decimal


class CauseBreakdownOut(Output):
    as_of: date
    rows: list[CauseRowOut]


# --- imports ------------------------------------------------------------------------------------


class ImportQuery(Query):
    partial: bool = Field(
        default=False,
        description="false (default): all-or-nothing, any bad row stores nothing. true: store "
        "the good rows and report the bad ones.",
    )


class RowErrorOut(Output):
    row: int = Field(description="Spreadsheet row number (the header is row 1).")
    column: str | None = Field(description="The file's header of the column, if one.")
    field: str | None
    message: str


class ImportSummaryOut(Output):
    kind: str
    mode: str = Field(description="all_or_nothing or partial.")
    filename: str
    rows: int
    created: int
    already_recorded: int
    already_recorded_rows: list[int]
    failed: int
    failed_rows: list[int]
    errors: list[RowErrorOut]
    committed: bool
    message: str
