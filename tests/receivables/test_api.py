"""Receivables through the API: invoices, payments (idempotent), credit notes, reversals,
credit hold by role, the payment calendar and its XLSX; bad input is a 4xx naming the field
and changes nothing."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from receivables.models import Instalment, Invoice, Payment, Posting


@pytest.fixture
def finance(auth):
    return auth("finance")


def ledger_counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Invoice, Instalment, Payment, Posting)
    )


def new_invoice(client, headers, account, number="INV-1", amount="1000.00", issued="2026-04-30"):
    body = {
        "account_id": account.id,
        "number": number,
        "issue_date": issued,
        "currency": account.currency,
        "amount": amount,
    }
    return client.post("/api/v1/receivables/invoices", json=body, headers=headers)


def test_invoice_with_instalment_terms(client, finance, make_account):
    account = make_account()
    template = client.post(
        "/api/v1/receivables/term-templates",
        json={
            "code": "thirds",
            "name": "Thirds at 30/60/90 days from month end",
            "instalments": [
                {"share": "33.33", "days": 30, "basis": "month_end"},
                {"share": "33.33", "days": 60, "basis": "month_end"},
                {"share": "33.34", "days": 90, "basis": "month_end"},
            ],
        },
        headers=finance,
    )
    assert template.status_code == 201, template.json
    terms = client.post(
        f"/api/v1/receivables/accounts/{account.id}/terms",
        json={"template_id": template.json["id"], "effective_from": "2026-01-01"},
        headers=finance,
    )
    assert terms.status_code == 201, terms.json
    created = new_invoice(client, finance, account, amount="1000.00", issued="2026-01-15")
    assert created.status_code == 201, created.json
    instalments = created.json["instalments"]
    assert [(i["due_date"], i["amount"]) for i in instalments] == [
        ("2026-03-02", "333.30"),
        ("2026-04-01", "333.30"),
        ("2026-05-01", "333.40"),
    ]
    assert created.json["outstanding"] == "1000.00"
    # before the terms' start date: net 30 (the default)
    earlier = new_invoice(client, finance, account, "INV-0", "99.99", "2025-12-20")
    assert [i["due_date"] for i in earlier.json["instalments"]] == ["2026-01-19"]


def test_template_instalments_split_what_the_advance_leaves(client, finance):
    answer = client.post(
        "/api/v1/receivables/term-templates",
        json={
            "code": "adv20",
            "name": "20 % advance, the rest in two",
            "advance_percent": "20",
            "instalments": [{"share": "1", "days": 30}, {"share": "2", "days": 60}],
        },
        headers=finance,
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["advance_percent"] == "20.00"
    assert [r["percent"] for r in answer.json["instalments"]] == ["26.66", "53.34"]
    again = client.post(
        "/api/v1/receivables/term-templates",
        json={"code": "ADV20", "name": "again", "instalments": [{"share": "1", "days": 1}]},
        headers=finance,
    )
    assert again.status_code == 409 and again.json["errors"][0]["field"] == "code"
    empty = client.post(
        "/api/v1/receivables/term-templates",
        json={"code": "none", "name": "None", "instalments": []},
        headers=finance,
    )
    assert empty.status_code == 422 and empty.json["errors"][0]["field"] == "instalments"


def test_payment_oldest_first_overpayment_is_unapplied_credit(client, finance, make_account):
    account = make_account()
    new_invoice(client, finance, account, "INV-1", "300.00", "2026-03-01")
    new_invoice(client, finance, account, "INV-2", "500.00", "2026-04-01")
    body = {
        "account_id": account.id,
        "amount": "900.00",
        "currency": "CNY",
        "paid_on": "2026-05-10",
        "reference": "BANK-778",
        "method": "bank_transfer",
    }
    paid = client.post("/api/v1/receivables/payments", json=body, headers=finance)
    assert paid.status_code == 201, paid.json
    assert paid.json["allocated"] == "800.00" and paid.json["unapplied"] == "100.00"
    assert [Decimal(p["amount"]) for p in paid.json["allocations"]] == [
        Decimal("-300.00"),
        Decimal("-500.00"),
    ]
    balance = client.get(
        f"/api/v1/receivables/accounts/{account.id}/balance?as_of=2026-05-10", headers=finance
    ).json
    assert balance["open_total"] == "0.00" and balance["unapplied_credit"] == "100.00"
    assert balance["net_balance"] == "-100.00"


def test_same_reference_or_idempotency_key_records_once(client, finance, make_account, session):
    account = make_account()
    new_invoice(client, finance, account)
    body = {
        "account_id": account.id,
        "amount": "250.00",
        "currency": "CNY",
        "paid_on": "2026-05-10",
        "reference": "BANK-1",
        "method": "bank_transfer",
    }
    headers = {**finance, "Idempotency-Key": "k-123"}
    first = client.post("/api/v1/receivables/payments", json=body, headers=headers)
    before = ledger_counts(session)
    again = client.post("/api/v1/receivables/payments", json=body, headers=headers)
    same_ref = client.post("/api/v1/receivables/payments", json=body, headers=finance)
    assert first.status_code == again.status_code == same_ref.status_code == 201
    assert first.json["id"] == again.json["id"] == same_ref.json["id"]
    assert ledger_counts(session) == before
    # the key reused for another payment, or the reference with another amount: 409
    other = {**body, "reference": "BANK-2"}
    clash = client.post("/api/v1/receivables/payments", json=other, headers=headers)
    assert clash.status_code == 409 and clash.json["errors"][0]["field"] == "Idempotency-Key"
    changed = client.post(
        "/api/v1/receivables/payments", json={**body, "amount": "260.00"}, headers=finance
    )
    assert changed.status_code == 409 and changed.json["errors"][0]["field"] == "reference"
    assert ledger_counts(session) == before


def test_credit_note_write_off_and_reversal(client, finance, make_account):
    account = make_account()
    invoice = new_invoice(client, finance, account, amount="1000.00").json
    note = client.post(
        f"/api/v1/receivables/invoices/{invoice['id']}/adjustments",
        json={
            "kind": "credit_note",
            "number": "CN-1",
            "amount": "150.00",
            "issued_on": "2026-05-02",
            "reason": "damaged goods",
        },
        headers=finance,
    )
    assert note.status_code == 201, note.json
    paid = client.post(
        "/api/v1/receivables/payments",
        json={
            "account_id": account.id,
            "amount": "800.00",
            "currency": "CNY",
            "paid_on": "2026-05-20",
            "reference": "CHQ-9",
            "method": "cheque",
        },
        headers=finance,
    ).json
    reversed_ = client.post(
        f"/api/v1/receivables/payments/{paid['id']}/reversal",
        json={"reversed_on": "2026-05-25", "reason": "cheque bounced"},
        headers=finance,
    )
    assert reversed_.status_code == 200 and reversed_.json["reversed_on"] == "2026-05-25"
    twice = client.post(
        f"/api/v1/receivables/payments/{paid['id']}/reversal",
        json={"reversed_on": "2026-05-26", "reason": "again"},
        headers=finance,
    )
    assert twice.status_code == 409
    write_off = client.post(
        f"/api/v1/receivables/invoices/{invoice['id']}/adjustments",
        json={"kind": "write_off", "issued_on": "2026-06-30", "reason": "customer insolvent"},
        headers=finance,
    )
    assert write_off.status_code == 201 and write_off.json["amount"] == "850.00"
    read = client.get(f"/api/v1/receivables/invoices/{invoice['id']}", headers=finance).json
    assert read["outstanding"] == "0.00"
    on_may_21 = client.get(
        f"/api/v1/receivables/accounts/{account.id}/balance?as_of=2026-05-21", headers=finance
    ).json
    assert on_may_21["open_total"] == "50.00"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"account_id": 999_999}, 422, "account_id"),
        ({"amount": "-5.00"}, 422, "amount"),
        ({"amount": "12,50"}, 422, "amount"),
        ({"amount": 12.5}, 422, "amount"),
        ({"amount": "0.00"}, 422, "amount"),
        ({"amount": "1.005"}, 422, "amount"),
        ({"currency": "EUR"}, 409, "currency"),
        ({"issue_date": "2026-02-30"}, 422, "issue_date"),
        ({"currency": "XXY"}, 422, "currency"),
        ({"number": "INV-1"}, 409, "number"),
    ],
)
def test_bad_invoices_are_refused_and_change_nothing(
    client, finance, make_account, session, change, status, field
):
    account = make_account()
    assert new_invoice(client, finance, account).status_code == 201
    before = ledger_counts(session)
    body = {
        "account_id": account.id,
        "number": "INV-2",
        "issue_date": "2026-05-01",
        "currency": "CNY",
        "amount": "10.00",
        **change,
    }
    answer = client.post("/api/v1/receivables/invoices", json=body, headers=finance)
    assert answer.status_code == status, answer.json
    assert answer.content_type == "application/problem+json"
    assert field in {e["field"] for e in answer.json["errors"]}
    assert ledger_counts(session) == before


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"account_id": 999_999}, 422, "account_id"),
        ({"amount": "-1.00"}, 422, "amount"),
        ({"amount": "abc"}, 422, "amount"),
        ({"currency": "USD"}, 409, "currency"),
        ({"paid_on": "2026-13-01"}, 422, "paid_on"),
        (
            {"allocations": [{"invoice_number": "INV-1", "amount": "2000.00"}]},
            409,
            "allocations.0.amount",
        ),
        (
            {"allocations": [{"instalment_id": 999_999, "amount": "1.00"}]},
            422,
            "allocations.0.instalment_id",
        ),
        (
            {"allocations": [{"invoice_number": "NOPE", "amount": "1.00"}]},
            422,
            "allocations.0.invoice_number",
        ),
        (
            {"allocations": [{"invoice_number": "INV-1", "amount": "60.00"}] * 2},
            422,
            "allocations",
        ),
        ({"paid_on": "2026-04-01"}, 201, None),  # before the invoice: all unapplied credit
    ],
)
def test_bad_payments_are_refused_and_change_nothing(
    client, finance, make_account, session, change, status, field
):
    account = make_account()
    new_invoice(client, finance, account)
    before = ledger_counts(session)
    body = {
        "account_id": account.id,
        "amount": "100.00",
        "currency": "CNY",
        "paid_on": "2026-05-01",
        "reference": "R-1",
        "method": "bank_transfer",
        **change,
    }
    answer = client.post("/api/v1/receivables/payments", json=body, headers=finance)
    assert answer.status_code == status, answer.json
    if field is None:
        assert answer.json["allocated"] == "0.00" and answer.json["unapplied"] == "100.00"
        return
    assert field in {e["field"] for e in answer.json["errors"]}
    assert ledger_counts(session) == before


def test_credit_hold_agents_see_only_the_flag(client, auth, finance, make_account):
    account = make_account()
    agent = auth("agent")
    url = f"/api/v1/receivables/accounts/{account.id}/credit-hold"
    assert client.get(url, headers=agent).json == {"account_id": account.id, "on_hold": False}
    assert client.put(url, json={"on_hold": True, "reason": "x"}, headers=agent).status_code == 403
    set_ = client.put(url, json={"on_hold": True, "reason": "90 days overdue"}, headers=finance)
    assert set_.status_code == 200
    assert client.get(url, headers=agent).json["on_hold"] is True
    for forbidden in (
        "/api/v1/receivables/aging",
        "/api/v1/receivables/invoices",
        f"/api/v1/receivables/accounts/{account.id}/balance",
    ):
        assert client.get(forbidden, headers=agent).status_code == 403
    history = client.get(url + "/history", headers=auth("manager")).json["events"]
    assert history[0]["changes"]["reason"] == [None, "90 days overdue"]
    for reader in ("manager", "executive"):
        assert (
            client.post("/api/v1/receivables/invoices", json={}, headers=auth(reader)).status_code
            == 403
        )


def test_payment_calendar_and_xlsx(client, finance, make_account, session):
    late = make_account(account_class="B")
    good = make_account(account_class="A")
    new_invoice(client, finance, late, "L-1", "1000.00", "2026-01-10")  # due 02-09
    new_invoice(client, finance, good, "G-1", "500.00", "2026-02-05")  # due 03-07
    client.post(
        "/api/v1/receivables/payments",
        json={
            "account_id": good.id,
            "amount": "500.00",
            "currency": "CNY",
            "paid_on": "2026-03-01",
            "reference": "G-PAY",
            "method": "bank_transfer",
        },
        headers=finance,
    )
    with time_machine.travel("2026-03-15 09:00:00+00:00", tick=False):
        sheet = client.get(
            "/api/v1/receivables/calendar?from=2026-01&months=6", headers=finance
        ).json
        overdue = client.get(
            "/api/v1/receivables/calendar?from=2026-01&months=6&overdue_only=true",
            headers=finance,
        ).json
        only_a = client.get(
            "/api/v1/receivables/calendar?from=2026-01&months=6&account_class=A",
            headers=finance,
        ).json
        xlsx = client.get(
            "/api/v1/receivables/calendar.xlsx?from=2026-01&months=6", headers=finance
        )
    assert sheet["months"] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    rows = {row["account_id"]: row for row in sheet["items"]}
    feb = rows[late.id]["cells"][1]
    assert feb["due"] == "1000.00" and feb["outstanding"] == "1000.00" and feb["late"] is True
    assert feb["instalments"][0]["day"] == 9
    march = rows[good.id]["cells"][2]
    assert march["paid"] == "500.00" and march["outstanding"] == "0.00" and not march["late"]
    assert [r["account_id"] for r in overdue["items"]] == [late.id]
    assert [r["account_id"] for r in only_a["items"]] == [good.id]
    assert xlsx.status_code == 200
    book = load_workbook(BytesIO(xlsx.data))
    cells = [[c.value for c in row] for row in book["Calendar"].iter_rows()]
    assert cells[0][:5] == ["Code", "Account", "Currency", "2026-01", "2026-02"]
    late_row = next(r for r in cells if r[0] == late.code)
    assert late_row[4].startswith("day 9: 1,000.00")
    assert book["Instalments"].max_row == 3


def test_calendar_needs_a_valid_month(client, finance):
    answer = client.get("/api/v1/receivables/calendar?from=2026-13", headers=finance)
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "from"
