"""Tables of receivables: payment terms, invoices and their instalments, payments, adjustments,
the posting ledger, credit holds and month-end aging snapshots.

What is open is never stored: an instalment's outstanding amount is the sum of its postings
(the invoice's share positive; payment allocations, credit notes and write-offs negative;
reversals undo an earlier posting). Reports group postings in SQL.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.audit.services import Audited
from monitor.db import Base, str_enum, utcnow

#: Shares of an invoice, in percent with two decimals (33.33).
Percent = Numeric(5, 2, asdecimal=True)


class DueBasis(enum.StrEnum):
    """What an instalment's offset in days counts from."""

    INVOICE_DATE = "invoice_date"
    MONTH_END = "month_end"


class PaymentTermTemplate(Audited, Base):
    """Named payment terms: an advance share due at invoicing plus dated instalments.

    Net 30 is one instalment of 100 % at 30 days from the invoice date; "end of month + 60" one
    of 100 % at 60 days from the month end; "30 % advance, 70 % at 60 days" an advance of 30 and
    one instalment of 70. Advance and instalment shares add up to exactly 100.
    """

    __tablename__ = "receivable_term_templates"
    __audit_name__ = "payment_term_template"
    __table_args__ = (
        CheckConstraint("advance_percent >= 0 AND advance_percent <= 100", name="advance_0_to_100"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code finance quotes ("NET30", "EOM60", "30ADV-70AT60"); unique, upper-case.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    #: Wording for people and statements.
    name: Mapped[str] = mapped_column(String(200))
    #: Share of the invoice due on the invoice date (advance payment), percent.
    advance_percent: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0.00"))
    #: The instalments after the advance: ``[{"percent": "50.00", "days": 30, "basis":
    #: "invoice_date" | "month_end"}, ...]`` in due order.
    instalments: Mapped[list[dict[str, Any]]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountTerms(Audited, Base):
    """The terms an account buys on from a date on; the latest start on or before an invoice's
    date decides that invoice's schedule."""

    __tablename__ = "receivable_account_terms"
    __audit_name__ = "account_terms"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "effective_from", name="uq_receivable_account_terms_account_from"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    template_id: Mapped[int] = mapped_column(
        ForeignKey("receivable_term_templates.id", ondelete="RESTRICT"), index=True
    )
    #: First invoice date these terms apply to.
    effective_from: Mapped[date] = mapped_column(Date)
    #: Why the terms changed (renegotiation, credit review, ...).
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    template: Mapped[PaymentTermTemplate] = relationship()


class CreditHold(Audited, Base):
    """Whether an account is on credit hold (no new deliveries on credit), with the reason."""

    __tablename__ = "receivable_credit_holds"
    __audit_name__ = "credit_hold"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), primary_key=True
    )
    on_hold: Mapped[bool] = mapped_column(default=False)
    #: Why the hold was set or lifted.
    reason: Mapped[str] = mapped_column(String(500))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Invoice(Audited, Base):
    __tablename__ = "receivable_invoices"
    __audit_name__ = "invoice"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    #: The invoice number as printed; unique across the book.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    issue_date: Mapped[date] = mapped_column(Date)
    #: ISO 4217; always the account's currency.
    currency: Mapped[str] = mapped_column(String(3))
    #: Gross amount to the cent.
    amount: Mapped[Decimal]
    description: Mapped[str | None] = mapped_column(String(500))
    #: The terms template that produced the schedule (null: the default terms).
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("receivable_term_templates.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    instalments: Mapped[list[Instalment]] = relationship(
        back_populates="invoice", order_by="Instalment.sequence"
    )


class Instalment(Base):
    """One dated share of an invoice. Its outstanding amount lives in the ledger, not here."""

    __tablename__ = "receivable_instalments"
    __table_args__ = (
        UniqueConstraint("invoice_id", "sequence", name="uq_receivable_instalments_sequence"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("receivable_invoices.id", ondelete="RESTRICT")
    )
    #: 1, 2, ... in due order (1 is the advance when there is one).
    sequence: Mapped[int]
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal]

    invoice: Mapped[Invoice] = relationship(back_populates="instalments")


class PaymentMethod(enum.StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CHEQUE = "cheque"
    DIRECT_DEBIT = "direct_debit"
    CARD = "card"
    BANK_ACCEPTANCE = "bank_acceptance"
    CASH = "cash"
    OTHER = "other"


class Payment(Audited, Base):
    """Money received from an account. What is not allocated to instalments is unapplied credit
    (the amount minus the allocation postings); a reversed payment allocates nothing."""

    __tablename__ = "receivable_payments"
    __audit_name__ = "payment"
    __table_args__ = (
        UniqueConstraint("account_id", "reference", name="uq_receivable_payments_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    #: Value date of the money.
    paid_on: Mapped[date] = mapped_column(Date)
    #: The bank's or payer's reference; one payment per reference per account.
    reference: Mapped[str] = mapped_column(String(100))
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "payment_method"))
    #: The client's ``Idempotency-Key`` of the request that recorded it.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    #: Set when the payment was reversed (bounced cheque, posted to the wrong account, ...).
    reversed_on: Mapped[date | None] = mapped_column(Date)
    reversal_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdjustmentKind(enum.StrEnum):
    CREDIT_NOTE = "credit_note"
    WRITE_OFF = "write_off"


class Adjustment(Audited, Base):
    """A credit note or a write-off reducing an invoice's balance."""

    __tablename__ = "receivable_adjustments"
    __audit_name__ = "adjustment"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("receivable_invoices.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[AdjustmentKind] = mapped_column(str_enum(AdjustmentKind, "adjustment_kind"))
    #: The credit note's own number (unique), or null for a write-off.
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    amount: Mapped[Decimal]
    issued_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostingKind(enum.StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    WRITE_OFF = "write_off"
    REVERSAL = "reversal"


class Posting(Base):
    """One line of the receivables ledger, against one instalment; never changed or deleted.

    ``account_id``, ``due_date`` and ``invoice_date`` repeat the instalment's (which never
    change) so that aging groups this one table without joins.
    """

    __tablename__ = "receivable_postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        # nothing is paid, credited or reversed before the invoice exists (aging relies on it)
        CheckConstraint("posted_on >= invoice_date", name="posted_after_invoice"),
        # Aging reads only these indexes (no table rows): per account for the totals, by due
        # date for the recent buckets.
        Index("ix_receivable_postings_account", "account_id", "posted_on", "amount"),
        Index("ix_receivable_postings_due", "due_date", "account_id", "posted_on", "amount"),
        Index("ix_receivable_postings_instalment", "instalment_id", "posted_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instalment_id: Mapped[int] = mapped_column(
        ForeignKey("receivable_instalments.id", ondelete="RESTRICT")
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    due_date: Mapped[date] = mapped_column(Date)
    invoice_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[PostingKind] = mapped_column(str_enum(PostingKind, "posting_kind"))
    #: Signed: what the account owes goes up (invoice) or down (payment, credit, write-off).
    amount: Mapped[Decimal]
    #: The accounting date: the invoice date, the payment's value date, the note's date.
    posted_on: Mapped[date] = mapped_column(Date, index=True)
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("receivable_payments.id", ondelete="RESTRICT"), index=True
    )
    adjustment_id: Mapped[int | None] = mapped_column(
        ForeignKey("receivable_adjustments.id", ondelete="RESTRICT"), index=True
    )
    #: The posting a reversal undoes.
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("receivable_postings.id", ondelete="RESTRICT"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgingSnapshot(Base):
    """One account's aging at a month end, kept so trends never depend on recomputing history."""

    __tablename__ = "receivable_aging_snapshots"
    __table_args__ = (
        UniqueConstraint("month_end", "account_id", name="uq_receivable_aging_snapshots_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The last day of the month the snapshot describes.
    month_end: Mapped[date] = mapped_column(Date, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(String(3))
    #: ``{"current": "100.00", "1-30": "0.00", ...}`` by days past due.
    buckets: Mapped[dict[str, Any]]
    open_total: Mapped[Decimal]
    overdue_total: Mapped[Decimal]
    #: Net credit sales (invoices less credit notes) posted in the month.
    credit_sales: Mapped[Decimal]
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
