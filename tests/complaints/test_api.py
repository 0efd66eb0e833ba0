"""Complaints through the API: intake, the queue, handling steps, checklist, comments, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from monitor.accounts import services as accounts
from monitor.audit.models import AuditEvent
from monitor.complaints.models import Complaint, ComplaintEvent

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
STEPS = [
    "reach_site",
    "listen",
    "calm_customer",
    "report_leadership",
    "first_handling",
    "mobilise_resources",
    "public_sentiment",
]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def snapshot(session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Complaint)),
        session.scalar(select(func.count()).select_from(ComplaintEvent)),
        session.scalar(select(func.count()).select_from(AuditEvent)),
    )


def move(client, complaint_id: int, headers: dict, action: str, **fields: Any):
    return client.post(
        f"/api/v1/complaints/{complaint_id}/transitions",
        json={"action": action, **fields},
        headers=headers,
    )


# --- intake ---------------------------------------------------------------------------------------


def test_intake_is_assigned_round_robin_among_active_managers(client, staff_member, intake):
    first, _ = staff_member("manager")
    second, _ = staff_member("manager")
    inactive, _ = staff_member("manager")
    client.application.extensions["monitor.db"]
    admin = staff_member("admin")[1]
    assert (
        client.patch(f"/api/v1/users/{inactive.id}", json={"active": False}, headers=admin)
    ).status_code == 200
    assignees = [intake()["assignee_id"] for _ in range(4)]
    assert {assignees[0], assignees[1]} == {first.id, second.id}
    assert assignees[2:] == assignees[:2]


def test_intake_starts_the_clock_and_records_who_logged_it(client, intake, contact, manager):
    with time_machine.travel(T0, tick=False):
        complaint = intake(
            contact_id=contact.id, occurred_at="2026-11-01T22:15:00+08:00", severity="high"
        )
    assert complaint["state"] == "new"
    assert complaint["contact_id"] == contact.id
    assert complaint["received_at"] == iso(T0)
    assert complaint["occurred_at"] == "2026-11-01T14:15:00Z"
    assert complaint["sla"]["first_response"]["deadline"] == iso(T0 + 4 * H)
    assert complaint["sla"]["resolution"]["deadline"] == iso(T0 + 72 * H)
    assert complaint["sla"]["first_response"]["status"] == "running"
    assert complaint["checklist"] == []
    assert complaint["assignee_id"] == manager[0].id
    assert complaint["created_by_id"] is not None


def test_a_critical_complaint_carries_the_crisis_checklist(intake):
    complaint = intake(severity="critical")
    assert [s["step"] for s in complaint["checklist"]] == STEPS
    assert {s["status"] for s in complaint["checklist"]} == {"pending"}


def test_a_retried_intake_with_the_same_key_returns_the_same_complaint(
    client, account, agent, session
):
    body = {
        "account_id": account.id,
        "channel": "email",
        "category": "delivery",
        "severity": "low",
        "description": "Delivery 3 days late",
    }
    headers = agent | {"Idempotency-Key": "hotline-2026-11-02-0007"}
    first = client.post("/api/v1/complaints", json=body, headers=headers)
    again = client.post("/api/v1/complaints", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    before = snapshot(session)
    other = client.post("/api/v1/complaints", json=body | {"severity": "high"}, headers=headers)
    assert other.status_code == 409
    assert other.json["errors"][0]["field"] == "Idempotency-Key"
    bad_key = client.post(
        "/api/v1/complaints", json=body, headers=agent | {"Idempotency-Key": "has space"}
    )
    assert bad_key.status_code == 422
    assert bad_key.json["errors"][0]["field"] == "Idempotency-Key"
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"account_id": 999_999}, "account_id"),
        ({"account_id": "one"}, "account_id"),
        ({"channel": "fax"}, "channel"),
        ({"category": "weather"}, "category"),
        ({"severity": "urgent"}, "severity"),
        ({"description": "   "}, "description"),
        ({"occurred_at": "2026-11-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at"),
        ({"contact_id": 999_999}, "contact_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_intake_fields_are_named_and_store_nothing(
    client, account, agent, session, change, field
):
    body = {
        "account_id": account.id,
        "channel": "hotline",
        "category": "service",
        "severity": "medium",
        "description": "Engineer did not come",
    } | change
    before = snapshot(session)
    response = client.post("/api/v1/complaints", json=body, headers=agent)
    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert field in {e["field"] for e in response.json["errors"]}
    assert snapshot(session) == before


def test_a_contact_of_another_account_is_refused(client, account, agent, session):
    other = accounts.create_account(
        session,
        code="BJ-0002",
        name="北京城建",
        account_class="B",
        account_type="growing",
        currency="CNY",
        timezone="Asia/Shanghai",
    )
    stranger = accounts.create_contact(
        session, other, name="李雷", email="li.lei@bj.example.cn", role="user", language="zh"
    )
    session.commit()
    response = client.post(
        "/api/v1/complaints",
        json={
            "account_id": account.id,
            "contact_id": stranger.id,
            "channel": "visit",
            "category": "service",
            "severity": "low",
            "description": "Rude engineer",
        },
        headers=agent,
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "contact_id"


# --- handling steps -------------------------------------------------------------------------------


def test_the_full_handling_of_a_critical_complaint(client, intake, manager, session):
    _, boss = manager
    with time_machine.travel(T0, tick=False):
        complaint = intake(severity="critical")
    cid = complaint["id"]
    with time_machine.travel(T0 + 0.5 * H, tick=False):
        acknowledged = move(client, cid, boss, "acknowledge").json
    assert acknowledged["state"] == "acknowledged"
    assert acknowledged["first_response_at"] == iso(T0 + 0.5 * H)
    assert acknowledged["sla"]["first_response"]["status"] == "met"
    with time_machine.travel(T0 + 1 * H, tick=False):
        assert move(client, cid, boss, "investigate").json["state"] == "investigating"
        missing = move(client, cid, boss, "resolve", resolution_summary="Replaced the unit")
        assert missing.status_code == 422
        assert missing.json["errors"][0]["field"] == "root_cause"
        resolved = move(
            client,
            cid,
            boss,
            "resolve",
            resolution_summary="Replaced the transformer; supplier batch recalled",
            root_cause="supplier",
        )
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["state"] == "resolved"
    assert resolved.json["sla"]["resolution"]["status"] == "met"

    blocked = move(client, cid, boss, "close", customer_decision="accepted")
    assert blocked.status_code == 409
    assert "reach_site" in blocked.json["detail"]

    url = f"/api/v1/complaints/{cid}/checklist"
    no_reason = client.patch(f"{url}/public_sentiment", json={"status": "skipped"}, headers=boss)
    assert no_reason.status_code == 422
    assert no_reason.json["errors"][0]["field"] == "skip_reason"
    unknown = client.patch(f"{url}/dance", json={"status": "done"}, headers=boss)
    assert unknown.status_code == 404
    for step in STEPS[:-1]:
        done = client.patch(f"{url}/{step}", json={"status": "done", "note": "ok"}, headers=boss)
        assert done.status_code == 200, done.json
        assert done.json["completed_by_label"].startswith("manager")
    skipped = client.patch(
        f"{url}/public_sentiment",
        json={"status": "skipped", "skip_reason": "No public attention"},
        headers=boss,
    )
    assert skipped.json["status"] == "skipped"

    closed = move(client, cid, boss, "close", customer_decision="accepted", note="Thanks")
    assert closed.status_code == 200, closed.json
    assert closed.json["state"] == "closed"
    assert closed.json["customer_decision"] == "accepted"

    history = client.get(f"/api/v1/complaints/{cid}/history", headers=boss).json["events"]
    actions = [e["action"] for e in history]
    assert actions[0] == "create"
    assert "checklist_opened" in actions
    steps = [e["changes"] for e in history if e["action"] == "checklist_step"]
    assert [c["step"][1] for c in steps] == STEPS
    assert steps[-1]["status"] == ["pending", "skipped"]
    assert steps[-1]["skip_reason"] == [None, "No public attention"]
    states = [e["changes"]["state"][1] for e in history if "state" in e["changes"]]
    assert states == ["new", "acknowledged", "investigating", "resolved", "closed"]


def test_the_intake_records_the_new_complaint_in_the_audit_trail(client, intake, manager):
    """The intake inserts without a flush; its audit row is the one any created row gets."""
    _, boss = manager
    created = intake(severity="high", description="Pump leaks")
    history = client.get(f"/api/v1/complaints/{created['id']}/history", headers=boss).json
    first = history["events"][0]
    assert first["action"] == "create"
    assert first["actor_label"].startswith("agent")
    changes = first["changes"]
    assert changes["id"] == [None, created["id"]]
    assert changes["state"] == [None, "new"]
    assert changes["severity"] == [None, "high"]
    assert changes["description"] == [None, "Pump leaks"]
    assert changes["assignee_id"] == [None, created["assignee_id"]]
    assert changes["received_at"][1].startswith(created["received_at"][:16])
    # Unset columns and bookkeeping are left out, as for every created row.
    left_out = {"closed_at", "resolved_at", "root_cause", "sla_due_at", "version", "created_at"}
    assert not left_out & changes.keys()


def test_illegal_transitions_are_refused_and_change_nothing(client, intake, manager, session):
    _, boss = manager
    cid = intake()["id"]
    before = snapshot(session)
    for action in ("investigate", "wait_on_customer", "resolve", "close", "reopen"):
        response = move(client, cid, boss, action)
        assert response.status_code == 409, (action, response.json)
        assert "new" in response.json["detail"]
        assert response.json["errors"][0]["field"] == "action"
    unknown = move(client, cid, boss, "teleport")
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "action"
    assert snapshot(session) == before
    assert client.get(f"/api/v1/complaints/{cid}", headers=boss).json["state"] == "new"


def test_a_rejected_decision_goes_back_to_investigating(client, intake, manager):
    _, boss = manager
    cid = intake()["id"]
    for action in ("acknowledge", "investigate"):
        move(client, cid, boss, action)
    move(client, cid, boss, "resolve", resolution_summary="Credit note", root_cause="logistics")
    no_note = move(client, cid, boss, "close", customer_decision="rejected")
    assert no_note.status_code == 422 and no_note.json["errors"][0]["field"] == "note"
    rejected = move(
        client, cid, boss, "close", customer_decision="rejected", note="Wants a replacement"
    )
    assert rejected.json["state"] == "investigating"
    assert rejected.json["closed_at"] is None
    unconfirmed = move(
        client, cid, boss, "resolve", resolution_summary="Replaced", root_cause="logistics"
    )
    assert unconfirmed.json["state"] == "resolved"
    no_reason = move(client, cid, boss, "close", customer_decision="no_response")
    assert no_reason.status_code == 422
    closed = move(
        client, cid, boss, "close", customer_decision="no_response", note="3 calls unanswered"
    )
    assert closed.json["state"] == "closed"
    assert closed.json["closing_note"] == "3 calls unanswered"
    assert move(client, cid, boss, "reopen").status_code == 422
    reopened = move(client, cid, boss, "reopen", note="Fault came back")
    assert reopened.json["state"] == "reopened"
    assert reopened.json["sla"]["resolution"]["status"] == "running"


# --- the clock through the API --------------------------------------------------------------------


def test_a_pause_spanning_the_deadline_and_a_severity_change_move_it(client, intake, manager):
    _, boss = manager
    with time_machine.travel(T0, tick=False):
        cid = intake(severity="medium")["id"]
    with time_machine.travel(T0 + 0.5 * H, tick=False):
        raised = client.patch(
            f"/api/v1/complaints/{cid}", json={"severity": "critical"}, headers=boss
        ).json
    # Critical from receipt: first response within 1 h, resolution within 24 h of running time.
    assert raised["sla"]["first_response"]["deadline"] == iso(T0 + H)
    assert raised["sla"]["resolution"]["deadline"] == iso(T0 + 24 * H)
    assert len(raised["checklist"]) == 7
    with time_machine.travel(T0 + 0.75 * H, tick=False):
        move(client, cid, boss, "acknowledge")
    with time_machine.travel(T0 + 10 * H, tick=False):
        move(client, cid, boss, "wait_on_customer", note="Asked for photos of the damage")
    with time_machine.travel(T0 + 30 * H, tick=False):
        paused = client.get(f"/api/v1/complaints/{cid}", headers=boss).json["sla"]["resolution"]
    assert paused["status"] == "paused" and paused["deadline"] is None
    assert not paused["breached"]
    with time_machine.travel(T0 + 40 * H, tick=False):
        resumed = move(client, cid, boss, "investigate").json["sla"]["resolution"]
    # 10 h ran before the pause, 14 h were left: due at hour 54 instead of hour 24.
    assert resumed["deadline"] == iso(T0 + 54 * H)
    assert resumed["elapsed_minutes"] == 600
    with time_machine.travel(T0 + 55 * H, tick=False):
        late = client.get(f"/api/v1/complaints/{cid}", headers=boss).json["sla"]["resolution"]
    assert late["breached"] and late["breached_at"] == iso(T0 + 54 * H)


def test_a_policy_change_applies_to_complaints_received_afterwards(
    client, intake, manager, staff_member
):
    _, boss = manager
    admin = staff_member("admin")[1]
    with time_machine.travel(T0, tick=False):
        old = intake(severity="medium")["id"]
    with time_machine.travel(T0 + H, tick=False):
        changed = client.put(
            "/api/v1/complaints/sla-policies/medium",
            json={"first_response_minutes": 30, "resolution_minutes": 600},
            headers=admin,
        )
        assert changed.status_code == 200, changed.json
        new = intake(severity="medium")
    assert new["sla"]["first_response"]["deadline"] == iso(T0 + 1.5 * H)
    with time_machine.travel(T0 + 2 * H, tick=False):
        kept = client.get(f"/api/v1/complaints/{old}", headers=boss).json
    assert kept["sla"]["first_response"]["deadline"] == iso(T0 + 8 * H)
    policies = {
        p["severity"]: p
        for p in client.get("/api/v1/complaints/sla-policies", headers=boss).json["items"]
    }
    assert policies["medium"]["source"] == "configured"
    assert policies["medium"]["first_response_minutes"] == 30
    assert policies["critical"] == policies["critical"] | {
        "source": "default",
        "first_response_minutes": 60,
        "resolution_minutes": 1440,
    }
    inverted = client.put(
        "/api/v1/complaints/sla-policies/low",
        json={"first_response_minutes": 600, "resolution_minutes": 30},
        headers=admin,
    )
    assert inverted.status_code == 422
    assert inverted.json["errors"][0]["field"] == "resolution_minutes"
    unknown = client.put(
        "/api/v1/complaints/sla-policies/urgent",
        json={"first_response_minutes": 6, "resolution_minutes": 30},
        headers=admin,
    )
    assert unknown.status_code == 404
    assert (
        client.put(
            "/api/v1/complaints/sla-policies/low",
            json={"first_response_minutes": 6, "resolution_minutes": 30},
            headers=boss,
        ).status_code
        == 403
    )


# --- the queue ------------------------------------------------------------------------------------


def test_the_queue_is_sorted_by_the_nearest_deadline_and_filtered(client, intake, manager):
    _, boss = manager
    with time_machine.travel(T0, tick=False):
        low = intake(severity="low")["id"]
        high = intake(severity="high")["id"]
    with time_machine.travel(T0 + H, tick=False):
        critical = intake(severity="critical")["id"]
        waiting = intake(severity="critical")["id"]
        move(client, waiting, boss, "acknowledge")
        move(client, waiting, boss, "wait_on_customer")
        checklist = f"/api/v1/complaints/{critical}/checklist"
        client.patch(f"{checklist}/reach_site", json={"status": "done"}, headers=boss)
        client.patch(f"{checklist}/listen", json={"status": "done"}, headers=boss)
        skip = {"status": "skipped", "skip_reason": "Nobody outside heard of it"}
        client.patch(f"{checklist}/public_sentiment", json=skip, headers=boss)
        queue = client.get("/api/v1/complaints", headers=boss).json
        # The page reads clocks and checklists for all its items at once: each item must be
        # what reading that complaint alone gives (pause included), with the checklist's
        # progress counted from the complaint's steps.
        for item in queue["items"]:
            alone = client.get(f"/api/v1/complaints/{item['id']}", headers=boss).json
            steps = alone.pop("checklist")
            progress = {
                status: sum(step["status"] == status for step in steps)
                for status in ("done", "skipped", "pending")
            }
            assert item == alone | {"checklist_progress": {"steps": len(steps), **progress}}
    first = queue["items"][0]["checklist_progress"]
    assert first == {"steps": 7, "done": 2, "skipped": 1, "pending": 4}
    assert queue["items"][1]["checklist_progress"] == dict.fromkeys(first, 0)  # not critical
    # critical due at T0+2h, high at T0+4h, low at T0+24h; the paused one last.
    assert [c["id"] for c in queue["items"]] == [critical, high, low, waiting]
    assert queue["total"] == 4
    only_high = client.get("/api/v1/complaints?severity=high", headers=boss).json
    assert [c["id"] for c in only_high["items"]] == [high]
    by_state = client.get("/api/v1/complaints?state=waiting_on_customer", headers=boss).json
    assert [c["id"] for c in by_state["items"]] == [waiting]
    mine = client.get(f"/api/v1/complaints?assignee_id={manager[0].id}", headers=boss).json
    assert mine["total"] == 4
    assert client.get("/api/v1/complaints?unassigned=true", headers=boss).json["total"] == 0
    logger = client.get(f"/api/v1/complaints/{low}", headers=boss).json["created_by_id"]
    logged = client.get(f"/api/v1/complaints?created_by_id={logger}", headers=boss).json
    assert logged["total"] == 4
    assert client.get("/api/v1/complaints?breached=true", headers=boss).json["total"] == 0
    bad = client.get("/api/v1/complaints?severity=urgent", headers=boss)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "severity"


def test_claiming_in_manual_mode(client, intake, staff_member):
    first, first_headers = staff_member("manager")
    second, second_headers = staff_member("manager")
    admin = staff_member("admin")[1]
    assert (
        client.put(
            "/api/v1/complaints/assignment-rule", json={"mode": "manual"}, headers=admin
        ).status_code
        == 200
    )
    cid = intake()["id"]
    queue = client.get("/api/v1/complaints?unassigned=true", headers=first_headers).json
    assert [c["id"] for c in queue["items"]] == [cid]
    claimed = client.post(f"/api/v1/complaints/{cid}/claim", headers=first_headers)
    assert claimed.status_code == 200 and claimed.json["assignee_id"] == first.id
    assert client.post(f"/api/v1/complaints/{cid}/claim", headers=first_headers).status_code == 200
    lost = client.post(f"/api/v1/complaints/{cid}/claim", headers=second_headers)
    assert lost.status_code == 409
    handed = client.put(
        f"/api/v1/complaints/{cid}/assignee", json={"assignee_id": second.id}, headers=first_headers
    )
    assert handed.json["assignee_id"] == second.id
    not_manager = client.put(
        f"/api/v1/complaints/{cid}/assignee", json={"assignee_id": 999_999}, headers=first_headers
    )
    assert not_manager.status_code == 422
    history = client.get(f"/api/v1/complaints/{cid}/history", headers=first_headers).json
    assert "claimed" in [e["action"] for e in history["events"]]


def test_assignment_by_account_class_and_owner(client, intake, staff_member, account, session):
    first, _ = staff_member("manager")
    second, _ = staff_member("manager")
    admin = staff_member("admin")[1]
    by_class = client.put(
        "/api/v1/complaints/assignment-rule",
        json={"mode": "account_class", "class_managers": {"A": second.id}},
        headers=admin,
    )
    assert by_class.status_code == 200, by_class.json
    assert [intake()["assignee_id"] for _ in range(2)] == [second.id, second.id]
    bad_class = client.put(
        "/api/v1/complaints/assignment-rule",
        json={"mode": "account_class", "class_managers": {"Z": second.id}},
        headers=admin,
    )
    assert bad_class.status_code == 422
    client.put("/api/v1/complaints/assignment-rule", json={"mode": "account_owner"}, headers=admin)
    accounts.update_account(session, account, owner_id=first.id)
    session.commit()
    assert intake()["assignee_id"] == first.id
    rule = client.get("/api/v1/complaints/assignment-rule", headers=admin).json
    assert rule["mode"] == "account_owner"


# --- comments and who sees what -------------------------------------------------------------------


def test_comments_are_kept_in_order_and_agents_write_only_customer_facing_ones(
    client, intake, agent, manager, staff_member
):
    _, boss = manager
    cid = intake()["id"]
    url = f"/api/v1/complaints/{cid}/comments"
    first = client.post(url, json={"visibility": "customer", "body": "已致电客户"}, headers=agent)
    assert first.status_code == 201, first.json
    refused = client.post(url, json={"visibility": "internal", "body": "x"}, headers=agent)
    assert refused.status_code == 403
    assert refused.json["errors"][0]["field"] == "visibility"
    second = client.post(
        url, json={"visibility": "internal", "body": "Supplier fault"}, headers=boss
    )
    assert second.status_code == 201
    listed = client.get(url, headers=agent).json["items"]
    assert [c["body"] for c in listed] == ["已致电客户", "Supplier fault"]
    finance = staff_member("finance")[1]
    assert (
        client.post(url, json={"visibility": "customer", "body": "x"}, headers=finance).status_code
        == 403
    )
    history = client.get(f"/api/v1/complaints/{cid}/history", headers=boss).json["events"]
    assert [e["action"] for e in history].count("comment_added") == 2


def test_finance_reads_only_complaints_of_accounts_it_collects_from(
    client, intake, staff_member, account, session
):
    collector, collector_headers = staff_member("finance")
    _, other_headers = staff_member("finance")
    executive = staff_member("executive")[1]
    cid = intake()["id"]
    dispute = intake(channel="dispute", category="billing")["id"]
    assert client.get(f"/api/v1/complaints/{cid}", headers=other_headers).status_code == 404
    assert (
        client.get(f"/api/v1/complaints/{cid}/comments", headers=other_headers).status_code == 404
    )
    assert [
        c["id"] for c in client.get("/api/v1/complaints", headers=other_headers).json["items"]
    ] == [dispute]
    accounts.update_account(session, account, owner_id=collector.id)
    session.commit()
    assert client.get(f"/api/v1/complaints/{cid}", headers=collector_headers).status_code == 200
    listed = client.get("/api/v1/complaints", headers=collector_headers).json
    assert sorted(c["id"] for c in listed["items"]) == sorted([cid, dispute])
    assert client.get("/api/v1/complaints", headers=executive).status_code == 403
    assert (
        client.post(
            f"/api/v1/complaints/{cid}/transitions",
            json={"action": "acknowledge"},
            headers=collector_headers,
        ).status_code
        == 403
    )


def test_an_account_with_complaints_cannot_be_deleted(client, intake, account, staff_member):
    intake()
    admin = staff_member("admin")[1]
    refused = client.delete(f"/api/v1/accounts/{account.id}", headers=admin)
    assert refused.status_code == 409
    assert "complaints" in refused.json["detail"]


# --- statistics -----------------------------------------------------------------------------------


def test_statistics_per_month_with_medians_breach_rate_and_compliance(
    client, intake, manager, staff_member
):
    _, boss = manager
    executive = staff_member("executive")[1]
    october = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    # October: acknowledged after 2 h and resolved after 10 h (within targets) ...
    with time_machine.travel(october, tick=False):
        good = intake(severity="high")["id"]
    with time_machine.travel(october + 2 * H, tick=False):
        move(client, good, boss, "acknowledge")
        move(client, good, boss, "investigate")
    with time_machine.travel(october + 10 * H, tick=False):
        move(client, good, boss, "resolve", resolution_summary="Fixed", root_cause="human_error")
    # ... and one critical acknowledged after 3 h (first response breached), never resolved.
    with time_machine.travel(october + 20 * H, tick=False):
        late = intake(severity="critical")["id"]
    with time_machine.travel(october + 23 * H, tick=False):
        move(client, late, boss, "acknowledge")
    # November: one low complaint, still new (nothing decided yet).
    with time_machine.travel(T0, tick=False):
        intake(severity="low")
    with time_machine.travel(T0 + 2 * H, tick=False):
        response = client.get(
            "/api/v1/complaints/statistics?first_month=2026-09&months=3&timezone=UTC",
            headers=executive,
        )
    assert response.status_code == 200, response.json
    stats = response.json
    assert stats["open_by_severity"] == {"low": 1, "medium": 0, "high": 0, "critical": 1}
    assert stats["open_by_state"]["new"] == 1 and stats["open_by_state"]["acknowledged"] == 1
    september, october_row, november = stats["months"]
    assert september == {
        "month": "2026-09",
        "received": 0,
        "breached": 0,
        "breach_rate": None,
        "median_minutes_to_first_response": None,
        "median_minutes_to_resolution": None,
        "first_response_compliance": None,
        "resolution_compliance": None,
    }
    assert october_row["received"] == 2
    assert october_row["breached"] == 1
    assert october_row["breach_rate"] == 0.5
    assert october_row["median_minutes_to_first_response"] == 150.0  # 2 h and 3 h
    assert october_row["median_minutes_to_resolution"] == 600.0
    assert october_row["first_response_compliance"] == 0.5
    # the critical one ran 24 h unresolved by November: breached; the high one met
    assert october_row["resolution_compliance"] == 0.5
    assert november["received"] == 1 and november["breach_rate"] == 0.0
    assert november["first_response_compliance"] is None
    assert stats["median_minutes_to_first_response"] == 150.0
    bad = client.get("/api/v1/complaints/statistics?first_month=2026-13", headers=executive)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "first_month"
    zone = client.get("/api/v1/complaints/statistics?timezone=Mars/Base", headers=executive)
    assert zone.status_code == 422
    assert (
        client.get("/api/v1/complaints/statistics", headers=staff_member("agent")[1]).status_code
        == 403
    )
