"""Request and response shapes of the reports API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from monitor.api.schemas import (
    Email,
    Id,
    Input,
    Output,
    PageQuery,
    integer,
    omittable,
    omittable_text,
    text,
)
from monitor.i18n import Language
from monitor.reports.models import ReportKind, ReportStatus, RunState, Schedule


class ReportRequest(Input):
    kind: ReportKind
    as_of: date = Field(description="Business date of the figures; today or earlier.")
    language: Language
    account_id: Id | None = Field(default=None, description="Statements: the account.")
    variant: Literal["statement", "reminder", "formal_letter"] | None = Field(
        default=None, description="Statements: the plain statement or a dunning letter."
    )
    period: Literal["month", "quarter"] | None = Field(
        default=None, description="Executive summary: monthly (default) or quarterly."
    )


class ReportQuery(PageQuery):
    kind: ReportKind = omittable()
    status: ReportStatus = omittable()


class ReportOut(Output):
    id: int
    kind: ReportKind
    parameters: dict[str, Any]
    as_of: date
    language: Language
    status: ReportStatus
    size: int | None
    sha256: str | None
    detail_size: int | None
    detail_sha256: str | None
    error: str | None
    created_by_id: int | None
    created_by_label: str
    run_id: int | None
    created_at: datetime
    finished_at: datetime | None
    #: Where to download the PDF (and the XLSX, when there is one) once done.
    download_url: str | None = None
    detail_url: str | None = None


class ReportAccepted(ReportOut):
    #: The background job generating it (``report-<id>``).
    job_id: str


class StaffRecipient(Input):
    """A staff member, who gets the report in their own language."""

    staff_user_id: Id


class AddressRecipient(Input):
    """An address outside the staff (a board member, an auditor)."""

    email: Email
    language: Language | None = Field(default=None, description="Default: the list's.")


class RecipientOut(Output):
    id: int
    staff_user_id: int | None
    email: str | None
    language: Language | None


MonthDay = integer(1, 28)
Weekday = integer(0, 6)


class MonthlySchedule(Input):
    """On ``day`` of every month (quarterly: of each quarter's first month), for the month (the
    quarter) before."""

    every: Literal["monthly", "quarterly"]
    day: MonthDay


class WeeklySchedule(Input):
    """On weekday ``day`` (0 Monday .. 6 Sunday), for the week before."""

    every: Literal["weekly"]
    day: Weekday


ScheduleIn = Annotated[MonthlySchedule | WeeklySchedule, Field(discriminator="every")]
Recipients = Annotated[list[StaffRecipient | AddressRecipient], Field(min_length=1, max_length=200)]


class ListCreate(Input):
    name: str = text(200)
    kind: Literal["aging", "escalation", "executive"]
    schedule: ScheduleIn
    language: Language = Language.EN
    recipients: Recipients
    active: bool = True


class ListUpdate(Input):
    name: str = omittable_text(200)
    kind: Literal["aging", "escalation", "executive"] = omittable()
    schedule: ScheduleIn = omittable()
    language: Language = omittable()
    recipients: Recipients = omittable()
    active: bool = omittable()


class ScheduleOut(Output):
    every: Schedule
    day: int


class ListOut(Output):
    id: int
    name: str
    kind: ReportKind
    schedule: ScheduleOut
    language: Language
    active: bool
    recipients: list[RecipientOut]
    created_at: datetime
    updated_at: datetime


class RunOut(Output):
    id: int
    list_id: int
    period: str
    as_of: date
    state: RunState
    attempts: int
    recipients: list[str]
    error: str | None
    created_at: datetime
    finished_at: datetime | None
