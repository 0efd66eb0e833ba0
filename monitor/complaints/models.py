"""Complaints, their state history, comments, the crisis checklist, SLA policies and breaches."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.audit.services import Audited
from monitor.db import Base, str_enum, utcnow


class Channel(enum.StrEnum):
    HOTLINE = "hotline"
    EMAIL = "email"
    VISIT = "visit"
    SURVEY = "survey"
    PORTAL = "portal"
    DISPUTE = "dispute"


class Category(enum.StrEnum):
    PRODUCT_QUALITY = "product_quality"
    DELIVERY = "delivery"
    SERVICE = "service"
    BILLING = "billing"
    CONTRACT = "contract"
    OTHER = "other"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class State(enum.StrEnum):
    """The complaint-handling steps of ISO 10002, as states."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class RootCause(enum.StrEnum):
    """What the investigation found behind the complaint."""

    PRODUCT_DEFECT = "product_defect"
    PROCESS_FAILURE = "process_failure"
    HUMAN_ERROR = "human_error"
    SUPPLIER = "supplier"
    LOGISTICS = "logistics"
    COMMUNICATION = "communication"
    CUSTOMER_MISUSE = "customer_misuse"
    NOT_SUBSTANTIATED = "not_substantiated"
    OTHER = "other"


class CustomerDecision(enum.StrEnum):
    """How the customer answered the decision communicated at resolution."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NO_RESPONSE = "no_response"


class CommentVisibility(enum.StrEnum):
    INTERNAL = "internal"
    CUSTOMER = "customer"


class SlaTarget(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class CrisisStep(enum.StrEnum):
    """The seven-step crisis checklist of a critical complaint, in order."""

    REACH_SITE = "reach_site"
    LISTEN = "listen"
    CALM_CUSTOMER = "calm_customer"
    REPORT_LEADERSHIP = "report_leadership"
    FIRST_HANDLING = "first_handling"
    MOBILISE_RESOURCES = "mobilise_resources"
    PUBLIC_SENTIMENT = "public_sentiment"


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"


class AssignmentMode(enum.StrEnum):
    ROUND_ROBIN = "round_robin"
    ACCOUNT_CLASS = "account_class"
    ACCOUNT_OWNER = "account_owner"
    MANUAL = "manual"


class Complaint(Audited, Base):
    __tablename__ = "complaints"
    __audit_name__ = "complaint"
    __audit_exclude__ = frozenset({"sla_due_at", "version", "request_fingerprint"})
    __table_args__ = (
        Index("ix_complaints_queue", "state", "sla_due_at"),
        # The queue's order (nulls last, as PostgreSQL sorts ascending): a page is the first
        # open complaints found along this index, with no sort of every open complaint.
        Index("ix_complaints_deadline", "sla_due_at", "id"),
        UniqueConstraint("origin_kind", "origin_id", name="uq_complaints_origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: The person at the account who complained, when known.
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "complaint_channel"))
    category: Mapped[Category] = mapped_column(str_enum(Category, "complaint_category"))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "complaint_severity"))
    state: Mapped[State] = mapped_column(str_enum(State, "complaint_state"), default=State.NEW)
    description: Mapped[str] = mapped_column(Text)
    #: When the customer says it happened (the SLA clock starts at receipt, not here).
    occurred_at: Mapped[datetime | None]
    #: When the complaint reached us: the SLA clock starts here.
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The senior manager who owns it; null while it waits in the queue unclaimed.
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    #: Who logged it.
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    #: What opened it when another capability did (``survey_response`` 17, ``dispute`` 5).
    origin_kind: Mapped[str | None] = mapped_column(String(40))
    origin_id: Mapped[int | None]
    #: The client's ``Idempotency-Key`` of the intake request, so a retry finds this row.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: Fingerprint of the intake request, to refuse a key reused for a different complaint.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution_summary: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[RootCause | None] = mapped_column(str_enum(RootCause, "root_cause"))
    closed_at: Mapped[datetime | None]
    customer_decision: Mapped[CustomerDecision | None] = mapped_column(
        str_enum(CustomerDecision, "customer_decision")
    )
    #: The customer's words on closing, or why there is no confirmation.
    closing_note: Mapped[str | None] = mapped_column(Text)
    #: The nearest running SLA deadline, rewritten from the state history at every change.
    #: A sort key for the queue only; the clock itself is always recomputed from history.
    sla_due_at: Mapped[datetime | None]
    #: Optimistic-locking counter for concurrent edits.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    events: Mapped[list[ComplaintEvent]] = relationship(order_by="ComplaintEvent.id", viewonly=True)
    steps: Mapped[list[ChecklistStep]] = relationship(
        order_by="ChecklistStep.position", passive_deletes=True
    )


class ComplaintEvent(Base):
    """Append-only timeline the SLA clock is computed from: every state and severity change."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: State and severity in force from ``at`` on.
    state: Mapped[State] = mapped_column(str_enum(State, "complaint_state"))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "complaint_severity"))
    actor_label: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class Comment(Base):
    __tablename__ = "complaint_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    visibility: Mapped[CommentVisibility] = mapped_column(
        str_enum(CommentVisibility, "comment_visibility")
    )
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChecklistStep(Base):
    """One step of the crisis checklist: who is on it, and when it was done or skipped."""

    __tablename__ = "complaint_checklist_steps"
    __table_args__ = (
        UniqueConstraint("complaint_id", "step"),
        CheckConstraint("status <> 'skipped' OR skip_reason IS NOT NULL", name="skip_needs_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[CrisisStep] = mapped_column(str_enum(CrisisStep, "crisis_step"))
    position: Mapped[int]
    status: Mapped[StepStatus] = mapped_column(
        str_enum(StepStatus, "step_status"), default=StepStatus.PENDING
    )
    #: Who is responsible for the step.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    #: Who marked it done or skipped, and when.
    completed_by_label: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    skip_reason: Mapped[str | None] = mapped_column(Text)


class SlaPolicy(Audited, Base):
    """Targets for one severity, in force from ``effective_from`` on.

    A complaint is held to the policy in force when it was received, so editing a policy
    never moves the deadlines of complaints already in the queue.
    """

    __tablename__ = "complaint_sla_policies"
    __audit_name__ = "sla_policy"
    __table_args__ = (
        UniqueConstraint("severity", "effective_from"),
        CheckConstraint("first_response_minutes > 0", name="first_response_positive"),
        CheckConstraint("resolution_minutes >= first_response_minutes", name="resolution_later"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "complaint_severity"))
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    effective_from: Mapped[datetime] = mapped_column(default=utcnow)


class SlaBreach(Base):
    """A breach detected by the periodic job: one row per complaint and target, so each breach
    escalates once however often (or however concurrently) the job runs."""

    __tablename__ = "complaint_sla_breaches"
    __table_args__ = (UniqueConstraint("complaint_id", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[SlaTarget] = mapped_column(str_enum(SlaTarget, "sla_target"))
    #: When the clock ran out (computed), and when the job noticed.
    breached_at: Mapped[datetime]
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "complaint_severity"))


class AssignmentRule(Audited, Base):
    """How new complaints find their senior manager (a single row, kept by admins)."""

    __tablename__ = "complaint_assignment_rules"
    __audit_name__ = "assignment_rule"
    __audit_exclude__ = frozenset({"turns"})

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[AssignmentMode] = mapped_column(
        str_enum(AssignmentMode, "assignment_mode"), default=AssignmentMode.ROUND_ROBIN
    )
    #: For ``account_class``: the manager of each class, e.g. ``{"A": 3, "B": 5}``.
    class_managers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Round-robin turns taken, on SQLite (PostgreSQL uses the sequence
    #: ``complaint_assignment_turns``, which needs no lock held until commit).
    turns: Mapped[int] = mapped_column(default=0)
