"""The receivables ledger: invoices, payments, credit notes, write-offs, reversals, credit holds.

The ledger of :class:`~receivables.models.Posting` rows is the one source of truth of what is
open: an instalment's outstanding amount as of a date is the sum of its postings dated on or
before it. Nothing stores an outstanding amount that could drift from the postings.

Every function flushes and never commits: the request, job or command around it does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select, type_coerce
from sqlalchemy.orm import Session

from monitor.accounts.models import Account
from monitor.accounts.services import find_account, register_account_dependent
from monitor.api.problems import Conflict, FieldError, NotFound
from monitor.db import Money
from receivables.models import (
    Adjustment,
    AdjustmentKind,
    CreditHold,
    Instalment,
    Invoice,
    Payment,
    PaymentMethod,
    Posting,
    PostingKind,
)
from receivables.terms import CENT, terms_in_force

ZERO = Decimal("0.00")
E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True)
class OpenItem:
    """An instalment with something still to pay, as a statement shows it."""

    instalment_id: int
    invoice_id: int
    invoice_number: str
    issue_date: date
    sequence: int
    due_date: date
    currency: str
    #: The instalment's amount as invoiced.
    amount: Decimal
    #: What is still to pay after payments, credit notes and write-offs.
    outstanding: Decimal
    #: Days after the due date (0 or less: not yet overdue).
    days_past_due: int


def _invoices_of(session: Session, account_id: int) -> str | None:
    found = session.scalar(select(Invoice.id).where(Invoice.account_id == account_id).limit(1))
    return "invoices" if found else None


def _payments_of(session: Session, account_id: int) -> str | None:
    found = session.scalar(select(Payment.id).where(Payment.account_id == account_id).limit(1))
    return "payments" if found else None


register_account_dependent(_invoices_of)
register_account_dependent(_payments_of)


def cents_sum(column: Any) -> ColumnElement[Decimal]:
    """``ROUND(SUM(column), 2)`` as money.

    SQLite keeps NUMERIC as binary floating point, so a sum of postings that cancel out may come
    back as 1e-13 rather than 0; rounding to the cent in SQL makes "is anything open" and every
    total the same on SQLite as on PostgreSQL.
    """
    return type_coerce(func.round(func.sum(column), 2), Money)


# --- checks -------------------------------------------------------------------------------------


def account_for_posting(session: Session, account_id: int, field: str = "account_id") -> Account:
    """The account, or a 422 naming ``field`` when there is none."""
    account = find_account(session, account_id)
    if account is None:
        raise FieldError(field, f"no account with id {account_id}", "not_found")
    return account


def check_amount(amount: Any, field: str = "amount") -> Decimal:
    """A positive amount to the cent, or a 422 naming ``field``."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | str):
        raise FieldError(field, 'give the amount as a decimal string, e.g. "1200.50"')
    try:
        value = Decimal(amount)
    except ArithmeticError:
        raise FieldError(field, f"{amount!r} is not a number") from None
    if not value.is_finite():
        raise FieldError(field, f"{amount!r} is not a number")
    if value <= 0:
        raise FieldError(field, "must be more than zero", "not_positive")
    if value != value.quantize(CENT):
        raise FieldError(field, "at most two decimals (cents)", "too_precise")
    if value >= Decimal("1e16"):
        raise FieldError(field, "too large", "too_large")
    return value.quantize(CENT)


def _check_currency(account: Account, currency: str) -> None:
    # 409 rather than 422: the value is well-formed, it clashes with the account as stored
    if currency != account.currency:
        raise Conflict(
            f"account {account.code} is invoiced in {account.currency}, not {currency}",
            field="currency",
        )


def _choice(kind: type[E], value: Any, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)  # type: ignore[attr-defined]
        raise FieldError(field, f"one of {allowed}", "enum") from None


# --- invoices -----------------------------------------------------------------------------------


def get_invoice(session: Session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id}")
    return invoice


