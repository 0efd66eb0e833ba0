"""Receivables metrics, each from the ledger and the aging query, each formula stated here.

Amounts are in one currency at a time (mixing currencies in a ratio means nothing). "Credit
sales" are net: invoices less credit notes posted in the period. A month is a calendar month;
the as-of month counts from its first day through the as-of date (``as_of.day`` days).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from receivables.aging import DUE_BUCKETS, aging_report
from receivables.calendar import add_months
from receivables.ledger import ZERO, cents_sum
from receivables.models import AgingSnapshot, Instalment, Invoice, Posting, PostingKind

#: IFRS 9 simplified approach: lifetime expected loss rate per aging bucket (a provision
#: matrix). Defaults to be replaced by the company's own loss history.
DEFAULT_LOSS_RATES: dict[str, Decimal] = {
    "current": Decimal("0.005"),
    "1-30": Decimal("0.02"),
    "31-60": Decimal("0.05"),
    "61-90": Decimal("0.10"),
    "91-120": Decimal("0.25"),
    "over 120": Decimal("0.50"),
}
TENTH = Decimal("0.1")


def countback_dso(open_receivables: Decimal, periods: Sequence[tuple[Decimal, int]]) -> Decimal:
    """DSO by the countback method.

    ``periods`` are (net credit sales, days) from the as-of month backwards. Take the open
    receivables; while they cover a whole period's sales, subtract those sales and count the
    period's days; for the first period they do not cover, count the covered share of its days:

        DSO = d1 + d2 + ... + dk + (AR - S1 - ... - Sk) / S(k+1) x d(k+1)

    e.g. AR 212,000 with sales 100,000, 80,000, 70,000 (30-day months):
    30 + 30 + 32,000 / 70,000 x 30 = 73.7 days. Receivables older than every given period count
    every day given (the figure is then a lower bound). Rounded to a tenth of a day.
    """
    left = Decimal(open_receivables)
    days = Decimal(0)
    for sales, period_days in periods:
        if left <= 0:
            break
        if sales <= 0 or left >= sales:
            days += period_days
            left -= max(sales, ZERO)
        else:
            days += left / sales * period_days
            left = ZERO
    return days.quantize(TENTH, rounding=ROUND_HALF_UP)


def simple_dso(open_receivables: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    """DSO = open receivables / credit sales of the period x days in the period."""
    if credit_sales <= 0:
        return None
    return (open_receivables / credit_sales * days).quantize(TENTH, rounding=ROUND_HALF_UP)


def collection_effectiveness(
    beginning: Decimal, credit_sales: Decimal, ending_total: Decimal, ending_current: Decimal
) -> Decimal | None:
    """CEI (%) = (beginning AR + credit sales - ending total AR)
    / (beginning AR + credit sales - ending current AR) x 100.

    Convention for a period of several months: computed once over the whole period (AR at the
    day before the period, net credit sales of all its months, AR at its end), not as the
    average of monthly figures and without dividing the sales by the number of months. 100 means
    everything collectable was collected.
    """
    collectable = beginning + credit_sales - ending_current
    if collectable <= 0:
        return None
    value = (beginning + credit_sales - ending_total) / collectable * 100
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def expected_credit_loss(
    buckets: Mapping[str, Decimal], loss_rates: Mapping[str, Decimal] = DEFAULT_LOSS_RATES
) -> Decimal:
    """Provision = sum over buckets of (open amount in the bucket x its loss rate), to the cent.
    A bucket without a rate provisions nothing."""
    total = sum((amount * loss_rates.get(label, ZERO) for label, amount in buckets.items()), ZERO)
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def credit_sales(session: Session, currency: str, start: date, end: date) -> Decimal:
    """Net credit sales in ``currency`` posted from ``start`` through ``end``: invoices less
    credit notes."""
    stmt = (
        select(func.coalesce(cents_sum(Posting.amount), 0))
        .join(Instalment, Instalment.id == Posting.instalment_id)
        .join(Invoice, Invoice.id == Instalment.invoice_id)
        .where(
            Invoice.currency == currency,
            Posting.kind.in_([PostingKind.INVOICE.value, PostingKind.CREDIT_NOTE.value]),
            Posting.posted_on >= start,
            Posting.posted_on <= end,
        )
    )
    return Decimal(session.scalar(stmt))


@dataclass(frozen=True)
class Metrics:
    as_of: date
    currency: str
    months: int
    open_receivables: Decimal
    current_receivables: Decimal
    credit_sales: Decimal
    dso_countback: Decimal | None
    dso_simple: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None
    expected_credit_loss: Decimal
    loss_rates: dict[str, Decimal]


def _open(session: Session, currency: str, as_of: date) -> tuple[Decimal, Decimal, dict]:
    report = aging_report(session, as_of, "due", DUE_BUCKETS)
    totals = report.totals.get(currency)
    if totals is None:
        return ZERO, ZERO, dict.fromkeys(report.labels, ZERO)
    buckets = {label: totals[label] for label in report.labels}
    return totals["total"], totals["current"], buckets


def receivables_metrics(
    session: Session,
    as_of: date,
    currency: str,
    months: int = 3,
    loss_rates: Mapping[str, Decimal] = DEFAULT_LOSS_RATES,
) -> Metrics:
    """DSO (countback and simple), best possible DSO, average days delinquent, CEI and the
    expected credit loss, as of ``as_of`` over the last ``months`` months.

    - Best possible DSO = current (not yet due) AR / credit sales x days: the DSO if every
      customer paid exactly on time.
    - Average days delinquent (ADD) = simple DSO - best possible DSO.
    """
    first_month = add_months(as_of.replace(day=1), -(months - 1))
    periods: list[tuple[Decimal, int]] = []
    month = as_of.replace(day=1)
    while month >= first_month:
        end = min(add_months(month, 1) - timedelta(days=1), as_of)
        periods.append((credit_sales(session, currency, month, end), (end - month).days + 1))
        month = add_months(month, -1)
    sales = sum((s for s, _ in periods), ZERO)
    days = sum(d for _, d in periods)
    open_total, current, buckets = _open(session, currency, as_of)
    beginning, _, _ = _open(session, currency, first_month - timedelta(days=1))
    dso = simple_dso(open_total, sales, days)
    best = simple_dso(current, sales, days)
    return Metrics(
        as_of=as_of,
        currency=currency,
        months=months,
        open_receivables=open_total,
        current_receivables=current,
        credit_sales=sales,
        dso_countback=countback_dso(open_total, periods) if sales > 0 else None,
        dso_simple=dso,
        best_possible_dso=best,
        average_days_delinquent=None if dso is None or best is None else dso - best,
        cei=collection_effectiveness(beginning, sales, open_total, current),
        expected_credit_loss=expected_credit_loss(buckets, loss_rates),
        loss_rates=dict(loss_rates),
    )


def last_month_end(today: date) -> date:
    """The last day of the month before ``today``'s."""
    return today.replace(day=1) - timedelta(days=1)


