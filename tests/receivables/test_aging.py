"""Aging against a ledger computed by hand: partial payments, a credit note, a write-off,
instalments, a payment before the due date, items exactly 30, 31, 60 and 61 days past due;
as of "today" and as of a past date; by due date and by invoice date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from receivables import aging, ledger, terms

TODAY = date(2026, 6, 30)
PAST = date(2026, 5, 31)


def amounts(**by_label: str) -> dict[str, Decimal]:
    labels = ["current", "1-30", "31-60", "61-90", "91-120", "over 120"]
    named = {k.replace("_", "-").replace("over-", "over "): v for k, v in by_label.items()}
    return {label: Decimal(named.get(label, "0.00")) for label in labels}


@pytest.fixture
def book(session, make_account, invoice, pay):
    """The hand-computed ledger of one CNY account, and a EUR account beside it.

    Net 30 (the default) until 31 May; from 1 June 30 % advance and 70 % at 60 days.

    | invoice | issued     | amount  | due              | what happened                          |
    | A       | 2026-04-30 | 1000.00 | 05-30            | 400.00 paid 06-10 (partial)            |
    | B       | 2026-05-01 |  500.00 | 05-31            | credit note 100.00 on 06-05            |
    | C       | 2026-03-01 |  300.00 | 03-31            | nothing                                |
    | D       | 2026-04-01 |  200.00 | 05-01            | nothing                                |
    | E       | 2026-03-31 |  700.00 | 04-30            | nothing                                |
    | H       | 2025-12-01 |  250.00 | 2025-12-31       | 50.00 written off 06-01                |
    | F       | 2026-06-15 | 1000.00 | 06-15 300, 08-14 700 | 700 paid 06-20 on the 2nd (early)  |
    | G       | 2026-06-20 |  100.00 | 06-20 30, 08-19 70   | paid in full 06-25 (2nd before due) |
    | I       | 2026-06-25 |   80.00 | 06-25 24, 08-24 56   | nothing                            |
    """
    cny = make_account("CNY")
    eur = make_account("EUR")
    split = terms.create_template(
        session,
        code="ADV30-60",
        name="30 % advance, 70 % at 60 days",
        advance_percent=Decimal("30"),
        instalments=[{"percent": "70", "days": 60, "basis": "invoice_date"}],
    )
    terms.set_account_terms(session, cny.id, template_id=split.id, effective_from=date(2026, 6, 1))
    a = invoice(cny, "A", date(2026, 4, 30), "1000.00")
    b = invoice(cny, "B", date(2026, 5, 1), "500.00")
    invoice(cny, "C", date(2026, 3, 1), "300.00")
    invoice(cny, "D", date(2026, 4, 1), "200.00")
    invoice(cny, "E", date(2026, 3, 31), "700.00")
    h = invoice(cny, "H", date(2025, 12, 1), "250.00")
    f = invoice(cny, "F", date(2026, 6, 15), "1000.00")
    invoice(cny, "G", date(2026, 6, 20), "100.00")
    invoice(cny, "I", date(2026, 6, 25), "80.00")
    pay(
        cny,
        "400.00",
        date(2026, 6, 10),
        "PAY-A",
        allocations=[{"invoice_number": "A", "amount": "400.00"}],
    )
    ledger.adjust_invoice(
        session,
        b,
        kind="credit_note",
        number="CN-B",
        amount=Decimal("100.00"),
        issued_on=date(2026, 6, 5),
        reason="short delivery",
    )
    ledger.adjust_invoice(
        session,
        h,
        kind="write_off",
        amount=Decimal("50.00"),
        issued_on=date(2026, 6, 1),
        reason="disputed freight, settled",
    )
    second = f.instalments[1]
    pay(
        cny,
        "700.00",
        date(2026, 6, 20),
        "PAY-F2",
        allocations=[{"instalment_id": second.id, "amount": "700.00"}],
    )
    pay(
        cny,
        "100.00",
        date(2026, 6, 25),
        "PAY-G",
        allocations=[{"invoice_number": "G", "amount": "100.00"}],
    )
    invoice(eur, "E-1", date(2026, 6, 1), "1000.00")
    assert [(i.due_date, i.amount) for i in f.instalments] == [
        (date(2026, 6, 15), Decimal("300.00")),
        (date(2026, 8, 14), Decimal("700.00")),
    ]
    assert a.instalments[0].due_date == date(2026, 5, 30)
    return cny, eur


def test_aging_as_of_today_by_due_date(session, book):
    cny, eur = book
    report = aging.aging_report(session, TODAY)
    rows = {row.account_id: row for row in report.rows}
    # I's second instalment current; B (30 days), F's advance (15) and I's (5) in 1-30;
    # A (31) and D (60) in 31-60;
    # E (61) in 61-90; C (91) in 91-120; H (181) over 120.
    assert rows[cny.id].buckets == amounts(
        current="56.00",
        **{
            "1_30": "724.00",
            "31_60": "800.00",
            "61_90": "700.00",
            "91_120": "300.00",
            "over_120": "200.00",
        },
    )
    assert rows[cny.id].total == Decimal("2780.00")
    assert rows[cny.id].overdue == Decimal("2724.00")
    assert rows[eur.id].buckets == amounts(current="1000.00")
    assert report.totals["CNY"]["total"] == Decimal("2780.00")
    assert report.totals["EUR"]["current"] == Decimal("1000.00")


def test_aging_as_of_a_past_date_ignores_what_came_later(session, book):
    cny, eur = book
    report = aging.aging_report(session, PAST)
    rows = {row.account_id: row for row in report.rows}
    # B due that day is current; A (1 day) and D (30) in 1-30; E (31) in 31-60; C (61) in 61-90;
    # H (151) over 120. No payment, credit note or write-off yet; F, G, I not yet issued.
    assert rows[cny.id].buckets == amounts(
        current="500.00",
        **{"1_30": "1200.00", "31_60": "700.00", "61_90": "300.00", "over_120": "250.00"},
    )
    assert rows[cny.id].total == Decimal("2950.00")
    assert eur.id not in rows


def test_aging_by_invoice_date(session, book):
    cny, _ = book
    report = aging.aging_report(session, TODAY, basis="invoice")
    assert report.labels == ["0-30", "31-60", "61-90", "91-120", "over 120"]
    row = next(r for r in report.rows if r.account_id == cny.id)
    assert row.buckets == {
        "0-30": Decimal("380.00"),  # F's advance 300 (15 days), I 24 + 56 (5 days)
        "31-60": Decimal("400.00"),  # B, 60 days
        "61-90": Decimal("800.00"),  # A 600 (61 days), D 200 (90 days)
        "91-120": Decimal("700.00"),  # E, 91 days
        "over 120": Decimal("500.00"),  # C 300 (121 days), H 200
    }


def test_configurable_buckets(session, book):
    cny, _ = book
    report = aging.aging_report(session, TODAY, buckets=[0, 30, 60])
    row = next(r for r in report.rows if r.account_id == cny.id)
    assert report.labels == ["current", "1-30", "31-60", "over 60"]
    assert row.buckets["over 60"] == Decimal("1200.00")
    assert sum(row.buckets.values()) == row.total


@pytest.mark.parametrize("as_of", [PAST, TODAY, date(2026, 6, 12), date(2025, 12, 1)])
def test_buckets_equal_open_items_equal_ledger_balance(session, book, as_of):
    cny, _ = book
    rows = {r.account_id: r for r in aging.aging_report(session, as_of).rows}
    open_total = sum((i.outstanding for i in ledger.open_items(session, cny.id, as_of)), Decimal(0))
    bucket_total = sum(rows[cny.id].buckets.values()) if cny.id in rows else Decimal(0)
    assert bucket_total == open_total == ledger.ledger_balance(session, as_of, cny.id)


def test_open_items_for_a_statement(session, book):
    cny, _ = book
    items = ledger.open_items(session, cny.id, TODAY)
    assert [(i.invoice_number, i.outstanding, i.days_past_due) for i in items] == [
        ("H", Decimal("200.00"), 181),
        ("C", Decimal("300.00"), 91),
        ("E", Decimal("700.00"), 61),
        ("D", Decimal("200.00"), 60),
        ("A", Decimal("600.00"), 31),
        ("B", Decimal("400.00"), 30),
        ("F", Decimal("300.00"), 15),
        ("I", Decimal("24.00"), 5),
        ("I", Decimal("56.00"), -55),
    ]


def test_overdue_accounts_name_the_oldest_overdue_instalment(session, book):
    cny, eur = book
    found = {a.account_id: a for a in aging.overdue_accounts(session, TODAY)}
    assert eur.id not in found
    assert found[cny.id].days_past_due == 181
    assert found[cny.id].overdue_amount == Decimal("2724.00")
    assert found[cny.id].open_amount == Decimal("2780.00")
    assert found[cny.id].currency == "CNY"


def test_reversed_payment_reopens_from_its_reversal_date(session, book):
    cny, _ = book
    payment = ledger.post_payment(
        session,
        account_id=cny.id,
        amount=Decimal("200.00"),
        currency="CNY",
        paid_on=date(2026, 6, 28),
        reference="PAY-D",
        method="cheque",
    )
    # oldest due first: H (due 2025-12-31, 200.00 open) is settled
    assert ledger.open_items(session, cny.id, TODAY)[0].invoice_number == "C"
    ledger.reverse_payment(session, payment, reversed_on=date(2026, 7, 2), reason="cheque bounced")
    assert ledger.ledger_balance(session, TODAY, cny.id) == Decimal("2580.00")
    assert ledger.ledger_balance(session, date(2026, 7, 2), cny.id) == Decimal("2780.00")


def test_aging_api_defaults_to_today(client, auth, book):
    cny, _ = book
    with time_machine.travel("2026-06-30 10:00:00+00:00", tick=False):
        answer = client.get("/api/v1/receivables/aging", headers=auth("executive"))
    assert answer.status_code == 200, answer.json
    assert answer.json["as_of"] == "2026-06-30"
    row = next(r for r in answer.json["items"] if r["account_id"] == cny.id)
    assert row["buckets"]["31-60"] == "800.00" and row["total"] == "2780.00"
    assert answer.json["totals"]["CNY"]["over 120"] == "200.00"


def test_aging_api_past_date_invoice_basis_and_bad_buckets(client, auth, book):
    headers = auth("manager")
    answer = client.get(
        "/api/v1/receivables/aging?as_of=2026-05-31&buckets=0,30,60,90,120", headers=headers
    )
    assert answer.json["totals"]["CNY"]["total"] == "2950.00"
    answer = client.get("/api/v1/receivables/aging?basis=invoice&as_of=2026-06-30", headers=headers)
    assert answer.json["labels"][0] == "0-30"
    bad = client.get("/api/v1/receivables/aging?buckets=30,x", headers=headers)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "buckets"
    any_order = client.get(
        "/api/v1/receivables/aging?as_of=2026-06-30&buckets=60,0,30,30", headers=headers
    ).json
    assert any_order["labels"] == ["current", "1-30", "31-60", "over 60"]


@pytest.mark.parametrize("as_of", [PAST, TODAY])
def test_a_first_bucket_past_zero_holds_what_is_not_due_too(session, book, as_of):
    cny, _ = book
    items = ledger.open_items(session, cny.id, as_of)
    report = aging.aging_report(session, as_of, buckets=[15, 60])
    row = next(r for r in report.rows if r.account_id == cny.id)
    assert report.labels == ["0-15", "16-60", "over 60"]
    by_days = {
        "0-15": [i for i in items if i.days_past_due <= 15],
        "16-60": [i for i in items if 15 < i.days_past_due <= 60],
        "over 60": [i for i in items if i.days_past_due > 60],
    }
    for label, found in by_days.items():
        assert row.buckets[label] == sum((i.outstanding for i in found), Decimal(0)), label
    assert row.overdue == sum((i.outstanding for i in items if i.days_past_due > 0), Decimal(0))


@pytest.mark.parametrize("basis", ["due", "invoice"])
@pytest.mark.parametrize("as_of", [PAST, TODAY, date(2026, 6, 12)])
def test_both_shapes_of_the_aging_query_agree(session, book, basis, as_of):
    """PostgreSQL runs the one-pass query, SQLite the windowed one: each database runs both
    here, so neither shape can drift from the other, for every account or for one."""
    limits = aging.check_buckets(None if basis == "invoice" else [0, 15, 30, 60], basis)

    def run(statement):
        rows = session.connection().execute(statement).all()
        return {row[0]: [aging._money(v) for v in row[1:]] for row in rows}

    def both_shapes(account_id=None):
        counted = aging._ledger_rows(session, as_of, account_id)
        windowed = run(
            aging.aging_statement(as_of, basis, limits, counted, terms.longest_term_days(session))
        )
        assert windowed == run(aging.one_pass_statement(as_of, basis, limits, counted))
        return windowed

    found = both_shapes()
    assert found
    # One account's own postings decide the date test: on 12 June the CNY account has later
    # ones and the EUR account none; on PAST the EUR account has nothing yet (invoiced 1 June).
    for account in book:
        assert both_shapes(account.id) == {k: v for k, v in found.items() if k == account.id}


@pytest.mark.parametrize("as_of", [PAST, TODAY])
def test_the_aging_of_one_account_is_its_row_of_the_whole(session, book, as_of):
    labels, everyone = aging.aging_rows(session, as_of)
    for account in book:
        assert aging.aging_rows(session, as_of, account_id=account.id) == (
            labels,
            [row for row in everyone if row.account_id == account.id],
        )
