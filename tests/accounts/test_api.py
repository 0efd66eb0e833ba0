"""Accounts and contacts through the API: create, list, filter, change, history, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.accounts.models import Account, Contact
from monitor.audit.models import AuditEvent
from monitor.audit.services import history

ACCOUNT = {
    "code": "sh-0001",
    "name": "上海华能电力有限公司",
    "account_class": "A",
    "account_type": "repeat",
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "credit_limit": "1500000.00",
}
BUYER = {"name": "王芳", "email": "Wang.Fang@huaneng.example.cn", "role": "buyer", "language": "zh"}


@pytest.fixture
def finance(auth: Any) -> dict[str, str]:
    return auth("finance")


def test_create_account_with_chinese_name_and_buyer_then_read_history(client, finance):
    created = client.post("/api/v1/accounts", json=ACCOUNT, headers=finance)
    assert created.status_code == 201, created.json
    account = created.json
    assert account["code"] == "SH-0001"
    assert account["name"] == "上海华能电力有限公司"
    assert account["credit_limit"] == "1500000.00"

    contact = client.post(f"/api/v1/accounts/{account['id']}/contacts", json=BUYER, headers=finance)
    assert contact.status_code == 201, contact.json
    assert contact.json["email"] == "wang.fang@huaneng.example.cn"

    listed = client.get("/api/v1/accounts?q=华能", headers=finance).json
    assert [a["code"] for a in listed["items"]] == ["SH-0001"]
    contacts = client.get(f"/api/v1/accounts/{account['id']}/contacts", headers=finance).json
    assert contacts["total"] == 1 and contacts["items"][0]["role"] == "buyer"

    changed = client.patch(
        f"/api/v1/accounts/{account['id']}", json={"credit_limit": "2000000.00"}, headers=finance
    )
    assert changed.status_code == 200 and changed.json["credit_limit"] == "2000000.00"

    history = client.get(f"/api/v1/accounts/{account['id']}/history", headers=finance).json
    actions = [(e["action"], e["actor_label"]) for e in history["events"]]
    assert [a for a, _ in actions] == ["create", "update"]
    assert all(label.startswith("finance") for _, label in actions)
    assert history["events"][0]["changes"]["name"] == [None, "上海华能电力有限公司"]
    assert history["events"][1]["changes"] == {"credit_limit": ["1500000.00", "2000000.00"]}


def test_list_filters_and_pagination(client, finance):
    for n, (cls, kind) in enumerate([("A", "growing"), ("B", "repeat"), ("B", "unstable")]):
        body = {
            **ACCOUNT,
            "code": f"F-{n}",
            "name": f"Filter {n}",
            "account_class": cls,
            "account_type": kind,
        }
        assert client.post("/api/v1/accounts", json=body, headers=finance).status_code == 201
    page = client.get("/api/v1/accounts?account_class=B&per_page=1", headers=finance).json
    assert page["total"] == 2 and len(page["items"]) == 1 and page["per_page"] == 1
    second = client.get("/api/v1/accounts?account_class=B&per_page=1&page=2", headers=finance).json
    assert second["items"][0]["code"] != page["items"][0]["code"]
    unstable = client.get("/api/v1/accounts?account_type=unstable", headers=finance).json
    assert [a["code"] for a in unstable["items"]] == ["F-2"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"surprise": 1}, "surprise"),
        ({"credit_limit": "-1.00"}, "credit_limit"),
        ({"credit_limit": "12.345"}, "credit_limit"),
        ({"currency": "XXY"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"account_class": "D"}, "account_class"),
        ({"name": 42}, "name"),
        ({"name": "   "}, "name"),
        ({"active": "yes"}, "active"),
        ({"credit_capital": 6}, "credit_capital"),
    ],
)
def test_bad_account_fields_are_named_and_nothing_is_stored(
    client, finance, session, change, field
):
    before = session.scalar(select(func.count()).select_from(Account))
    response = client.post("/api/v1/accounts", json={**ACCOUNT, **change}, headers=finance)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in [e["field"] for e in response.json["errors"]]
    assert session.scalar(select(func.count()).select_from(Account)) == before


def test_duplicate_code_is_a_conflict_naming_code(client, finance):
    assert client.post("/api/v1/accounts", json=ACCOUNT, headers=finance).status_code == 201
    again = client.post("/api/v1/accounts", json={**ACCOUNT, "code": "SH-0001"}, headers=finance)
    assert again.status_code == 409
    assert again.json["errors"][0]["field"] == "code"


def test_invalid_contact_email_and_duplicate_email(client, finance, session):
    account = client.post("/api/v1/accounts", json=ACCOUNT, headers=finance).json
    url = f"/api/v1/accounts/{account['id']}/contacts"
    bad = client.post(url, json={**BUYER, "email": "not-an-email"}, headers=finance)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "email"
    assert client.post(url, json=BUYER, headers=finance).status_code == 201
    dup = client.post(url, json={**BUYER, "name": "Other"}, headers=finance)
    assert dup.status_code == 409 and dup.json["errors"][0]["field"] == "email"
    assert session.scalar(select(func.count()).select_from(Contact)) == 1


def test_failed_update_changes_nothing(client, finance, session):
    account = client.post("/api/v1/accounts", json=ACCOUNT, headers=finance).json
    other = client.post("/api/v1/accounts", json={**ACCOUNT, "code": "OTHER"}, headers=finance).json
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    bad = client.patch(
        f"/api/v1/accounts/{other['id']}", json={"code": "sh-0001", "name": "X"}, headers=finance
    )
    assert bad.status_code == 409
    stored = client.get(f"/api/v1/accounts/{other['id']}", headers=finance).json
    assert stored["code"] == "OTHER" and stored["name"] == ACCOUNT["name"]
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert account["id"] != other["id"]


def test_delete_refused_with_contacts_allowed_without(client, finance, auth):
    admin = auth("admin")
    account = client.post("/api/v1/accounts", json=ACCOUNT, headers=finance).json
    client.post(f"/api/v1/accounts/{account['id']}/contacts", json=BUYER, headers=finance)
    refused = client.delete(f"/api/v1/accounts/{account['id']}", headers=admin)
    assert refused.status_code == 409
    assert "deactivate" in refused.json["detail"]
    assert client.get(f"/api/v1/accounts/{account['id']}", headers=admin).status_code == 200

    empty = client.post(
        "/api/v1/accounts", json={**ACCOUNT, "code": "MISTAKE"}, headers=finance
    ).json
    assert client.delete(f"/api/v1/accounts/{empty['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/accounts/{empty['id']}", headers=admin).status_code == 404
    trail = client.get("/api/v1/accounts", headers=admin)
    assert trail.status_code == 200


def test_deactivate_instead(client, finance):
    account = client.post("/api/v1/accounts", json=ACCOUNT, headers=finance).json
    off = client.patch(f"/api/v1/accounts/{account['id']}", json={"active": False}, headers=finance)
    assert off.status_code == 200 and off.json["active"] is False
    active = client.get("/api/v1/accounts?active=true", headers=finance).json
    assert account["id"] not in [a["id"] for a in active["items"]]


def test_null_for_required_field_in_patch_is_refused(client, finance):
    account = client.post("/api/v1/accounts", json=ACCOUNT, headers=finance).json
    response = client.patch(
        f"/api/v1/accounts/{account['id']}", json={"name": None}, headers=finance
    )
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "name"


def test_unknown_owner_is_named(client, finance):
    response = client.post(
        "/api/v1/accounts", json={**ACCOUNT, "owner_id": 999999}, headers=finance
    )
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "owner_id"


def test_contact_change_and_delete_are_in_its_history(client, finance, auth, session):
    account = client.post("/api/v1/accounts", json=ACCOUNT, headers=finance).json
    contact = client.post(
        f"/api/v1/accounts/{account['id']}/contacts", json=BUYER, headers=finance
    ).json
    agent = auth("agent")
    changed = client.patch(
        f"/api/v1/contacts/{contact['id']}",
        json={"attitude": "opponent", "opted_out": True},
        headers=agent,
    )
    assert changed.status_code == 200
    assert client.delete(f"/api/v1/contacts/{contact['id']}", headers=agent).status_code == 403
    assert client.delete(f"/api/v1/contacts/{contact['id']}", headers=finance).status_code == 204
    assert client.get(f"/api/v1/contacts/{contact['id']}", headers=finance).status_code == 404
    # The trail outlives the row: read it straight from the audit service.
    events = history(session, "contact", contact["id"])
    assert [e.action for e in events] == ["create", "update", "delete"]
    assert events[1].changes == {"attitude": ["neutral", "opponent"], "opted_out": [False, True]}
    assert events[1].actor_label.startswith("agent")
    assert events[2].changes["email"] == ["wang.fang@huaneng.example.cn", None]