def create_invoice(
    session: Session,
    *,
    account_id: int,
    number: str,
    issue_date: date,
    currency: str,
    amount: Decimal,
    description: str | None = None,
) -> Invoice:
    """Record an invoice and expand it into instalments by the terms in force on ``issue_date``.

    Each instalment gets its ``invoice`` posting. The number must be new (409 naming
    ``number``); the account must exist and the currency be the account's (422).
    """
    account = account_for_posting(session, account_id)
    amount = check_amount(amount)
    _check_currency(account, currency)
    if session.scalar(select(Invoice.id).where(Invoice.number == number)) is not None:
        raise Conflict(f"invoice number {number} is already used", field="number")
    terms = terms_in_force(session, account.id, issue_date)
    try:
        schedule = terms.schedule(issue_date, amount)
    except OverflowError:
        raise FieldError("issue_date", "too far in the future", "out_of_range") from None
    invoice = Invoice(
        account_id=account.id,
        number=number,
        issue_date=issue_date,
        currency=currency,
        amount=amount,
        description=description,
        template_id=terms.template_id,
    )
    for sequence, (due_date, share) in enumerate(schedule, start=1):
        invoice.instalments.append(Instalment(sequence=sequence, due_date=due_date, amount=share))
    session.add(invoice)
    session.flush()
    session.add_all(
        Posting(
            instalment_id=instalment.id,
            account_id=account.id,
            due_date=instalment.due_date,
            invoice_date=issue_date,
            kind=PostingKind.INVOICE,
            amount=instalment.amount,
            posted_on=issue_date,
        )
        for instalment in invoice.instalments
    )
    session.flush()
    return invoice


def find_invoice(session: Session, number: str) -> Invoice | None:
    return session.scalar(select(Invoice).where(Invoice.number == number))


def list_invoices(
    *,
    account_id: int | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
) -> Any:
    """A select of invoices, newest first, for pagination."""
    stmt = select(Invoice).order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    if account_id is not None:
        stmt = stmt.where(Invoice.account_id == account_id)
    if issued_from is not None:
        stmt = stmt.where(Invoice.issue_date >= issued_from)
    if issued_to is not None:
        stmt = stmt.where(Invoice.issue_date <= issued_to)
    return stmt


# --- what is open -------------------------------------------------------------------------------


def outstanding_by_instalment(
    session: Session, instalment_ids: Iterable[int], as_of: date | None = None
) -> dict[int, Decimal]:
    """Each instalment's outstanding amount: the sum of its postings (as of a date, if given)."""
    ids = list(instalment_ids)
    if not ids:
        return {}
    stmt = (
        select(Posting.instalment_id, cents_sum(Posting.amount))
        .where(Posting.instalment_id.in_(ids))
        .group_by(Posting.instalment_id)
    )
    if as_of is not None:
        stmt = stmt.where(Posting.posted_on <= as_of)
    found = {row[0]: Decimal(row[1]) for row in session.execute(stmt)}
    return {i: found.get(i, ZERO) for i in ids}


def open_items(session: Session, account_id: int, as_of: date) -> list[OpenItem]:
    """The account's instalments with something outstanding as of ``as_of``, oldest due first.

    Counts invoices issued and postings dated on or before ``as_of``; used for statements.
    """
    open_rows = (
        select(Posting.instalment_id, cents_sum(Posting.amount).label("outstanding"))
        .where(Posting.account_id == account_id, Posting.posted_on <= as_of)
        .group_by(Posting.instalment_id)
        .having(cents_sum(Posting.amount) != 0)
        .subquery()
    )
    rows = session.execute(
        select(Instalment, Invoice, open_rows.c.outstanding)
        .join(open_rows, open_rows.c.instalment_id == Instalment.id)
        .join(Invoice, Invoice.id == Instalment.invoice_id)
        .order_by(Instalment.due_date, Invoice.issue_date, Instalment.id)
    )
    return [
        OpenItem(
            instalment_id=instalment.id,
            invoice_id=invoice.id,
            invoice_number=invoice.number,
            issue_date=invoice.issue_date,
            sequence=instalment.sequence,
            due_date=instalment.due_date,
            currency=invoice.currency,
            amount=instalment.amount,
            outstanding=Decimal(open_amount),
            days_past_due=(as_of - instalment.due_date).days,
        )
        for instalment, invoice, open_amount in rows
    ]


