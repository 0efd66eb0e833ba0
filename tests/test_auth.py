"""Staff tokens and passwords: shown once, stored hashed, revocable, expiring, last use kept."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import time_machine
from sqlalchemy import select

from monitor.db import utcnow
from monitor.staff import services as staff
from monitor.staff.models import ApiToken


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_is_stored_only_as_a_hash(session, make_staff):
    user, token = make_staff("agent")
    stored = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored.prefix, stored.name, stored.token_hash)
    assert token.startswith(stored.prefix)


def test_me_and_last_used_time(client, session, make_staff):
    user, token = make_staff("finance", "manager")
    me = client.get("/api/v1/me", headers=_bearer(token))
    assert me.status_code == 200
    assert me.json["email"] == user.email and me.json["roles"] == ["finance", "manager"]
    stored = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    session.refresh(stored)
    assert stored.last_used_at is not None


def test_create_list_and_revoke_own_token(client, make_staff):
    _, token = make_staff("agent")
    created = client.post("/api/v1/me/tokens", json={"name": "laptop"}, headers=_bearer(token))
    assert created.status_code == 201
    new_token = created.json["token"]
    listed = client.get("/api/v1/me/tokens", headers=_bearer(new_token)).json["items"]
    assert {t["name"] for t in listed} == {"test", "laptop"}
    assert all("token" not in t for t in listed)  # shown once, never listed
    revoked = client.delete(f"/api/v1/me/tokens/{created.json['id']}", headers=_bearer(token))
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert client.get("/api/v1/me", headers=_bearer(new_token)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200


def test_cannot_revoke_someone_elses_token(client, session, make_staff):
    victim, victim_token = make_staff("executive")
    _, token = make_staff("agent")
    victim_token_id = session.scalars(
        select(ApiToken.id).where(ApiToken.user_id == victim.id)
    ).one()
    response = client.delete(f"/api/v1/me/tokens/{victim_token_id}", headers=_bearer(token))
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=_bearer(victim_token)).status_code == 200


def test_expired_token_and_inactive_user_are_refused(client, session, make_staff):
    user, token = make_staff("agent")
    _, expiring = staff.create_token(
        session, user, "short", expires_at=utcnow() + timedelta(hours=1)
    )
    session.commit()
    assert client.get("/api/v1/me", headers=_bearer(expiring)).status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        assert client.get("/api/v1/me", headers=_bearer(expiring)).status_code == 401
    staff.update_user(session, user, active=False)
    session.commit()
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_password_login_issues_a_token_and_hash_is_argon2(client, session):
    user = staff.create_user(
        session, "vp@example.com", "VP", ["manager"], password="correct horse battery"
    )
    session.commit()
    assert user.password_hash.startswith("$argon2id$")
    wrong = client.post(
        "/api/v1/auth/token",
        json={"email": "vp@example.com", "password": "nope", "name": "x"},
    )
    assert wrong.status_code == 401
    ok = client.post(
        "/api/v1/auth/token",
        json={"email": "VP@example.com", "password": "correct horse battery", "name": "phone"},
    )
    assert ok.status_code == 201
    assert (
        client.get("/api/v1/me", headers=_bearer(ok.json["token"])).json["email"]
        == "vp@example.com"
    )


def test_password_guessing_is_rate_limited_per_email(client, session):
    staff.create_user(session, "cfo@example.com", "CFO", ["finance"], password="right password 1")
    session.commit()
    attempt = {"email": "cfo@example.com", "password": "guess", "name": "x"}
    for _ in range(10):
        assert client.post("/api/v1/auth/token", json=attempt).status_code == 401
    limited = client.post("/api/v1/auth/token", json=attempt | {"password": "right password 1"})
    assert limited.status_code == 429
    assert limited.content_type == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 900
    # another account from the same address is not locked out
    other = client.post(
        "/api/v1/auth/token", json={"email": "x@example.com", "password": "p", "name": "x"}
    )
    assert other.status_code == 401


def test_admin_manages_users_and_role_changes_are_in_history(client, auth):
    admin = auth("admin")
    created = client.post(
        "/api/v1/users",
        json={"email": "new.agent@example.com", "name": "新 客服", "roles": ["agent"]},
        headers=admin,
    )
    assert created.status_code == 201 and created.json["roles"] == ["agent"]
    user_id = created.json["id"]
    dup = client.post(
        "/api/v1/users",
        json={"email": "NEW.agent@example.com", "name": "x", "roles": ["agent"]},
        headers=admin,
    )
    assert dup.status_code == 409 and dup.json["errors"][0]["field"] == "email"
    changed = client.patch(
        f"/api/v1/users/{user_id}", json={"roles": ["agent", "manager"]}, headers=admin
    )
    assert changed.json["roles"] == ["agent", "manager"]
    history = client.get(f"/api/v1/users/{user_id}/history", headers=admin).json["events"]
    assert history[-1]["changes"] == {"roles": [["agent"], ["agent", "manager"]]}
    assert all("password" not in str(e["changes"]) for e in history)
    managers = client.get("/api/v1/users?role=manager", headers=admin).json
    assert user_id in [u["id"] for u in managers["items"]]
