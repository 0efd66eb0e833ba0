"""Receivables demo data: terms, two years of invoices with a realistic payment history.

``flask demo load`` calls :func:`generate` for the accounts it creates; the benchmark uses the
same path at scale (20,000 accounts x 50 instalments). Most instalments are paid in full (some
early, most a little late), some partly, some reduced by credit notes or written off, and a few
percent stay open. The rows are bulk-loaded (PostgreSQL ``COPY``, SQLite ``executemany``) in the
caller's transaction: at a million instalments the ORM would take many minutes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from monitor.accounts.models import AccountClass
from monitor.accounts.services import AccountBrief, account_briefs
from monitor.db import utcnow
from receivables import terms
from receivables.models import (
    AccountTerms,
    Adjustment,
    Instalment,
    Invoice,
    Payment,
    PaymentMethod,
    PaymentTermTemplate,
    Posting,
)

#: Instalments per demo account (20,000 accounts → 1,000,000 instalments).
INSTALMENTS_PER_ACCOUNT = 50
#: How far back the invoices go.
HISTORY_DAYS = 730

#: Codes, names, advance and instalments of the demo terms.
DEMO_TEMPLATES: list[tuple[str, str, str, list[dict[str, Any]]]] = [
    ("NET30", "Net 30 days", "0", [{"percent": "100", "days": 30, "basis": "invoice_date"}]),
    ("NET60", "Net 60 days", "0", [{"percent": "100", "days": 60, "basis": "invoice_date"}]),
    ("EOM30", "End of month + 30", "0", [{"percent": "100", "days": 30, "basis": "month_end"}]),
    (
        "ADV30-60",
        "30 % advance, 70 % at 60 days",
        "30",
        [{"percent": "70", "days": 60, "basis": "invoice_date"}],
    ),
    (
        "THIRDS",
        "Thirds at 30, 60 and 90 days from month end",
        "0",
        [
            {"percent": "33.33", "days": 30, "basis": "month_end"},
            {"percent": "33.33", "days": 60, "basis": "month_end"},
            {"percent": "33.34", "days": 90, "basis": "month_end"},
        ],
    ),
]
_TEMPLATE_WEIGHTS = [0.35, 0.2, 0.2, 0.15, 0.1]
_AMOUNTS = {
    AccountClass.A: (20_000, 400_000),
    AccountClass.B: (5_000, 80_000),
    AccountClass.C: (500, 15_000),
}
_METHODS = [
    (PaymentMethod.BANK_TRANSFER, 0.75),
    (PaymentMethod.BANK_ACCEPTANCE, 0.1),
    (PaymentMethod.DIRECT_DEBIT, 0.08),
    (PaymentMethod.CHEQUE, 0.07),
]


@dataclass
class _Rows:
    """Rows per table, as tuples in the order of ``_COLUMNS``."""

    next_id: dict[str, int]
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, *values: Any) -> int:
        new_id = self.next_id[table]
        self.next_id[table] = new_id + 1
        self.rows.setdefault(table, []).append((new_id, *values))
        return new_id


_COLUMNS = {
    AccountTerms.__tablename__: (
        "id", "account_id", "template_id", "effective_from", "note", "created_at",
    ),
    Invoice.__tablename__: (
        "id", "account_id", "number", "issue_date", "currency", "amount", "description",
        "template_id", "created_at",
    ),
    Instalment.__tablename__: ("id", "invoice_id", "sequence", "due_date", "amount"),
    Payment.__tablename__: (
        "id", "account_id", "amount", "currency", "paid_on", "reference", "method",
        "idempotency_key", "reversed_on", "reversal_reason", "created_at",
    ),
    Adjustment.__tablename__: (
        "id", "invoice_id", "kind", "number", "amount", "issued_on", "reason", "created_at",
    ),
    Posting.__tablename__: (
        "id", "instalment_id", "account_id", "due_date", "invoice_date", "kind", "amount",
        "posted_on", "payment_id", "adjustment_id", "reverses_id", "created_at",
    ),
}  # fmt: skip


def _templates(session: Session) -> list[PaymentTermTemplate]:
    found = {t.code: t for t in terms.list_templates(session)}
    for code, name, advance, instalments in DEMO_TEMPLATES:
        if code not in found:
            found[code] = terms.create_template(
                session,
                code=code,
                name=name,
                advance_percent=Decimal(advance),
                instalments=instalments,
            )
    return [found[code] for code, *_ in DEMO_TEMPLATES]


def _cents(value: float) -> Decimal:
    return Decimal(round(value * 100)).scaleb(-2)


class _Builder:
    """Builds one account's history into ``rows``."""

    def __init__(self, rng: random.Random, rows: _Rows, today: date, now: datetime) -> None:
        self.rng = rng
        self.rows = rows
        self.today = today
        self.now = now

    def posting(self, instalment: int, account: int, due: date, issued: date, kind: str,
                amount: Decimal, on: date, payment: int | None = None,
                adjustment: int | None = None) -> None:  # fmt: skip
        self.rows.add(
            Posting.__tablename__, instalment, account, due, issued, kind, amount, on,
            payment, adjustment, None, self.now,
        )  # fmt: skip

    def pay(self, account: AccountBrief, amount: Decimal, on: date) -> int:
        method = self.rng.choices([m for m, _ in _METHODS], [w for _, w in _METHODS])[0]
        reference = f"{account.code}-P{self.rows.next_id[Payment.__tablename__]}"
        return self.rows.add(
            Payment.__tablename__, account.id, amount, account.currency, on, reference,
            method.value, None, None, None, self.now,
        )  # fmt: skip

    def adjust(self, invoice: int, kind: str, amount: Decimal, on: date, reason: str) -> int:
        number = (
            f"CN{self.rows.next_id[Adjustment.__tablename__]}" if kind == "credit_note" else None
        )
        return self.rows.add(
            Adjustment.__tablename__, invoice, kind, number, amount, on, reason, self.now
        )

    def history(self, account: AccountBrief, plan: Sequence[PaymentTermTemplate]) -> None:
        rng, today = self.rng, self.today
        start = today - timedelta(days=HISTORY_DAYS)
        template = later = rng.choices(plan, _TEMPLATE_WEIGHTS)[0]
        self.rows.add(AccountTerms.__tablename__, account.id, template.id, start, None, self.now)
        changes_on = None
        if rng.random() < 0.2:
            changes_on = today - timedelta(days=rng.randrange(90, 400))
            later = rng.choices(plan, _TEMPLATE_WEIGHTS)[0]
            self.rows.add(
                AccountTerms.__tablename__, account.id, later.id, changes_on,
                "renegotiated at the yearly review", self.now,
            )  # fmt: skip
        low, high = _AMOUNTS[account.account_class]
        left = INSTALMENTS_PER_ACCOUNT
        invoice_days = sorted(rng.randrange(HISTORY_DAYS) for _ in range(left))
        for n, offset in enumerate(invoice_days, start=1):
            if left == 0:
                break
            issued = start + timedelta(days=offset)
            in_force = later if changes_on and issued >= changes_on else template
            shape = terms.Terms.of(in_force)
            if len(shape.instalments) + (shape.advance_percent > 0) > left:
                shape, in_force = terms.DEFAULT_TERMS, None
            amount = _cents(rng.uniform(low, high))
            invoice = self.rows.add(
                Invoice.__tablename__, account.id, f"{account.code}-{n:04d}", issued,
                account.currency, amount, None, in_force.id if in_force else None, self.now,
            )  # fmt: skip
            for sequence, (due, part) in enumerate(shape.schedule(issued, amount), start=1):
                left -= 1
                instalment = self.rows.add(Instalment.__tablename__, invoice, sequence, due, part)
                self.posting(instalment, account.id, due, issued, "invoice", part, issued)
                self.settle(account, invoice, instalment, issued, due, part)

    def settle(self, account: AccountBrief, invoice: int, instalment: int, issued: date,
               due: date, amount: Decimal) -> None:  # fmt: skip
        rng, today = self.rng, self.today

        def day(earliest: date, latest: date) -> date:
            latest = max(earliest, min(latest, today))
            return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))

        def paid(part: Decimal, on: date) -> None:
            payment = self.pay(account, part, on)
            self.posting(instalment, account.id, due, issued, "payment", -part, on, payment)

        def adjusted(kind: str, part: Decimal, on: date, reason: str) -> None:
            adjustment = self.adjust(invoice, kind, part, on, reason)
            self.posting(instalment, account.id, due, issued, kind, -part, on, None, adjustment)

        roll = rng.random()
        if due > today:
            if roll < 0.25:
                paid(amount, day(issued, today))
            return
        late_by = max(-10, int(rng.gauss(6, 14)))
        paid_on = day(max(issued, due + timedelta(days=late_by)), due + timedelta(days=late_by))
        if paid_on > today or roll > 0.985:
            return  # still open
        if roll < 0.93:
            paid(amount, paid_on)
        elif roll < 0.955:
            part = _cents(float(amount) * rng.uniform(0.3, 0.9))
            if 0 < part < amount:
                paid(part, paid_on)
        elif roll < 0.975:
            credit = _cents(float(amount) * rng.uniform(0.05, 0.2))
            if 0 < credit < amount:
                adjusted("credit_note", credit, day(issued, due), "price difference")
                paid(amount - credit, paid_on)
        elif (today - due).days > 180:
            part = _cents(float(amount) * rng.uniform(0.0, 0.5))
            if part > 0:
                paid(part, paid_on)
            adjusted(
                "write_off", amount - part, day(due + timedelta(days=150), today), "uncollectable"
            )


