"""Overdue causes: tagging accounts, and the breakdown of overdue debt by cause."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from receivables.escalation_models import OverdueCauseTag

AS_OF = date(2026, 12, 31)


@pytest.fixture
def book(session, make_account, invoice, pay):
    """Three overdue CNY accounts, one overdue EUR account and one paid account."""
    quality = make_account()
    invoice(quality, "Q-1", date(2026, 9, 1), "1000.00")  # due 2026-10-01
    invoice(quality, "Q-2", date(2026, 12, 20), "300.00")  # not yet due
    both = make_account()
    invoice(both, "B-1", date(2026, 10, 1), "500.00")
    untagged = make_account()
    invoice(untagged, "U-1", date(2026, 10, 15), "250.00")
    euro = make_account(currency="EUR")
    invoice(euro, "E-1", date(2026, 9, 1), "80.00")
    paid = make_account()
    invoice(paid, "P-1", date(2026, 9, 1), "70.00")
    pay(paid, "70.00", date(2026, 9, 20), "P-PAY")
    session.commit()
    return {"quality": quality, "both": both, "untagged": untagged, "euro": euro, "paid": paid}


def put(client, headers, account, causes):
    return client.put(
        f"/api/v1/receivables/accounts/{account.id}/overdue-causes",
        json={"causes": causes},
        headers=headers,
    )


def test_tagging_replaces_the_set_and_the_breakdown_counts_overdue_accounts(client, auth, book):
    finance = auth("finance")
    assert put(client, finance, book["quality"], {"quality_problem": None}).status_code == 200
    response = put(
        client,
        finance,
        book["both"],
        {"quality_problem": "batch 7", "customer_in_financial_trouble": None},
    )
    assert response.status_code == 200
    assert [c["cause"] for c in response.json["causes"]] == [
        "customer_in_financial_trouble",
        "quality_problem",
    ]
    put(client, finance, book["euro"], {"messy_terms": None})
    put(client, finance, book["paid"], {"fraud": None})  # not overdue: not counted

    breakdown = client.get(
        f"/api/v1/receivables/overdue-causes/breakdown?as_of={AS_OF}", headers=auth("executive")
    )
    assert breakdown.status_code == 200
    rows = {(r["cause"], r["currency"]): r for r in breakdown.json["rows"]}
    assert set(rows) == {
        ("messy_terms", "EUR"),
        ("quality_problem", "CNY"),
        ("customer_in_financial_trouble", "CNY"),
        ("untagged", "CNY"),
        ("total", "CNY"),
        ("total", "EUR"),
    }
    quality = rows[("quality_problem", "CNY")]
    assert (quality["accounts"], quality["overdue_amount"], quality["open_amount"]) == (
        2,
        "1500.00",
        "1800.00",
    )
    assert rows[("untagged", "CNY")]["overdue_amount"] == "250.00"
    total = rows[("total", "CNY")]
    assert (total["accounts"], total["overdue_amount"]) == (3, "1750.00")
    assert rows[("total", "EUR")]["overdue_amount"] == "80.00"

    # replacing: the second cause goes, the note changes, the first stays
    response = put(client, finance, book["both"], {"quality_problem": "lot 8"})
    assert [(c["cause"], c["note"]) for c in response.json["causes"]] == [
        ("quality_problem", "lot 8")
    ]
    cleared = put(client, finance, book["both"], {})
    assert cleared.json["causes"] == []
    got = client.get(
        f"/api/v1/receivables/accounts/{book['quality'].id}/overdue-causes",
        headers=auth("manager"),
    )
    assert [c["cause"] for c in got.json["causes"]] == ["quality_problem"]


@pytest.mark.parametrize(
    ("causes", "field"),
    [
        ({"bad_luck": None}, "causes.bad_luck.[key]"),
        ({"fraud": ""}, "causes.fraud"),
        ({"fraud": 1}, "causes.fraud"),
        (["fraud"], "causes"),
    ],
)
def test_bad_tags_name_the_field_and_change_nothing(client, auth, session, book, causes, field):
    response = put(client, auth("finance"), book["quality"], causes)
    assert response.status_code == 422, response.json
    assert field in {e["field"] for e in response.json["errors"]}
    assert session.scalar(select(func.count()).select_from(OverdueCauseTag)) == 0


def test_unknown_account_and_bad_date(client, auth):
    finance = auth("finance")
    assert put(client, finance, type("A", (), {"id": 999999}), {}).status_code == 404
    response = client.get(
        "/api/v1/receivables/overdue-causes/breakdown?as_of=2026-13-01", headers=finance
    )
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "as_of"


def test_roles(client, auth, book):
    for role in ("manager", "executive", "agent"):
        response = put(client, auth(role), book["quality"], {"fraud": None})
        assert response.status_code == 403, role
    url = "/api/v1/receivables/overdue-causes/breakdown"
    assert client.get(url, headers=auth("agent")).status_code == 403
    assert client.get(url, headers=auth("manager")).status_code == 200