def ledger_balance(session: Session, as_of: date, account_id: int | None = None) -> Decimal:
    """The sum of every posting dated on or before ``as_of`` (one account's, or the book's)."""
    stmt = select(func.coalesce(cents_sum(Posting.amount), 0)).where(Posting.posted_on <= as_of)
    if account_id is not None:
        stmt = stmt.where(Posting.account_id == account_id)
    return Decimal(session.scalar(stmt)).quantize(CENT)


def unapplied_credit(session: Session, account_id: int, as_of: date | None = None) -> Decimal:
    """Money received and not (or no longer) allocated: payments not reversed, less their
    allocation postings (reversals of allocations put the money back)."""
    received = select(func.coalesce(cents_sum(Payment.amount), 0)).where(
        Payment.account_id == account_id
    )
    allocated = (
        select(func.coalesce(cents_sum(Posting.amount), 0))
        .join(Payment, Payment.id == Posting.payment_id)
        .where(Payment.account_id == account_id)
    )
    if as_of is not None:
        received = received.where(Payment.paid_on <= as_of)
        allocated = allocated.where(Posting.posted_on <= as_of)
    reversed_ = select(func.coalesce(cents_sum(Payment.amount), 0)).where(
        Payment.account_id == account_id, Payment.reversed_on.is_not(None)
    )
    if as_of is not None:
        reversed_ = reversed_.where(Payment.reversed_on <= as_of)
    # allocations are negative postings: received + allocated is what is left
    left = (
        Decimal(session.scalar(received))
        + Decimal(session.scalar(allocated))
        - Decimal(session.scalar(reversed_))
    )
    return left.quantize(CENT)


# --- payments -----------------------------------------------------------------------------------


def list_payments(*, account_id: int | None = None, reference: str | None = None) -> Any:
    """A select of payments, newest first, for pagination."""
    stmt = select(Payment).order_by(Payment.paid_on.desc(), Payment.id.desc())
    if account_id is not None:
        stmt = stmt.where(Payment.account_id == account_id)
    if reference is not None:
        stmt = stmt.where(Payment.reference == reference)
    return stmt


def get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id}")
    return payment


@dataclass(frozen=True)
class _Allocation:
    instalment: Instalment
    invoice: Invoice
    amount: Decimal


def _open_instalments(
    session: Session, account_id: int, issued_by: date, *, lock: bool = True
) -> list[tuple[Instalment, Invoice, Decimal]]:
    """The account's open instalments of invoices issued by ``issued_by``, oldest due first,
    locked against a concurrent allocation (PostgreSQL; SQLite serialises writers anyway)."""
    stmt = (
        select(Instalment, Invoice)
        .join(Invoice, Invoice.id == Instalment.invoice_id)
        .where(Invoice.account_id == account_id, Invoice.issue_date <= issued_by)
        .order_by(Instalment.due_date, Invoice.issue_date, Instalment.id)
    )
    if lock:
        stmt = stmt.with_for_update(of=Instalment)
    rows = session.execute(stmt).all()
    outstanding = outstanding_by_instalment(session, (i.id for i, _ in rows))
    return [(i, inv, outstanding[i.id]) for i, inv in rows if outstanding[i.id] > 0]


def _allocate_oldest_first(
    candidates: Sequence[tuple[Instalment, Invoice, Decimal]], amount: Decimal
) -> list[_Allocation]:
    allocations = []
    left = amount
    for instalment, invoice, outstanding in candidates:
        if left <= 0:
            break
        share = min(left, outstanding)
        allocations.append(_Allocation(instalment, invoice, share))
        left -= share
    return allocations


