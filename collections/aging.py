"""Aging of the open balance, as of any date, computed by grouped SQL from the ledger.

Nothing open is stored: every figure is a sum of postings. Each database gets the shape it runs
fastest (measured with ``bench/aging.py``), with the same columns and the same answers (a test
runs both shapes on both databases). On PostgreSQL, :func:`one_pass_statement` buckets every
posting in one parallel pass. On SQLite, whose cost is per row evaluated, :func:`aging_statement`
is built for the ledger's shape, in which most instalments are long settled:

- the open total per account is one pass over the postings grouped by account, as cheap as a
  bare ``SUM ... GROUP BY account_id``;
- what is not yet due is one short range of the index that leads with the due date, summed per
  account;
- the past-due buckets read only the recent part of the ledger (due or invoice date within the
  last limit before ``as_of``) through that index, summed per (date, account) — all postings of
  an instalment share its date, so a settled instalment nets to zero there and is dropped — and
  then put in buckets per group, not per posting;
- the last bucket ("over 120") is the total less the others.

Bucket limits are compared as dates computed in Python (``due_date >= as_of - 30 days``), so the
SQL is plain comparisons of a DATE column with bound parameters. Not-yet-due amounts fall in
the first bucket ("current") and count in the total, as finance expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    Date,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    text,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from monitor.accounts.models import AccountClass
from monitor.accounts.services import account_briefs
from monitor.api.problems import FieldError
from receivables.ledger import ZERO, cents_sum
from receivables.models import Posting
from receivables.terms import longest_term_days

Basis = Literal["due", "invoice"]

#: Default bucket limits in days past due: current (not yet due), 1-30, 31-60, 61-90, 91-120,
#: over 120.
DUE_BUCKETS: tuple[int, ...] = (0, 30, 60, 90, 120)
#: Default limits in days since the invoice date: 0-30, 31-60, 61-90, 91-120, over 120.
INVOICE_BUCKETS: tuple[int, ...] = (30, 60, 90, 120)


def bucket_labels(limits: Sequence[int]) -> list[str]:
    """Names of the buckets the upper ``limits`` make: one per limit plus "over <last>".

    ``(0, 30, 60)`` gives ``current, 1-30, 31-60, over 60``; ``(30, 60)`` gives
    ``0-30, 31-60, over 60``.
    """
    labels = []
    previous: int | None = None
    for limit in limits:
        if previous is None:
            labels.append("current" if limit == 0 else f"0-{limit}")
        else:
            labels.append(f"{previous + 1}-{limit}")
        previous = limit
    labels.append(f"over {limits[-1]}")
    return labels


def check_buckets(limits: Sequence[int] | None, basis: Basis) -> tuple[int, ...]:
    """The limits to use: the basis' default, or the given ones sorted, without repeats."""
    if limits is None or len(limits) == 0:
        return DUE_BUCKETS if basis == "due" else INVOICE_BUCKETS
    limits = tuple(sorted(set(limits)))
    if limits[0] < 0 or limits[-1] > 9999 or len(limits) > 12:
        raise FieldError("buckets", "at most 12 limits of 0 to 9999 days, e.g. 0,30,60,90")
    return limits


@dataclass
class AgingRow:
    """One account's open balance by bucket."""

    account_id: int
    #: Amount per bucket label, in bucket order.
    buckets: dict[str, Decimal]
    #: Everything open (the sum of the buckets).
    total: Decimal
    #: Past its due date (whatever the basis of the buckets).
    overdue: Decimal
    code: str = ""
    name: str = ""
    currency: str = ""


@dataclass
class AgingReport:
    as_of: date
    basis: Basis
    labels: list[str]
    rows: list[AgingRow]
    #: Per currency: bucket label → amount, plus "total" and "overdue".
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)


def _not_zero(amount: Any) -> Any:
    """Something is open: more than half a cent either way (SQLite sums in binary floating
    point, so postings that cancel out may leave 1e-12 behind)."""
    return ~amount.between(Decimal("-0.005"), Decimal("0.005"))