def _next_ids(session: Session) -> dict[str, int]:
    tables = {
        AccountTerms.__tablename__: AccountTerms.id,
        Invoice.__tablename__: Invoice.id,
        Instalment.__tablename__: Instalment.id,
        Payment.__tablename__: Payment.id,
        Adjustment.__tablename__: Adjustment.id,
        Posting.__tablename__: Posting.id,
    }
    return {t: (session.scalar(select(func.max(c))) or 0) + 1 for t, c in tables.items()}


def _sqlite_value(value: Any) -> Any:
    # the stored forms SQLAlchemy's SQLite types use
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def bulk_insert(session: Session, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert ``rows`` into ``table`` (columns as in ``_COLUMNS``) in the session's transaction:
    ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
    columns = _COLUMNS[table]
    connection = session.connection()
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        cursor_sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
        connection.execute(text(cursor_sql))
    else:
        marks = ", ".join("?" for _ in columns)
        cursor = raw.cursor()
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            ([_sqlite_value(v) for v in row] for row in rows),
        )
        cursor.close()


def generate(
    session: Session, seed: int, code_prefix: str, today: date | None = None
) -> dict[str, int]:
    """Give each account whose code starts with ``code_prefix`` two years of invoices
    (``INSTALMENTS_PER_ACCOUNT`` instalments each) with payments, credit notes and write-offs;
    returns counts per kind."""
    session.flush()
    today = today or utcnow().date()
    plan = _templates(session)
    rows = _Rows(next_id=_next_ids(session))
    builder = _Builder(random.Random(seed), rows, today, utcnow())
    for account in account_briefs(session):
        if account.code.startswith(code_prefix):
            builder.history(account, plan)
    for table in _COLUMNS:
        bulk_insert(session, table, rows.rows.get(table, []))
    session.expire_all()
    return {
        "invoices": len(rows.rows.get(Invoice.__tablename__, [])),
        "instalments": len(rows.rows.get(Instalment.__tablename__, [])),
        "payments": len(rows.rows.get(Payment.__tablename__, [])),
        "postings": len(rows.rows.get(Posting.__tablename__, [])),
    }