def _explicit_allocations(
    session: Session,
    account: Account,
    paid_on: date,
    amount: Decimal,
    requested: Sequence[dict[str, Any]],
) -> list[_Allocation]:
    """Check and resolve ``[{"instalment_id" | "invoice_number": ..., "amount": ...}]``.

    An ``invoice_number`` takes that invoice's instalments oldest due first.
    """
    candidates = _open_instalments(session, account.id, date.max)
    by_id = {i.id: (i, inv, out) for i, inv, out in candidates}
    left_of = {i.id: out for i, _, out in candidates}
    allocations: list[_Allocation] = []
    total = ZERO
    for index, item in enumerate(requested):
        where = f"allocations.{index}"
        share = check_amount(item.get("amount"), f"{where}.amount")
        total += share
        if item.get("instalment_id") is not None:
            targets = [by_id.get(item["instalment_id"])]
            if targets[0] is None:
                raise FieldError(
                    f"{where}.instalment_id",
                    f"no open instalment {item['instalment_id']} of account {account.code}",
                    "not_found",
                )
        elif item.get("invoice_number"):
            targets = [c for c in candidates if c[1].number == item["invoice_number"]]
            if not targets:
                raise FieldError(
                    f"{where}.invoice_number",
                    f"no open invoice {item['invoice_number']} of account {account.code}",
                    "not_found",
                )
        else:
            raise FieldError(where, "name an instalment_id or an invoice_number", "missing")
        if targets[0][1].issue_date > paid_on:
            raise Conflict(
                f"invoice {targets[0][1].number} was issued after the payment date; the "
                "payment stays unapplied credit until applied on or after the invoice date",
                field=where,
            )
        open_here = sum((left_of[t[0].id] for t in targets), ZERO)
        if share > open_here:
            raise Conflict(
                f"{share} is more than the {open_here} still open there", field=f"{where}.amount"
            )
        for instalment, invoice, _ in targets:
            part = min(share, left_of[instalment.id])
            if part > 0:
                allocations.append(_Allocation(instalment, invoice, part))
                left_of[instalment.id] -= part
                share -= part
    if total > amount:
        raise FieldError(
            "allocations", f"allocations add up to {total}, more than the payment's {amount}"
        )
    return allocations


def _post_allocations(
    session: Session,
    allocations: Iterable[_Allocation],
    *,
    kind: PostingKind,
    posted_on: date,
    payment_id: int | None = None,
    adjustment_id: int | None = None,
) -> None:
    session.add_all(
        Posting(
            instalment_id=a.instalment.id,
            account_id=a.invoice.account_id,
            due_date=a.instalment.due_date,
            invoice_date=a.invoice.issue_date,
            kind=kind,
            amount=-a.amount,
            posted_on=posted_on,
            payment_id=payment_id,
            adjustment_id=adjustment_id,
        )
        for a in allocations
    )
    session.flush()


def _same_payment(
    existing: Payment, amount: Decimal, currency: str, paid_on: date, reference: str
) -> bool:
    return (existing.amount, existing.currency, existing.paid_on, existing.reference) == (
        amount,
        currency,
        paid_on,
        reference,
    )


