"""Receivables demo data (what `flask demo load` adds) and the receivables commands."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import time_machine
from sqlalchemy import func, select

from monitor import demo
from receivables import aging, ledger
from receivables import demo as receivables_demo
from receivables.models import AgingSnapshot, Instalment, Invoice, Posting


def test_demo_ledger_is_realistic_and_consistent(session):
    with time_machine.travel("2026-06-30 12:00:00+00:00", tick=False):
        counts = demo.generate(session, seed=5, accounts=6)
    per_account = receivables_demo.INSTALMENTS_PER_ACCOUNT
    assert counts["instalments"] == 6 * per_account
    assert session.scalar(select(func.count()).select_from(Instalment)) == 6 * per_account
    # every invoice's instalments add up to it
    sums = session.execute(
        select(Invoice.amount, func.sum(Instalment.amount))
        .join(Instalment, Instalment.invoice_id == Invoice.id)
        .group_by(Invoice.id, Invoice.amount)
    ).all()
    assert all(amount == total for amount, total in sums)
    kinds = Counter(session.scalars(select(Posting.kind)))
    assert kinds["invoice"] == 6 * per_account and kinds["payment"] > 4 * per_account
    today = date(2026, 6, 30)
    report = aging.aging_report(session, today)
    for row in report.rows:
        items = ledger.open_items(session, row.account_id, today)
        assert sum(row.buckets.values()) == row.total == sum(i.outstanding for i in items)
        assert row.total == ledger.ledger_balance(session, today, row.account_id)
    open_share = sum(len(ledger.open_items(session, r.account_id, today)) for r in report.rows)
    assert 0 < open_share < 0.2 * 6 * per_account  # most instalments are settled


def test_aging_and_snapshot_commands(runner, session, make_account, invoice):
    account = make_account("EUR")
    invoice(account, "CLI-1", date(2026, 4, 1), "1234.50")
    result = runner.invoke(args=["receivables", "aging", "--as-of", "2026-06-30"])
    assert result.exit_code == 0, result.output
    assert "EUR" in result.output and "1,234.50" in result.output
    bad = runner.invoke(args=["receivables", "aging", "--as-of", "30.06.2026"])
    assert bad.exit_code != 0 and "not a date" in bad.output
    stored = runner.invoke(args=["receivables", "snapshot", "--month-end", "2026-05-31"])
    assert stored.exit_code == 0 and "1 accounts stored" in stored.output
    again = runner.invoke(args=["receivables", "snapshot", "--month-end", "2026-05-31"])
    assert "0 accounts stored" in again.output
    assert session.scalar(select(func.count()).select_from(AgingSnapshot)) == 1
    snapshot = session.scalar(select(AgingSnapshot))
    assert snapshot.buckets["1-30"] == "1234.50" and snapshot.open_total == Decimal("1234.50")
    not_month_end = runner.invoke(args=["receivables", "snapshot", "--month-end", "2026-05-30"])
    assert not_month_end.exit_code != 0 and "last day of a month" in not_month_end.output
