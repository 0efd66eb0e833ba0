"""Request and response shapes of the complaints API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from monitor.api.schemas import (
    Id,
    Input,
    Output,
    PageQuery,
    Query,
    TimeZone,
    integer,
    omittable,
    omittable_text,
    text,
)
from monitor.complaints.models import (
    AssignmentMode,
    Category,
    Channel,
    CommentVisibility,
    CrisisStep,
    CustomerDecision,
    RootCause,
    Severity,
    SlaTarget,
    State,
    StepStatus,
)
from monitor.complaints.sla import SlaClock, minutes

#: Up to a year, in minutes.
Minutes = integer(1, 525_600)


class ComplaintCreate(Input):
    account_id: Id
    contact_id: Id | None = None
    channel: Channel
    category: Category
    severity: Severity
    description: str = text(10_000)
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When it happened, per the customer (with a time-zone offset)."
    )


class ComplaintUpdate(Input):
    """Severity (re-times the SLA clock), category, or the contact (null clears it)."""

    severity: Severity = omittable()
    category: Category = omittable()
    contact_id: Id | None = None


class ComplaintQuery(PageQuery):
    state: State = omittable()
    severity: Severity = omittable()
    channel: Channel = omittable()
    category: Category = omittable()
    account_id: Id = omittable()
    assignee_id: Id = omittable()
    created_by_id: Id = omittable(description="Who logged it (an agent following their own).")
    unassigned: bool = omittable(description="true: only unclaimed complaints; false: only owned.")
    breached: bool = omittable(description="Only complaints with (or without) a recorded breach.")
    open: bool = omittable(description="true: everything not resolved or closed.")


class AssignBody(Input):
    assignee_id: Id | None = Field(description="A manager, or null to put it back unclaimed.")


class TransitionBody(Input):
    """One handling step. Fields by action: ``resolve`` needs ``resolution_summary`` and
    ``root_cause``; ``close`` needs ``customer_decision`` (``rejected`` sends the complaint back
    to investigating; ``rejected`` and ``no_response`` need a ``note``); ``reopen`` needs a
    ``note``."""

    action: str = Field(
        pattern=r"^(acknowledge|investigate|wait_on_customer|resolve|close|reopen)$",
        description="acknowledge, investigate, wait_on_customer, resolve, close or reopen.",
    )
    note: str = omittable_text(10_000)
    resolution_summary: str = omittable_text(10_000)
    root_cause: RootCause = omittable()
    customer_decision: CustomerDecision = omittable()


class CommentCreate(Input):
    visibility: CommentVisibility = Field(
        description="customer: may be shared with the customer; internal: staff only."
    )
    body: str = text(10_000)


class StepUpdate(Input):
    status: StepStatus = omittable()
    owner_id: Id | None = None
    note: str | None = omittable_text(10_000)
    skip_reason: str = omittable_text(2_000)

    @model_validator(mode="after")
    def _something(self) -> StepUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of status, owner_id, note")
        return self


class PolicyUpdate(Input):
    first_response_minutes: Minutes
    resolution_minutes: Minutes


class ClassManagers(Input):
    """The manager of each account class (a class left out falls back to round-robin)."""

    A: Id | None = None
    B: Id | None = None
    C: Id | None = None


class AssignmentRuleBody(Input):
    mode: AssignmentMode
    class_managers: ClassManagers = Field(
        default_factory=ClassManagers,
        description='For mode account_class: manager per class, e.g. {"A": 3}.',
    )


class StatisticsQuery(Query):
    first_month: str = omittable(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="First month, YYYY-MM (default: 11 months before this one).",
    )
    months: int = Field(default=12, ge=1, le=36)
    timezone: TimeZone = omittable(
        description="Zone the months are cut in (default: the service's)."
    )


class TargetClockOut(Output):
    target: SlaTarget
    status: str = Field(description="running, paused or met.")
    limit_minutes: float
    elapsed_minutes: float
    deadline: datetime | None
    breached: bool
    breached_at: datetime | None
    met_at: datetime | None


class SlaOut(Output):
    first_response: TargetClockOut
    resolution: TargetClockOut


class StepOut(Output):
    step: CrisisStep
    position: int
    status: StepStatus
    owner_id: int | None
    completed_by_label: str | None
    completed_at: datetime | None
    note: str | None
    skip_reason: str | None


class _ComplaintFields(Output):
    id: int
    account_id: int
    contact_id: int | None
    channel: Channel
    category: Category
    severity: Severity
    state: State
    description: str
    occurred_at: datetime | None
    received_at: datetime
    assignee_id: int | None
    created_by_id: int | None
    origin_kind: str | None
    origin_id: int | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution_summary: str | None
    root_cause: RootCause | None
    closed_at: datetime | None
    customer_decision: CustomerDecision | None
    closing_note: str | None
    sla: SlaOut
    created_at: datetime
    updated_at: datetime


class ComplaintOut(_ComplaintFields):
    checklist: list[StepOut] = Field(
        description="The crisis checklist, seven steps, for a critical complaint; else empty."
    )


class ChecklistProgress(Output):
    """How far a complaint's crisis checklist is: all zero when it has none."""

    steps: int
    done: int
    skipped: int
    pending: int


class QueueItemOut(_ComplaintFields):
    """A complaint as the queue lists it: the checklist's progress instead of its steps (read
    the complaint for those)."""

    checklist_progress: ChecklistProgress


class CommentOut(Output):
    id: int
    visibility: CommentVisibility
    body: str
    author_id: int | None
    author_label: str
    created_at: datetime


class PolicyOut(Output):
    severity: Severity
    first_response_minutes: int
    resolution_minutes: int
    effective_from: datetime | None
    source: str = Field(description="default, or configured by an admin.")


class AssignmentRuleOut(Output):
    mode: AssignmentMode
    class_managers: dict[str, int]


class MonthOut(Output):
    month: str
    received: int
    breached: int
    breach_rate: float | None
    median_minutes_to_first_response: float | None
    median_minutes_to_resolution: float | None
    first_response_compliance: float | None
    resolution_compliance: float | None


class StatisticsOut(Output):
    as_of: datetime
    timezone: str
    open_by_severity: dict[str, int]
    open_by_state: dict[str, int]
    median_minutes_to_first_response: float | None
    median_minutes_to_resolution: float | None
    months: list[MonthOut]


def clock_out(clock: SlaClock) -> dict[str, Any]:
    return {
        c.target.value: {
            "target": c.target,
            "status": c.status,
            "limit_minutes": minutes(c.limit),
            "elapsed_minutes": minutes(c.elapsed),
            "deadline": c.deadline,
            "breached": c.breached,
            "breached_at": c.breached_at,
            "met_at": c.met_at,
        }
        for c in clock.targets()
    }