def post_payment(
    session: Session,
    *,
    account_id: int,
    amount: Decimal,
    currency: str,
    paid_on: date,
    reference: str,
    method: PaymentMethod | str,
    allocations: Sequence[dict[str, Any]] | None = None,
    idempotency_key: str | None = None,
) -> Payment:
    """Record money received and allocate it; what is left stays unapplied credit.

    Without ``allocations`` the money goes to the account's open instalments oldest due first
    (only invoices issued on or before ``paid_on``). With them, each item names an
    ``instalment_id`` or an ``invoice_number`` and an ``amount``, never more than is open there.

    Idempotent: the same ``reference`` on the account, or the same ``idempotency_key``, returns
    the payment recorded the first time; a different amount, currency or date under a known
    reference or key is a 409 naming it.
    """
    account = account_for_posting(session, account_id)
    amount = check_amount(amount)
    _check_currency(account, currency)
    if idempotency_key is not None:
        existing = session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key))
        if existing is not None:
            if existing.account_id != account.id or not _same_payment(
                existing, amount, currency, paid_on, reference
            ):
                raise Conflict(
                    "this Idempotency-Key was used for a different payment",
                    field="Idempotency-Key",
                )
            return existing
    existing = session.scalar(
        select(Payment).where(Payment.account_id == account.id, Payment.reference == reference)
    )
    if existing is not None:
        if not _same_payment(existing, amount, currency, paid_on, reference):
            raise Conflict(
                f"payment reference {reference} is already recorded with other details",
                field="reference",
            )
        return existing
    if allocations:
        chosen = _explicit_allocations(session, account, paid_on, amount, allocations)
    else:
        chosen = _allocate_oldest_first(_open_instalments(session, account.id, paid_on), amount)
    payment = Payment(
        account_id=account.id,
        amount=amount,
        currency=currency,
        paid_on=paid_on,
        reference=reference,
        method=_choice(PaymentMethod, method, "method"),
        idempotency_key=idempotency_key,
    )
    session.add(payment)
    session.flush()
    _post_allocations(
        session, chosen, kind=PostingKind.PAYMENT, posted_on=paid_on, payment_id=payment.id
    )
    return payment


def apply_unapplied_credit(session: Session, account_id: int, applied_on: date) -> Decimal:
    """Allocate the account's unapplied credit to its open instalments, oldest due first,
    dated ``applied_on`` (for money received before the invoice it pays). Returns the amount
    applied."""
    account = account_for_posting(session, account_id)
    candidates = _open_instalments(session, account.id, applied_on)
    applied = ZERO
    payments = session.scalars(
        select(Payment)
        .where(
            Payment.account_id == account.id,
            Payment.reversed_on.is_(None),
            Payment.paid_on <= applied_on,
        )
        .order_by(Payment.paid_on, Payment.id)
    )
    for payment in payments:
        left = payment.amount + _allocated(session, payment.id)
        if left <= 0:
            continue
        chosen = _allocate_oldest_first(candidates, left)
        _post_allocations(
            session, chosen, kind=PostingKind.PAYMENT, posted_on=applied_on, payment_id=payment.id
        )
        used = {a.instalment.id: a.amount for a in chosen}
        candidates = [
            (i, inv, out - used.get(i.id, ZERO))
            for i, inv, out in candidates
            if out - used.get(i.id, ZERO) > 0
        ]
        applied += sum(used.values(), ZERO)
    return applied


def _allocated(session: Session, payment_id: int) -> Decimal:
    """The (negative) sum of a payment's allocation postings and their reversals."""
    return Decimal(
        session.scalar(
            select(func.coalesce(cents_sum(Posting.amount), 0)).where(
                Posting.payment_id == payment_id
            )
        )
    )


def payment_allocations(session: Session, payment_id: int) -> list[Posting]:
    return list(
        session.scalars(
            select(Posting).where(Posting.payment_id == payment_id).order_by(Posting.id)
        )
    )


def reverse_payment(session: Session, payment: Payment, *, reversed_on: date, reason: str) -> None:
    """Undo a payment: each of its allocations gets a reversal posting dated ``reversed_on``,
    so aging as of earlier dates still shows it paid. Reversing twice is refused (409)."""
    if payment.reversed_on is not None:
        raise Conflict(f"payment {payment.reference} was reversed on {payment.reversed_on}")
    if reversed_on < payment.paid_on:
        raise Conflict(
            f"the payment is dated {payment.paid_on}; it cannot be reversed before",
            field="reversed_on",
        )
    _reverse_postings(session, payment_allocations(session, payment.id), reversed_on)
    payment.reversed_on = reversed_on
    payment.reversal_reason = reason
    session.flush()


