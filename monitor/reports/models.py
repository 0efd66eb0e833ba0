"""The report archive and the distribution lists that receive reports on a schedule."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.audit.services import Audited
from monitor.db import Base, str_enum, utcnow
from monitor.i18n import Language


class ReportKind(enum.StrEnum):
    AGING = "aging"
    ESCALATION = "escalation"
    #: The executive summary (monthly or quarterly).
    EXECUTIVE = "executive"
    #: One account's statement, or its dunning-letter variants.
    STATEMENT = "statement"


class ReportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    #: Rendering failed; ``error`` says why and no file is kept.
    FAILED = "failed"


class Schedule(enum.StrEnum):
    #: On ``day`` (1-28) of every month, for the month before.
    MONTHLY = "monthly"
    #: On ``day`` (0 Monday .. 6 Sunday) of every week, for the week before.
    WEEKLY = "weekly"
    #: On ``day`` (1-28) of each quarter's first month, for the quarter before.
    QUARTERLY = "quarterly"


class RunState(enum.StrEnum):
    RUNNING = "running"
    SENT = "sent"
    FAILED = "failed"


class Report(Base):
    """One generated (or requested) report: what was asked, and the file it made."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_created_at", "created_at"),
        Index("ix_reports_kind_as_of", "kind", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReportKind] = mapped_column(str_enum(ReportKind, "report_kind"))
    #: What else shaped it: ``account_id`` and ``variant`` (statement), ``period`` (executive).
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The business date the figures are as of.
    as_of: Mapped[date] = mapped_column(Date)
    language: Mapped[Language] = mapped_column(str_enum(Language, "report_language"))
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus, "report_status"))
    #: The PDF's file name under the reports folder (set once it is complete on disk).
    file_name: Mapped[str | None] = mapped_column(String(200))
    #: Size in bytes and SHA-256 (hex) of the PDF.
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: The spreadsheet with full detail that accompanies some reports (aging).
    detail_file_name: Mapped[str | None] = mapped_column(String(200))
    detail_size: Mapped[int | None]
    detail_sha256: Mapped[str | None] = mapped_column(String(64))
    #: Why the last attempt failed.
    error: Mapped[str | None] = mapped_column(String(2000))
    #: The staff member who asked for it; null for scheduled runs and the CLI.
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    #: Who asked, as the audit trail names actors (``cli:anna``, ``job:...``, an email).
    created_by_label: Mapped[str] = mapped_column(String(254))
    #: The distribution run it was made for, if any.
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_runs.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class DistributionList(Audited, Base):
    """Who receives which report, in which language, on which schedule."""

    __tablename__ = "report_lists"
    __audit_name__ = "report_list"
    __table_args__ = (CheckConstraint("day BETWEEN 0 AND 28", name="day_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[ReportKind] = mapped_column(str_enum(ReportKind, "report_list_kind"))
    schedule: Mapped[Schedule] = mapped_column(str_enum(Schedule, "report_schedule"))
    #: Day of the month (monthly, quarterly: 1-28) or of the week (weekly: 0 Monday-6 Sunday).
    day: Mapped[int]
    #: Language of recipients given by address (staff read their own language).
    language: Mapped[Language] = mapped_column(str_enum(Language, "report_list_language"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    recipients: Mapped[list[Recipient]] = relationship(
        back_populates="distribution_list",
        cascade="all, delete-orphan",
        order_by="Recipient.id",
        lazy="selectin",
    )


class Recipient(Base):
    """A staff member (who reads in their own language) or a plain address."""

    __tablename__ = "report_list_recipients"
    __table_args__ = (
        CheckConstraint("(staff_user_id IS NULL) <> (email IS NULL)", name="staff_or_email"),
        UniqueConstraint("list_id", "staff_user_id", name="uq_report_list_recipients_staff"),
        UniqueConstraint("list_id", "email", name="uq_report_list_recipients_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("report_lists.id", ondelete="CASCADE"))
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE")
    )
    #: An address outside the staff (a board member, an auditor); stored lower-case.
    email: Mapped[str | None] = mapped_column(String(254))
    #: For an address: its language (the list's when null).
    language: Mapped[Language | None] = mapped_column(
        str_enum(Language, "report_recipient_language")
    )

    distribution_list: Mapped[DistributionList] = relationship(back_populates="recipients")


class DistributionRun(Base):
    """One scheduled sending of a list for one period: the unique row makes a retried or
    repeated run resume instead of sending again."""

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("list_id", "period", name="uq_report_runs_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("report_lists.id", ondelete="CASCADE"))
    #: The period reported on: ``2026-10``, ``2026-W47`` or ``2026-Q3``.
    period: Mapped[str] = mapped_column(String(10))
    as_of: Mapped[date] = mapped_column(Date)
    state: Mapped[RunState] = mapped_column(str_enum(RunState, "report_run_state"))
    #: Attempts made (a retry counts).
    attempts: Mapped[int] = mapped_column(default=0)
    #: Addresses the report was queued for.
    recipients: Mapped[list[str]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
