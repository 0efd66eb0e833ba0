"""The command line: staff users and tokens, the first admin, demo data.

Commands run through the ``runner`` against the test database; their transaction joins the test's
through a savepoint, so what they commit is seen by ``session`` and ``client``.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import demo
from monitor.accounts import services as accounts
from monitor.accounts.models import Account, Contact
from monitor.staff.models import ApiToken, StaffUser

TOKEN = re.compile(r"mon_[A-Za-z0-9_-]{20,}")
HAN = re.compile(r"[\u4e00-\u9fff]")


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def flask(runner: Any, command: str, input: str | None = None) -> Any:
    """``flask --app wsgi COMMAND`` against the test database."""
    return runner.invoke(args=shlex.split(command), input=input)


def me(client: Any, token: str) -> Any:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_create_user_then_issue_token_that_authenticates(runner, client):
    created = flask(
        runner, "users create Li.Na@Example.com --name 李娜 --role agent --role finance"
    )
    assert created.exit_code == 0, created.output
    assert "<li.na@example.com> roles: agent, finance" in created.output
    assert not TOKEN.search(created.output)

    issued = flask(runner, "users token li.na@example.com --name laptop")
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    assert TOKEN.fullmatch(token)

    response = me(client, token)
    assert response.status_code == 200, response.json
    assert response.json["email"] == "li.na@example.com"
    assert response.json["name"] == "李娜"
    assert response.json["roles"] == ["agent", "finance"]

    listed = flask(runner, "users list")
    assert listed.exit_code == 0 and "li.na@example.com" in listed.output
    assert "agent,finance" in listed.output


def test_create_with_token_option_prints_it_once(runner, client):
    result = flask(
        runner, "users create ceo@example.com --name CEO --role executive --token reports"
    )
    assert result.exit_code == 0, result.output
    [token] = TOKEN.findall(result.output)
    assert me(client, token).json["roles"] == ["executive"]


def test_create_with_password_then_exchange_it_for_a_token(runner, client):
    password = "correct horse battery"
    result = flask(
        runner,
        "users create fin@example.com --name Fin --role finance --password",
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.output
    issued = client.post(
        "/api/v1/auth/token",
        json={"email": "fin@example.com", "password": password, "name": "laptop"},
    )
    assert issued.status_code == 201, issued.json
    assert me(client, issued.json["token"]).status_code == 200


def test_short_password_is_refused_and_nothing_stored(runner, session):
    result = flask(
        runner,
        "users create fin@example.com --name Fin --role finance --password",
        input="short\nshort\n",
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert count(session, StaffUser) == 0


def test_invalid_email_fails_with_a_message_and_stores_nothing(runner, session):
    result = flask(runner, "users create not-an-email --name X --role admin")
    assert result.exit_code != 0
    assert "Error: email:" in result.output
    assert "Traceback" not in result.output
    assert count(session, StaffUser) == 0


def test_unknown_role_fails_with_a_message_and_stores_nothing(runner, session):
    result = flask(runner, "users create boss@example.com --name X --role boss")
    assert result.exit_code != 0
    assert "Invalid value for '--role'" in result.output and "'boss'" in result.output
    assert count(session, StaffUser) == 0


def test_duplicate_email_fails_whatever_its_case(runner, session):
    first = flask(runner, "users create vp@example.com --name VP --role manager")
    assert first.exit_code == 0, first.output
    again = flask(runner, "users create VP@Example.com --name Other --role agent")
    assert again.exit_code != 0
    assert "a staff user with email vp@example.com exists" in again.output
    assert "Traceback" not in again.output
    assert count(session, StaffUser) == 1
    assert session.scalar(select(StaffUser.name)) == "VP"


def test_token_for_unknown_email_fails(runner, session):
    result = flask(runner, "users token nobody@example.com")
    assert result.exit_code != 0
    assert "no staff user with email nobody@example.com" in result.output
    assert count(session, ApiToken) == 0


def test_ensure_admin_creates_the_first_admin_once(runner, client, session):
    first = flask(runner, "users ensure-admin")
    assert first.exit_code == 0, first.output
    [token] = TOKEN.findall(first.output)
    assert me(client, token).json["roles"] == ["admin"]
    assert me(client, token).json["email"] == "admin@example.com"

    second = flask(runner, "users ensure-admin")
    assert second.exit_code == 0, second.output
    assert "staff users exist" in second.output
    assert not TOKEN.search(second.output)
    assert count(session, StaffUser) == 1
    assert count(session, ApiToken) == 1


def test_ensure_admin_refuses_an_invalid_email(runner, session):
    result = flask(runner, "users ensure-admin --email admin")
    assert result.exit_code != 0 and "Error: email:" in result.output
    assert count(session, StaffUser) == 0


def test_revoked_token_stops_working(runner, client, session):
    created = flask(runner, "users create a@example.com --name A --role agent --token laptop")
    [token] = TOKEN.findall(created.output)
    assert me(client, token).status_code == 200
    token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "laptop"))

    revoked = flask(runner, f"users revoke-token {token_id}")
    assert revoked.exit_code == 0, revoked.output
    assert f"token {token_id} (" in revoked.output and "revoked at" in revoked.output

    refused = me(client, token)
    assert refused.status_code == 401
    assert refused.content_type == "application/problem+json"


def test_revoking_an_unknown_token_fails(runner):
    result = flask(runner, "users revoke-token 999999")
    assert result.exit_code != 0
    assert "token 999999 not found" in result.output


def _demo_names(session: Session) -> list[tuple[str, str, list[str]]]:
    accounts_ = session.scalars(select(Account).order_by(Account.code)).all()
    return [(a.code, a.name, sorted(c.name for c in a.contacts)) for a in accounts_]


def test_demo_load_creates_a_varied_book_of_accounts(runner, session):
    result = flask(runner, "demo load --seed 1 --accounts 30")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("30 accounts, ")

    accounts_ = session.scalars(select(Account)).all()
    assert len(accounts_) == 30
    assert all(a.code.startswith("D001-") for a in accounts_)
    names = [a.name for a in accounts_]
    assert any(HAN.search(n) for n in names), names
    assert any(n.isascii() for n in names), names
    assert {a.account_class.value for a in accounts_} == {"A", "B", "C"}
    assert {a.currency for a in accounts_} > {"CNY"}

    contacts = session.scalars(select(Contact)).all()
    assert {c.role.value for c in contacts} >= {"user", "buyer", "decider", "finance"}
    assert {c.language.value for c in contacts} == {"en", "zh"}
    assert any(HAN.search(c.name) for c in contacts)
    assert any(c.name.isascii() for c in contacts)
    assert f"{len(contacts)} contacts" in result.output
    # Demo staff own the accounts, so the book has managers and finance people to work with.
    assert count(session, StaffUser) == len(demo._DEMO_STAFF)
    assert all(a.owner_id is not None for a in accounts_)


def test_demo_same_seed_same_data_other_seed_other_data(runner, session):
    # A first generation, rolled back, so that the command below starts from the same empty book.
    first = session.begin_nested()
    demo.generate(session, seed=1, accounts=30)
    expected = _demo_names(session)
    first.rollback()
    assert count(session, Account) == 0

    result = flask(runner, "demo load --seed 1 --accounts 30")
    assert result.exit_code == 0, result.output
    assert _demo_names(session) == expected

    other = flask(runner, "demo load --seed 2 --accounts 30")
    assert other.exit_code == 0, other.output
    seed_two = [row for row in _demo_names(session) if row[0].startswith("D002-")]
    assert len(seed_two) == 30
    assert [name for _, name, _ in seed_two] != [name for _, name, _ in expected]


def test_demo_load_of_a_loaded_seed_is_refused_with_a_message(runner, session):
    assert flask(runner, "demo load --seed 3 --accounts 2").exit_code == 0
    again = flask(runner, "demo load --seed 3 --accounts 2")
    assert again.exit_code != 0
    assert "demo data of seed 3 is loaded already" in again.output
    assert "Traceback" not in again.output
    assert count(session, Account) == 2


def test_demo_load_if_empty(runner, session):
    loaded = flask(runner, "demo load --if-empty --accounts 3")
    assert loaded.exit_code == 0, loaded.output
    assert count(session, Account) == 3

    skipped = flask(runner, "demo load --if-empty --seed 9 --accounts 5")
    assert skipped.exit_code == 0, skipped.output
    assert "accounts exist; demo data not loaded" in skipped.output
    assert count(session, Account) == 3


def test_demo_load_if_empty_leaves_a_real_book_alone(runner, session):
    accounts.create_account(
        session,
        code="SH-0001",
        name="上海华能电力有限公司",
        account_class="A",
        account_type="repeat",
        currency="CNY",
        timezone="Asia/Shanghai",
    )
    session.commit()
    result = flask(runner, "demo load --if-empty")
    assert result.exit_code == 0, result.output
    assert "demo data not loaded" in result.output
    assert count(session, Account) == 1
    assert count(session, StaffUser) == 0


def test_periodic_jobs_can_be_listed_and_run_in_process(runner, session):
    from datetime import timedelta

    import time_machine

    from monitor.db import utcnow
    from monitor.email.models import DeliveryStatus, OutboxMessage
    from monitor.email.services import queue_email

    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0 and "requeue_stalled_email" in listed.output

    message = queue_email(session, "buyer@example.com", "Statement", "Hello")
    session.commit()  # in-process delivery writes the .eml and marks it sent
    session.refresh(message)
    assert message.status == DeliveryStatus.SENT
    message.status = DeliveryStatus.QUEUED  # as if that in-process delivery had been lost
    session.commit()
    with time_machine.travel(utcnow() + timedelta(hours=1)):
        ran = runner.invoke(args=["jobs", "run", "requeue_stalled_email"])
    assert ran.exit_code == 0, ran.output
    assert ran.output.strip() == "requeue_stalled_email: 1"
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == DeliveryStatus.SENT

    unknown = runner.invoke(args=["jobs", "run", "nope"])
    assert unknown.exit_code != 0 and "no periodic job 'nope'" in unknown.output