def _reverse_postings(session: Session, postings: Iterable[Posting], on: date) -> None:
    reversed_ids = set(
        session.scalars(
            select(Posting.reverses_id).where(
                Posting.reverses_id.in_([p.id for p in postings if p.kind != PostingKind.REVERSAL])
            )
        )
    )
    session.add_all(
        Posting(
            instalment_id=p.instalment_id,
            account_id=p.account_id,
            due_date=p.due_date,
            invoice_date=p.invoice_date,
            kind=PostingKind.REVERSAL,
            amount=-p.amount,
            posted_on=on,
            payment_id=p.payment_id,
            adjustment_id=p.adjustment_id,
            reverses_id=p.id,
        )
        for p in postings
        if p.kind != PostingKind.REVERSAL and p.id not in reversed_ids
    )
    session.flush()


# --- credit notes and write-offs ----------------------------------------------------------------


def adjust_invoice(
    session: Session,
    invoice: Invoice,
    *,
    kind: AdjustmentKind | str,
    amount: Decimal | None,
    issued_on: date,
    reason: str,
    number: str | None = None,
) -> Adjustment:
    """Reduce an invoice's balance by a credit note or a write-off, oldest due instalment first.

    A write-off without ``amount`` writes off everything still open. The amount may not exceed
    what is open on the invoice as of ``issued_on``; a credit note number must be new.
    """
    kind = _choice(AdjustmentKind, kind, "kind")
    if issued_on < invoice.issue_date:
        raise Conflict(
            f"invoice {invoice.number} is dated {invoice.issue_date}; cannot adjust it before",
            field="issued_on",
        )
    if kind is AdjustmentKind.CREDIT_NOTE:
        if not number:
            raise FieldError("number", "a credit note needs its number", "missing")
        if session.scalar(select(Adjustment.id).where(Adjustment.number == number)):
            raise Conflict(f"credit note number {number} is already used", field="number")
    candidates = [
        c for c in _open_instalments(session, invoice.account_id, date.max) if c[1].id == invoice.id
    ]
    open_total = sum((c[2] for c in candidates), ZERO)
    if amount is None:
        if kind is AdjustmentKind.CREDIT_NOTE:
            raise FieldError("amount", "a credit note needs its amount", "missing")
        amount = open_total
        if amount <= 0:
            raise Conflict(f"invoice {invoice.number} has nothing open to write off")
    amount = check_amount(amount)
    if amount > open_total:
        raise Conflict(
            f"{amount} is more than the {open_total} open on invoice {invoice.number}",
            field="amount",
        )
    adjustment = Adjustment(
        invoice_id=invoice.id,
        kind=kind,
        number=number,
        amount=amount,
        issued_on=issued_on,
        reason=reason,
    )
    session.add(adjustment)
    session.flush()
    _post_allocations(
        session,
        _allocate_oldest_first(candidates, amount),
        kind=PostingKind(kind.value),
        posted_on=issued_on,
        adjustment_id=adjustment.id,
    )
    return adjustment


# --- credit hold --------------------------------------------------------------------------------


def set_credit_hold(session: Session, account_id: int, on: bool, reason: str) -> None:
    """Put the account on credit hold or lift it; the audit trail keeps who, when and why."""
    account = account_for_posting(session, account_id)
    hold = session.get(CreditHold, account.id)
    if hold is None:
        session.add(CreditHold(account_id=account.id, on_hold=on, reason=reason))
    elif hold.on_hold != on or hold.reason != reason:
        hold.on_hold = on
        hold.reason = reason
    session.flush()


def credit_hold(session: Session, account_id: int) -> bool:
    """Whether the account is on credit hold."""
    hold = session.get(CreditHold, account_id)
    return bool(hold and hold.on_hold)