def _ledger_rows(session: Session, as_of: date, account_id: int | None = None) -> Any:
    """The condition selecting the postings that count as of ``as_of`` (of one account, when
    given): no date test when nothing is dated later (the usual "as of today"), so the scan does
    not test every row for it."""
    conditions = [] if account_id is None else [Posting.account_id == account_id]
    latest = session.scalar(select(func.max(Posting.posted_on)).where(*conditions))
    if latest is not None and as_date(latest) > as_of:
        conditions.append(Posting.posted_on <= as_of)
    return and_(*conditions) if conditions else true()


def aging_statement(
    as_of: date,
    basis: Basis,
    limits: Sequence[int],
    counted: Any,
    longest_term: int,
) -> Select:
    """The aging query: (account_id, bucket_0 ... bucket_n, total, overdue) per account with
    something open.

    Three grouped parts over the ledger, joined per account:

    - ``totals``: everything open per account (the sum of its postings);
    - ``not_due``: what falls due on ``as_of`` or later, per account — a short range of the
      index that leads with the due date (every counted posting belongs to an invoice dated by
      ``as_of``, so it is due at most the longest term later);
    - ``past``: postings whose date (due or invoice date) is within the last limit before
      ``as_of``, summed per (date, account) — an instalment's postings share its date, so a
      settled instalment nets to zero and is dropped — then put in buckets per group, not per
      posting. It reads only that part of the ledger, through the index that leads with the date.

    By due date, what is not due belongs to the first bucket ("current"); the last bucket
    ("over 120") is what ``totals`` holds beyond the other buckets, and ``overdue`` what it holds
    beyond ``not_due``.
    """
    key = Posting.due_date if basis == "due" else Posting.invoice_date
    oldest_recent = as_of - timedelta(days=limits[-1])
    # By invoice date the window ends on ``as_of`` (an invoice of that day is 0 days old); by due
    # date before it (what is due on ``as_of`` is not past due: it is in ``not_due``).
    window_end = key <= as_of if basis == "invoice" else key < as_of
    groups = (
        select(
            Posting.account_id.label("account_id"),
            key.label("key_date"),
            func.sum(Posting.amount).label("open"),
        )
        .where(key >= oldest_recent, window_end, counted)
        .group_by(key, Posting.account_id)
        .having(_not_zero(func.sum(Posting.amount)))
        .subquery("past_groups")
    )
    bucket_columns = []
    newer: date | None = None
    for index, limit in enumerate(limits):
        threshold = as_of - timedelta(days=limit)
        condition = groups.c.key_date >= threshold
        if newer is not None:
            condition = condition & (groups.c.key_date < newer)
        bucket_columns.append(
            func.sum(case((condition, groups.c.open), else_=literal(0))).label(f"bucket_{index}")
        )
        newer = threshold
    past = (
        select(groups.c.account_id, *bucket_columns, func.sum(groups.c.open).label("past_total"))
        .group_by(groups.c.account_id)
        .subquery("past")
    )
    not_due = (
        select(Posting.account_id.label("account_id"), func.sum(Posting.amount).label("amount"))
        .where(
            Posting.due_date >= as_of,
            Posting.due_date <= as_of + timedelta(days=longest_term),
            counted,
        )
        .group_by(Posting.account_id)
        .subquery("not_due")
    )
    totals = (
        select(Posting.account_id.label("account_id"), func.sum(Posting.amount).label("total"))
        .where(counted)
        .group_by(Posting.account_id)
        .having(_not_zero(func.sum(Posting.amount)))
        .subquery("totals")
    )
    zero = literal(0)
    not_due_amount = func.coalesce(not_due.c.amount, zero)
    buckets = [func.coalesce(column, zero) for column in list(past.c)[1:-1]]
    older = totals.c.total - func.coalesce(past.c.past_total, zero)
    if basis == "due":
        buckets[0] = buckets[0] + not_due_amount
        older = older - not_due_amount
    amounts = [*buckets, older, totals.c.total, totals.c.total - not_due_amount]
    # The drivers' own values (Decimal from PostgreSQL, float from SQLite): _money rounds them.
    return (
        select(totals.c.account_id, *(type_coerce(amount, NullType()) for amount in amounts))
        .outerjoin(past, past.c.account_id == totals.c.account_id)
        .outerjoin(not_due, not_due.c.account_id == totals.c.account_id)
    )


