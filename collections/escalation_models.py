"""Tables of collection work: the escalation ladder's state and steps, promises to pay, disputes
and the causes finance records for overdue debt.

The ladder's levels and their actions are configuration (:data:`receivables.ladder.LADDER`); what
is stored here is what happened: each level an account reached, in which cycle, why and by whom,
and the actions taken there. A cycle begins when an account first falls overdue and ends when it
is current again (or when finance lowers its level by hand), so the unique
``(account_id, cycle, level)`` of :class:`EscalationStep` makes every level act once per cycle,
however often and by however many workers the daily job runs.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.audit.services import Audited
from monitor.db import Base, str_enum, utcnow


class StepTrigger(enum.StrEnum):
    """Why an account was placed at a level."""

    #: The daily job: the oldest overdue instalment reached the level's days past due.
    DAYS_PAST_DUE = "days_past_due"
    #: The daily job: a promise to pay was broken, which escalates at once.
    BROKEN_PROMISE = "broken_promise"
    #: Finance set the level by hand, with a reason.
    OVERRIDE = "override"
    #: The daily job: nothing is overdue any more; the ladder starts again from the bottom.
    CLEARED = "cleared"


class ActionKind(enum.StrEnum):
    """What a level does (see :data:`receivables.ladder.LADDER`)."""

    REMINDER_EMAIL = "reminder_email"
    CALL_TASK = "call_task"
    FORMAL_LETTER_TASK = "formal_letter_task"
    NOTIFY_FINANCE = "notify_finance"
    NOTIFY_MANAGERS = "notify_managers"
    CREDIT_HOLD = "credit_hold"
    LEGAL_REVIEW_TASK = "legal_review_task"


class TaskState(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class EscalationState(Audited, Base):
    """Where an account stands on the ladder now (one row per account ever escalated)."""

    __tablename__ = "receivable_escalation_states"
    __audit_name__ = "escalation_state"
    __table_args__ = (CheckConstraint("level BETWEEN 0 AND 9", name="level_range"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), primary_key=True
    )
    #: 0 = not escalated; 1.. = the ladder's levels.
    level: Mapped[int] = mapped_column(default=0)
    #: Which pass up the ladder this is (see the module docstring).
    cycle: Mapped[int] = mapped_column(default=1)
    #: A manual override holds the ladder until this date (inclusive).
    hold_until: Mapped[date | None] = mapped_column(Date)
    #: Why finance overrode the ladder, when it did.
    override_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EscalationStep(Base):
    """An account reached a level in a cycle: when, why, and who (a job or a person)."""

    __tablename__ = "receivable_escalation_steps"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "cycle", "level", name="uq_receivable_escalation_steps_level"
        ),
        Index("ix_receivable_escalation_steps_account", "account_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    cycle: Mapped[int]
    level: Mapped[int]
    #: The level the account was at before.
    from_level: Mapped[int]
    trigger: Mapped[StepTrigger] = mapped_column(str_enum(StepTrigger, "escalation_trigger"))
    #: Business date the step was decided for (the job's as-of date).
    as_of: Mapped[date] = mapped_column(Date)
    #: Days past due of the oldest overdue instalment on ``as_of`` (0 when none).
    days_past_due: Mapped[int]
    #: Overdue amount on ``as_of``, in ``currency``.
    overdue_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    #: The override's reason, or what broke (the promise's id and date).
    note: Mapped[str | None] = mapped_column(String(500))
    #: Who acted: ``system``/``job:run_escalation_ladder``, or the staff member.
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_label: Mapped[str] = mapped_column(String(254))
    actor_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)

    actions: Mapped[list[EscalationAction]] = relationship(
        back_populates="step", order_by="EscalationAction.id"
    )


class EscalationAction(Base):
    """One thing a step did: an email queued, a task opened, a hold set."""

    __tablename__ = "receivable_escalation_actions"
    __table_args__ = (
        UniqueConstraint("step_id", "kind", name="uq_receivable_escalation_actions_kind"),
        Index("ix_receivable_escalation_actions_task", "task_state", "assignee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(
        ForeignKey("receivable_escalation_steps.id", ondelete="CASCADE")
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[ActionKind] = mapped_column(str_enum(ActionKind, "escalation_action"))
    #: What was done, in a sentence finance reads in the account's history.
    summary: Mapped[str] = mapped_column(String(500))
    #: Recipients, message ids, ...
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Work for a person (a call, a letter, a legal review): open until done; null otherwise.
    task_state: Mapped[TaskState | None] = mapped_column(str_enum(TaskState, "task_state"))
    #: Who should do the task; null means the finance team.
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(254))
    #: What the person did (the call's outcome, the letter's reference).
    completion_note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    step: Mapped[EscalationStep] = relationship(back_populates="actions")


class PromiseState(enum.StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class PromiseToPay(Audited, Base):
    """The customer promised to pay ``amount`` by ``promised_date``: the ladder waits until that
    date plus ``grace_days``; if payments since the promise fall short then, it is broken."""

    __tablename__ = "receivable_promises"
    __audit_name__ = "promise_to_pay"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("grace_days BETWEEN 0 AND 60", name="grace_days_range"),
        Index("ix_receivable_promises_account_state", "account_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    #: The date the customer said the money would arrive.
    promised_date: Mapped[date] = mapped_column(Date)
    #: Days after ``promised_date`` before the promise counts as broken (bank delays).
    grace_days: Mapped[int]
    #: The business date the promise was made; payments from this date on count towards it.
    made_on: Mapped[date] = mapped_column(Date)
    #: Who made it and how (the buyer on the phone, an email from the CFO).
    note: Mapped[str | None] = mapped_column(String(1000))
    state: Mapped[PromiseState] = mapped_column(
        str_enum(PromiseState, "promise_state"), default=PromiseState.OPEN
    )
    #: When the promise was found kept or broken, or cancelled.
    resolved_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DisputeReason(enum.StrEnum):
    QUALITY = "quality"
    SERVICE = "service"
    CONTRACT = "contract"
    PRICING = "pricing"
    DELIVERY = "delivery"


class DisputeState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Dispute(Audited, Base):
    """The customer contests one or more invoices; while open the ladder waits."""

    __tablename__ = "receivable_disputes"
    __audit_name__ = "dispute"
    __table_args__ = (Index("ix_receivable_disputes_account_state", "account_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    reason: Mapped[DisputeReason] = mapped_column(str_enum(DisputeReason, "dispute_reason"))
    #: What the customer says is wrong.
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[DisputeState] = mapped_column(
        str_enum(DisputeState, "dispute_state"), default=DisputeState.OPEN
    )
    #: The complaint opened for a quality, service or contract dispute (complaints package; no
    #: foreign key across packages).
    complaint_id: Mapped[int | None] = mapped_column(index=True)
    #: How it was settled (credit note issued, claim rejected, ...).
    resolution: Mapped[str | None] = mapped_column(String(1000))
    opened_by: Mapped[str] = mapped_column(String(254))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

    invoices: Mapped[list[DisputedInvoice]] = relationship(
        back_populates="dispute",
        cascade="all, delete-orphan",
        order_by="DisputedInvoice.invoice_id",
    )


class DisputedInvoice(Base):
    __tablename__ = "receivable_disputed_invoices"

    dispute_id: Mapped[int] = mapped_column(
        ForeignKey("receivable_disputes.id", ondelete="CASCADE"), primary_key=True
    )
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("receivable_invoices.id", ondelete="RESTRICT"), primary_key=True, index=True
    )

    dispute: Mapped[Dispute] = relationship(back_populates="invoices")


class OverdueCause(enum.StrEnum):
    """Why an account pays late: the classic causes of bad debt."""

    NO_URGENCY = "no_urgency_in_collection"
    MESSY_TERMS = "messy_terms"
    CONTRACT_DISPUTE = "contract_dispute"
    QUALITY_PROBLEM = "quality_problem"
    POOR_AFTER_SALES = "poor_after_sales_service"
    FINANCIAL_TROUBLE = "customer_in_financial_trouble"
    FRAUD = "fraud"
    NO_COLLECTION_METHOD = "no_collection_method"


class OverdueCauseTag(Audited, Base):
    """Finance's diagnosis of an account's overdue debt; an account may have several causes."""

    __tablename__ = "receivable_overdue_causes"
    __audit_name__ = "overdue_cause"
    __table_args__ = (
        UniqueConstraint("account_id", "cause", name="uq_receivable_overdue_causes_cause"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    cause: Mapped[OverdueCause] = mapped_column(str_enum(OverdueCause, "overdue_cause"))
    #: The evidence (who said what, which delivery, ...).
    note: Mapped[str | None] = mapped_column(String(1000))
    tagged_by: Mapped[str] = mapped_column(String(254))
    tagged_at: Mapped[datetime] = mapped_column(default=utcnow)