def take_month_end_snapshot(session: Session, month_end: date) -> int:
    """Store each account's aging as of ``month_end`` with its net credit sales of that month;
    accounts already stored for that month are left as they are. Returns the rows added."""
    report = aging_report(session, month_end, "due", DUE_BUCKETS)
    taken = set(
        session.scalars(
            select(AgingSnapshot.account_id).where(AgingSnapshot.month_end == month_end)
        )
    )
    month_sales = dict(
        session.execute(
            select(Posting.account_id, cents_sum(Posting.amount))
            .where(
                Posting.kind.in_([PostingKind.INVOICE.value, PostingKind.CREDIT_NOTE.value]),
                Posting.posted_on >= month_end.replace(day=1),
                Posting.posted_on <= month_end,
            )
            .group_by(Posting.account_id)
        ).all()
    )
    added = 0
    for row in report.rows:
        if row.account_id in taken:
            continue
        session.add(
            AgingSnapshot(
                month_end=month_end,
                account_id=row.account_id,
                currency=row.currency,
                buckets={label: f"{amount:.2f}" for label, amount in row.buckets.items()},
                open_total=row.total,
                overdue_total=row.overdue,
                credit_sales=Decimal(month_sales.get(row.account_id, ZERO)),
            )
        )
        added += 1
    session.flush()
    return added


@dataclass(frozen=True)
class TrendPoint:
    """The stored aging of one month end, in one currency."""

    month_end: date
    currency: str
    accounts: int
    open_total: Decimal
    overdue_total: Decimal
    credit_sales: Decimal


def aging_trend(
    session: Session, account_id: int | None = None, months: int = 12
) -> list[TrendPoint]:
    """The last ``months`` stored month ends per currency (one account's, or the book's), oldest
    first: read from the snapshots, never recomputed."""
    ends = list(
        session.scalars(
            select(AgingSnapshot.month_end)
            .distinct()
            .order_by(AgingSnapshot.month_end.desc())
            .limit(months)
        )
    )
    if not ends:
        return []
    stmt = (
        select(
            AgingSnapshot.month_end,
            AgingSnapshot.currency,
            func.count(),
            cents_sum(AgingSnapshot.open_total),
            cents_sum(AgingSnapshot.overdue_total),
            cents_sum(AgingSnapshot.credit_sales),
        )
        .where(AgingSnapshot.month_end >= min(ends))
        .group_by(AgingSnapshot.month_end, AgingSnapshot.currency)
        .order_by(AgingSnapshot.month_end, AgingSnapshot.currency)
    )
    if account_id is not None:
        stmt = stmt.where(AgingSnapshot.account_id == account_id)
    return [TrendPoint(*row) for row in session.execute(stmt)]