def one_pass_statement(as_of: date, basis: Basis, limits: Sequence[int], counted: Any) -> Select:
    """The aging query for PostgreSQL, with the columns of :func:`aging_statement`: one pass over
    the postings grouped by account, each bucket a ``SUM ... FILTER`` on the posting's date.

    Bucketing each posting is exact here (all postings of an instalment share its dates, and
    NUMERIC sums do not drift), and PostgreSQL runs the pass as the bare ``GROUP BY`` runs, a
    parallel scan with one hash aggregate. The windowed query suits SQLite, whose cost is per
    row evaluated; on PostgreSQL its two index scans run serially beside the parallel total.
    """
    key = Posting.due_date if basis == "due" else Posting.invoice_date
    # One parameter per day, used wherever that day is compared: PostgreSQL computes identical
    # aggregates once (the first bucket by due date is also what is not due).
    days = {0: as_of} | {limit: as_of - timedelta(days=limit) for limit in limits}
    day = {n: bindparam(f"day_{n}", value, type_=Date) for n, value in days.items()}
    zero = literal(0)
    buckets = []
    newer: int | None = None
    for limit in limits:
        condition = key >= day[limit]  # the first bucket (by due date) holds what is not due
        if newer is not None:
            condition = condition & (key < day[newer])
        buckets.append(func.coalesce(func.sum(Posting.amount).filter(condition), zero))
        newer = limit
    total = func.sum(Posting.amount)
    buckets.append(total - sum(buckets[1:], buckets[0]))  # the rest: one aggregate fewer
    not_due = func.sum(Posting.amount).filter(Posting.due_date >= day[0])
    not_due = func.coalesce(not_due, zero)
    amounts = [*buckets, total, total - not_due]
    return (
        select(Posting.account_id, *(type_coerce(amount, NullType()) for amount in amounts))
        .where(counted)
        .group_by(Posting.account_id)
        .having(_not_zero(total))
    )


def as_date(value: object) -> date | None:
    # SQLite hands back MIN() and MAX() of a DATE column as text.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _money(value: Decimal | float | int) -> Decimal:
    """A summed amount as money: PostgreSQL's NUMERIC sums are exact already; SQLite sums binary
    floats, rounded back to whole cents here (a -1e-13 left by cancelling postings is 0)."""
    if not value:
        return ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(round(value * 100)).scaleb(-2)


def aging_query(
    session: Session,
    as_of: date,
    basis: Basis = "due",
    buckets: Sequence[int] | None = None,
    account_id: int | None = None,
) -> Select:
    """The aging statement for ``as_of`` (see :func:`aging_statement`), of every account or of
    ``account_id`` only, testing the postings' dates only when some are dated after ``as_of``."""
    limits = check_buckets(buckets, basis)
    counted = _ledger_rows(session, as_of, account_id)
    if session.get_bind().dialect.name == "postgresql":
        # For this transaction: the per-account sums fit in memory instead of spilling to disk,
        # and no JIT compilation, which costs more than it saves on a query this size.
        session.execute(text("SET LOCAL work_mem = '32MB'"))
        session.execute(text("SET LOCAL jit = off"))
        return one_pass_statement(as_of, basis, limits, counted)
    return aging_statement(as_of, basis, limits, counted, longest_term_days(session))


