"""Disputes: on invoices of one account, a complaint for quality/service/contract ones (linked
both ways), the ladder paused while open and resumed when resolved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from monitor.complaints.models import Complaint
from monitor.complaints.services import get_complaint
from receivables.escalation_models import Dispute, EscalationStep
from receivables.jobs import run_escalation_ladder

ISSUED = date(2026, 8, 3)
DUE = ISSUED + timedelta(days=30)


def day(n: int) -> date:
    return DUE + timedelta(days=n)


def frozen(business_day: date):
    return time_machine.travel(
        datetime.combine(business_day, datetime.min.time(), UTC) + timedelta(hours=7), tick=False
    )


@pytest.fixture
def account(session, make_account, invoice):
    account = make_account()
    invoice(account, "INV-100", ISSUED, "3000.00")
    invoice(account, "INV-101", ISSUED, "2000.00")
    session.commit()
    return account


@pytest.fixture
def finance(auth):
    return auth("finance")


def open_dispute(client, headers, account, **body):
    return client.post(
        "/api/v1/receivables/disputes",
        json={
            "account_id": account.id,
            "invoice_numbers": ["INV-100", "INV-101"],
            "reason": "quality",
            "description": "Transformer batch 7 failed acceptance tests",
            **body,
        },
        headers=headers,
    )


def test_a_quality_dispute_opens_a_complaint_linked_both_ways(client, session, account, finance):
    response = open_dispute(client, finance, account)
    assert response.status_code == 201, response.json
    dispute = response.json
    assert dispute["invoice_numbers"] == ["INV-100", "INV-101"]
    assert dispute["state"] == "open"
    complaint = get_complaint(session, dispute["complaint_id"])
    assert (complaint.origin_kind, complaint.origin_id) == ("dispute", dispute["id"])
    assert complaint.channel.value == "dispute"
    assert complaint.category.value == "product_quality"
    assert complaint.account_id == account.id
    assert "INV-100, INV-101" in complaint.description and "5,000.00" in complaint.description
    stored = session.get(Dispute, dispute["id"])
    assert stored.complaint_id == complaint.id


@pytest.mark.parametrize(("reason", "category"), [("service", "service"), ("contract", "contract")])
def test_service_and_contract_disputes_are_complaints_too(
    client, session, account, finance, reason, category
):
    response = open_dispute(client, finance, account, reason=reason)
    assert get_complaint(session, response.json["complaint_id"]).category.value == category


@pytest.mark.parametrize("reason", ["pricing", "delivery"])
def test_pricing_and_delivery_disputes_stay_with_finance(client, session, account, finance, reason):
    response = open_dispute(client, finance, account, reason=reason)
    assert response.status_code == 201
    assert response.json["complaint_id"] is None
    assert session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_an_open_dispute_pauses_the_ladder_and_resolving_resumes_it(
    client, session, account, finance
):
    with frozen(day(1)):
        run_escalation_ladder()
    with frozen(day(5)):
        dispute = open_dispute(client, finance, account, reason="pricing").json
        status = client.get(
            f"/api/v1/receivables/accounts/{account.id}/escalation", headers=finance
        ).json
        assert status["pause"] == {"reason": "dispute", "until": None, "ref_id": dispute["id"]}
        assert status["next_action"]["due_on"] is None
    with frozen(day(40)):
        assert "1 paused" in run_escalation_ladder()
    assert session.scalar(select(func.max(EscalationStep.level))) == 1
    with frozen(day(41)):
        resolved = client.post(
            f"/api/v1/receivables/disputes/{dispute['id']}/resolve",
            json={"resolution": "price confirmed by the contract; customer agreed"},
            headers=finance,
        )
        assert resolved.status_code == 200
        assert resolved.json["state"] == "resolved"
        run_escalation_ladder()
    assert session.scalar(select(func.max(EscalationStep.level))) == 3
    again = client.post(
        f"/api/v1/receivables/disputes/{dispute['id']}/resolve",
        json={"resolution": "again"},
        headers=finance,
    )
    assert again.status_code == 409


def test_an_invoice_is_in_one_open_dispute_so_a_retry_adds_nothing(
    client, session, account, finance
):
    first = open_dispute(client, finance, account)
    retry = open_dispute(client, finance, account)
    assert retry.status_code == 409
    assert retry.json["errors"][0]["field"] == "invoice_numbers"
    assert f"dispute {first.json['id']}" in retry.json["detail"]
    assert session.scalar(select(func.count()).select_from(Dispute)) == 1
    assert session.scalar(select(func.count()).select_from(Complaint)) == 1
    client.post(
        f"/api/v1/receivables/disputes/{first.json['id']}/resolve",
        json={"resolution": "replaced units"},
        headers=finance,
    )
    assert open_dispute(client, finance, account, reason="pricing").status_code == 201


def test_listing_and_reading_disputes(client, account, finance, auth):
    first = open_dispute(client, finance, account, reason="pricing").json
    client.post(
        f"/api/v1/receivables/disputes/{first['id']}/resolve",
        json={"resolution": "settled"},
        headers=finance,
    )
    open_dispute(client, finance, account, invoice_numbers=["INV-101"], reason="delivery")
    manager = auth("manager")
    listing = client.get(
        f"/api/v1/receivables/disputes?account_id={account.id}&reason=pricing", headers=manager
    )
    assert [d["id"] for d in listing.json["items"]] == [first["id"]]
    one = client.get(f"/api/v1/receivables/disputes/{first['id']}", headers=manager)
    assert one.json["invoice_numbers"] == ["INV-100", "INV-101"]
    assert client.get("/api/v1/receivables/disputes/999999", headers=manager).status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"invoice_numbers": ["INV-404"]}, 422, "invoice_numbers.0"),
        ({"invoice_numbers": ["INV-100", "INV-OTHER"]}, 422, "invoice_numbers.1"),
        ({"invoice_numbers": []}, 422, "invoice_numbers"),
        ({"invoice_numbers": ["INV-100", "INV-100"]}, 422, "invoice_numbers"),
        ({"reason": "mood"}, 422, "reason"),
        ({"description": ""}, 422, "description"),
        ({"account_id": 999999}, 422, "account_id"),
        ({"account_id": "1"}, 422, "account_id"),
        ({"severity": "high"}, 422, "severity"),
    ],
)
def test_bad_disputes_name_the_field_and_change_nothing(
    client, session, account, finance, make_account, invoice, change, status, field
):
    other = make_account()
    invoice(other, "INV-OTHER", ISSUED, "10.00")
    session.commit()
    response = open_dispute(client, finance, account, **change)
    assert response.status_code == status, response.json
    assert field in {e["field"] for e in response.json["errors"]}
    assert session.scalar(select(func.count()).select_from(Dispute)) == 0
    assert session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_only_finance_opens_and_resolves_disputes(client, auth, account):
    for role in ("manager", "executive", "agent"):
        assert open_dispute(client, auth(role), account).status_code == 403, role
    assert client.get("/api/v1/receivables/disputes", headers=auth("agent")).status_code == 403
    assert client.get("/api/v1/receivables/disputes", headers=auth("executive")).status_code == 200
