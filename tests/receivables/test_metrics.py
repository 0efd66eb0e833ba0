"""Metrics by their documented formulas, and the month-end snapshot job (run twice, stored
once)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import time_machine
from sqlalchemy import func, select

from receivables import ledger, metrics
from receivables.jobs import PERIODIC, snapshot_month_end
from receivables.models import AgingSnapshot


def test_countback_dso_of_the_issue_test_vector():
    periods = [(Decimal(100_000), 30), (Decimal(80_000), 30), (Decimal(70_000), 30)]
    assert metrics.countback_dso(Decimal(212_000), periods) == Decimal("73.7")
    assert metrics.countback_dso(Decimal(50_000), periods) == Decimal("15.0")
    assert metrics.countback_dso(Decimal(0), periods) == Decimal("0.0")
    # more open than three months of sales: every day counted, a lower bound
    assert metrics.countback_dso(Decimal(300_000), periods) == Decimal("90.0")


def test_simple_dso_cei_and_provision_matrix():
    assert metrics.simple_dso(Decimal(212_000), Decimal(250_000), 90) == Decimal("76.3")
    assert metrics.simple_dso(Decimal(1), Decimal(0), 90) is None
    # begin 100,000 + sales 250,000 - end 212,000 = 138,000 collected
    # of 100,000 + 250,000 - current 150,000 = 200,000 collectable → 69.0 %
    assert metrics.collection_effectiveness(
        Decimal(100_000), Decimal(250_000), Decimal(212_000), Decimal(150_000)
    ) == Decimal("69.0")
    buckets = {"current": Decimal(1000), "1-30": Decimal(500), "over 120": Decimal(200)}
    # 1000 x 0.5 % + 500 x 2 % + 200 x 50 % = 5 + 10 + 100
    assert metrics.expected_credit_loss(buckets) == Decimal("115.00")
    assert metrics.expected_credit_loss(buckets, {"over 120": Decimal("1")}) == Decimal("200.00")


def test_metrics_from_the_ledger(session, make_account, invoice, pay):
    account = make_account("EUR")
    invoice(account, "M-1", date(2026, 4, 10), "100000.00")  # due 05-10
    invoice(account, "M-2", date(2026, 5, 10), "80000.00")  # due 06-09
    invoice(account, "M-3", date(2026, 6, 10), "70000.00")  # due 07-10
    pay(account, "38000.00", date(2026, 5, 20), "P-1")
    found = metrics.receivables_metrics(session, date(2026, 6, 30), "EUR", months=3)
    assert found.credit_sales == Decimal("250000.00")
    assert found.open_receivables == Decimal("212000.00")
    assert found.current_receivables == Decimal("70000.00")
    # June (30 days) 70,000, May (31) 80,000, April (30) 100,000: 30 + 31 + 62,000/100,000 x 30
    assert found.dso_countback == Decimal("79.6")
    # 212,000 / 250,000 x 91 days
    assert found.dso_simple == Decimal("77.2")
    assert found.best_possible_dso == Decimal("25.5")
    assert found.average_days_delinquent == Decimal("51.7")
    # nothing open before April: (0 + 250,000 - 212,000) / (0 + 250,000 - 70,000)
    assert found.cei == Decimal("21.1")
    # 70,000 current x 0.5 % + 80,000 (21 days) x 2 % + 62,000 (51 days) x 5 %
    assert found.expected_credit_loss == Decimal("5050.00")


def test_month_end_snapshot_job_runs_twice_and_stores_once(session, make_account, invoice):
    account = make_account()
    invoice(account, "S-1", date(2026, 4, 1), "1200.00")
    assert snapshot_month_end in [job.func for job in PERIODIC]
    with time_machine.travel("2026-06-02 00:20:00+00:00", tick=False):
        snapshot_month_end()
        snapshot_month_end()
    stored = session.scalars(
        select(AgingSnapshot).where(AgingSnapshot.account_id == account.id)
    ).all()
    assert len(stored) == 1
    assert stored[0].month_end == date(2026, 5, 31)
    assert stored[0].buckets["1-30"] == "1200.00" and stored[0].open_total == Decimal("1200.00")
    # a payment after the month end does not change the stored history
    ledger.post_payment(
        session,
        account_id=account.id,
        amount=Decimal("1200.00"),
        currency="CNY",
        paid_on=date(2026, 6, 3),
        reference="S-PAY",
        method="cash",
    )
    with time_machine.travel("2026-06-05 00:20:00+00:00", tick=False):
        snapshot_month_end()
    total = session.scalar(
        select(func.count())
        .select_from(AgingSnapshot)
        .where(AgingSnapshot.account_id == account.id)
    )
    assert total == 1


def test_metrics_api(client, auth, make_account, invoice):
    account = make_account("USD")
    invoice(account, "U-1", date(2026, 6, 1), "1000.00")
    answer = client.get(
        "/api/v1/receivables/metrics?as_of=2026-06-30&currency=USD&months=1",
        headers=auth("executive"),
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["open_receivables"] == "1000.00"
    assert answer.json["dso_simple"] == "30.0"


def test_aging_trend_reads_the_stored_month_ends(client, auth, session, make_account, invoice):
    first, second = make_account(), make_account()
    invoice(first, "T-1", date(2026, 4, 1), "100.00")
    invoice(second, "T-2", date(2026, 5, 20), "50.00")
    metrics.take_month_end_snapshot(session, date(2026, 4, 30))
    metrics.take_month_end_snapshot(session, date(2026, 5, 31))
    ledger.post_payment(
        session,
        account_id=first.id,
        amount=Decimal("100.00"),
        currency="CNY",
        paid_on=date(2026, 6, 2),
        reference="T-PAY",
        method="cash",
    )
    book = client.get("/api/v1/receivables/aging/trend", headers=auth("executive")).json
    assert [(p["month_end"], p["accounts"], p["open_total"], p["overdue_total"],
             p["credit_sales"]) for p in book["items"]] == [
        ("2026-04-30", 1, "100.00", "0.00", "100.00"),
        ("2026-05-31", 2, "150.00", "100.00", "50.00"),
    ]  # fmt: skip
    one = client.get(
        f"/api/v1/receivables/aging/trend?account_id={second.id}&months=1",
        headers=auth("finance"),
    ).json
    assert [(p["month_end"], p["open_total"]) for p in one["items"]] == [("2026-05-31", "50.00")]