def aging_rows(
    session: Session,
    as_of: date,
    basis: Basis = "due",
    buckets: Sequence[int] | None = None,
    account_id: int | None = None,
) -> tuple[list[str], list[AgingRow]]:
    """Bucket labels and one row per account with an open balance (or only ``account_id``'s),
    straight from SQL."""
    labels = bucket_labels(check_buckets(buckets, basis))
    statement = aging_query(session, as_of, basis, buckets, account_id)
    # Fetched at once (the driver's fetchall), then converted: a row at a time through the
    # result object costs more than the conversion itself, for 20,000 accounts.
    records = session.connection().execute(statement).all()
    rows = []
    for found_id, *values in records:
        amounts = [_money(v) for v in values]
        rows.append(
            AgingRow(
                account_id=found_id,
                buckets=dict(zip(labels, amounts[:-2], strict=True)),
                total=amounts[-2],
                overdue=amounts[-1],
            )
        )
    return labels, rows


def oldest_overdue(session: Session, as_of: date) -> dict[int, date]:
    """Per account, the due date of its oldest instalment still open and past due."""
    groups = (
        select(Posting.account_id.label("account_id"), Posting.due_date.label("due_date"))
        .where(Posting.due_date < as_of, Posting.posted_on <= as_of)
        .group_by(Posting.account_id, Posting.due_date)
        .having(cents_sum(Posting.amount) != 0)
        .subquery()
    )
    stmt = select(groups.c.account_id, func.min(groups.c.due_date)).group_by(groups.c.account_id)
    return {account_id: as_date(due) for account_id, due in session.execute(stmt)}


def aging_report(
    session: Session,
    as_of: date,
    basis: Basis = "due",
    buckets: Sequence[int] | None = None,
    *,
    account_class: AccountClass | None = None,
    owner_id: int | None = None,
    overdue_only: bool = False,
) -> AgingReport:
    """Aging as of ``as_of`` per account (ordered by account code) and in total per currency.

    ``basis="due"`` ages by days past the due date (default buckets current, 1-30, 31-60,
    61-90, 91-120, over 120); ``"invoice"`` by days since the invoice date (0-30, ..., over 120).
    ``buckets`` are upper limits in days, e.g. ``(0, 15, 30, 60)``. Filters by account class and
    owner; ``overdue_only`` keeps accounts with something past due.
    """
    labels, rows = aging_rows(session, as_of, basis, buckets)
    by_id = {row.account_id: row for row in rows}
    filtered = account_class is not None or owner_id is not None
    briefs = account_briefs(
        session,
        ids=None if filtered else list(by_id),
        account_class=account_class,
        owner_id=owner_id,
    )
    report = AgingReport(as_of=as_of, basis=basis, labels=labels, rows=[])
    for brief in briefs:
        row = by_id.get(brief.id)
        if row is None or (overdue_only and row.overdue <= 0):
            continue
        row.code, row.name, row.currency = brief.code, brief.name, brief.currency
        report.rows.append(row)
        totals = report.totals.setdefault(
            brief.currency, {**dict.fromkeys(labels, ZERO), "total": ZERO, "overdue": ZERO}
        )
        for label, amount in row.buckets.items():
            totals[label] += amount
        totals["total"] += row.total
        totals["overdue"] += row.overdue
    return report


@dataclass(frozen=True)
class OverdueAccount:
    """An account with something past due, for the escalation ladder."""

    account_id: int
    #: Days past due of the oldest overdue open instalment.
    days_past_due: int
    #: Open and past due.
    overdue_amount: Decimal
    #: Everything open, due or not.
    open_amount: Decimal
    currency: str


def overdue_accounts(session: Session, as_of: date) -> list[OverdueAccount]:
    """Every account with an open instalment past its due date as of ``as_of``, most overdue
    first."""
    _, rows = aging_rows(session, as_of, "due", DUE_BUCKETS)
    oldest = oldest_overdue(session, as_of)
    overdue = [row for row in rows if row.overdue > 0 and row.account_id in oldest]
    briefs = account_briefs(session, ids=[row.account_id for row in overdue])
    currencies = {brief.id: brief.currency for brief in briefs}
    found = [
        OverdueAccount(
            account_id=row.account_id,
            days_past_due=(as_of - oldest[row.account_id]).days,
            overdue_amount=row.overdue,
            open_amount=row.total,
            currency=currencies[row.account_id],
        )
        for row in overdue
    ]
    found.sort(key=lambda a: (-a.days_past_due, a.account_id))
    return found
