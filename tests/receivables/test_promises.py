"""Promises to pay: the ladder waits until the promised date plus grace; a kept promise ends
the wait, a broken one escalates at once. Time is frozen: the API and the job use today."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import event, func, select

from monitor.accounts.services import create_contact
from receivables import aging, ladder, ledger
from receivables.escalation_models import EscalationStep, PromiseState, PromiseToPay
from receivables.jobs import run_escalation_ladder

ISSUED = date(2026, 8, 3)
DUE = ISSUED + timedelta(days=30)


def day(n: int) -> date:
    return DUE + timedelta(days=n)


@contextmanager
def on(business_day: date) -> Iterator[None]:
    with time_machine.travel(
        datetime.combine(business_day, datetime.min.time(), UTC) + timedelta(hours=9), tick=False
    ):
        yield


@pytest.fixture
def account(session, make_account, invoice):
    account = make_account()
    create_contact(
        session, account, name="Bob", email="bob@debtor.example", role="buyer", language="en"
    )
    invoice(account, "INV-1", ISSUED, "5000.00")
    session.commit()
    return account


@pytest.fixture
def finance(auth):
    return auth("finance")


def levels(session, account_id: int) -> list[tuple[int, str]]:
    return [
        (s.level, s.trigger.value)
        for s in session.scalars(
            select(EscalationStep)
            .where(EscalationStep.account_id == account_id)
            .order_by(EscalationStep.id)
        )
    ]


def promise(client, headers, account_id: int, **body):
    return client.post(
        f"/api/v1/receivables/accounts/{account_id}/promises",
        json={"amount": "5000.00", **body},
        headers=headers,
    )


def test_a_promise_pauses_the_ladder_until_its_date_plus_grace(client, session, account, finance):
    with on(day(1)):
        run_escalation_ladder()
    with on(day(10)):
        response = promise(client, finance, account.id, promised_date=str(day(20)), grace_days=3)
        assert response.status_code == 201, response.json
        assert response.json["state"] == "open"
        assert response.json["made_on"] == str(day(10))
        status = client.get(
            f"/api/v1/receivables/accounts/{account.id}/escalation", headers=finance
        ).json
        assert status["pause"] == {
            "reason": "promise_to_pay",
            "until": str(day(23)),
            "ref_id": response.json["id"],
        }
        assert status["next_action"]["due_on"] == str(day(24))
    for n in (15, 20, 23):  # level 2 would be due at 15 days; the promise holds it
        with on(day(n)):
            assert "1 paused" in run_escalation_ladder()
    assert levels(session, account.id) == [(1, "days_past_due")]
    with on(day(24)):
        assert "promises 0 kept / 1 broken" in run_escalation_ladder()
    assert levels(session, account.id) == [(1, "days_past_due"), (2, "broken_promise")]
    assert session.scalar(select(PromiseToPay.state)) is PromiseState.BROKEN


def test_a_broken_promise_escalates_at_once_before_the_days_would(
    client, session, account, finance
):
    with on(day(2)):
        run_escalation_ladder()
        assert promise(client, finance, account.id, promised_date=str(day(5))).status_code == 201
    with on(day(8)):  # the default grace of 3 days ends today
        run_escalation_ladder()
    assert levels(session, account.id) == [(1, "days_past_due")]
    with on(day(9)):
        run_escalation_ladder()
        run_escalation_ladder()  # twice: still one step
    # 9 days past due warrants level 1 only; the broken promise moves it to level 2 now
    assert levels(session, account.id) == [(1, "days_past_due"), (2, "broken_promise")]
    step = session.scalars(select(EscalationStep).order_by(EscalationStep.id.desc())).first()
    assert step.note == "promise to pay broken"


def test_a_kept_promise_ends_the_pause_without_escalating(
    client, session, account, finance, pay, invoice
):
    invoice(account, "INV-2", day(-25), "1000.00")  # due 5 days after DUE
    with on(day(2)):
        run_escalation_ladder()
        assert (
            promise(
                client, finance, account.id, amount="5000.00", promised_date=str(day(12))
            ).status_code
            == 201
        )
    pay(account, "5000.00", day(11), "PAY-1")
    session.commit()
    with on(day(12)):
        assert "promises 1 kept / 0 broken" in run_escalation_ladder()
    assert session.scalar(select(PromiseToPay.state)) is PromiseState.KEPT
    # INV-2 is still overdue (10 days): the ladder goes on by days past due, no jump
    assert levels(session, account.id) == [(1, "days_past_due")]
    with on(day(20)):  # INV-2 is 15 days past due now
        run_escalation_ladder()
    assert levels(session, account.id) == [(1, "days_past_due"), (2, "days_past_due")]


def test_one_open_promise_per_account_and_cancelling(client, session, account, finance):
    with on(day(3)):
        first = promise(client, finance, account.id, promised_date=str(day(9)))
        second = promise(client, finance, account.id, promised_date=str(day(12)))
        assert second.status_code == 409
        assert second.json["errors"][0]["field"] == "promised_date"
        cancelled = client.post(
            f"/api/v1/receivables/promises/{first.json['id']}/cancel", headers=finance
        )
        assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
        assert (
            client.post(
                f"/api/v1/receivables/promises/{first.json['id']}/cancel", headers=finance
            ).status_code
            == 409
        )
        assert promise(client, finance, account.id, promised_date=str(day(12))).status_code == 201
        listing = client.get(f"/api/v1/receivables/accounts/{account.id}/promises", headers=finance)
        assert [p["state"] for p in listing.json["items"]] == ["open", "cancelled"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"promised_date": "2026-09-01"}, "promised_date"),  # in the past
        ({"promised_date": "2030-01-01"}, "promised_date"),  # more than a year ahead
        ({"promised_date": "13/10/2026"}, "promised_date"),
        ({"amount": "-5.00", "promised_date": "2026-10-20"}, "amount"),
        ({"amount": "0", "promised_date": "2026-10-20"}, "amount"),
        ({"amount": "12.345", "promised_date": "2026-10-20"}, "amount"),
        ({"amount": 500.5, "promised_date": "2026-10-20"}, "amount"),
        ({"amount": "lots", "promised_date": "2026-10-20"}, "amount"),
        ({"currency": "EUR", "promised_date": "2026-10-20"}, "currency"),
        ({"currency": "XYZ", "promised_date": "2026-10-20"}, "currency"),
        ({"grace_days": 61, "promised_date": "2026-10-20"}, "grace_days"),
        ({"promised_date": "2026-10-20", "note": ""}, "note"),
    ],
)
def test_bad_promises_name_the_field_and_store_nothing(
    client, session, account, finance, body, field
):
    with on(date(2026, 10, 10)):
        response = client.post(
            f"/api/v1/receivables/accounts/{account.id}/promises",
            json={"amount": "100.00", **body},
            headers=finance,
        )
    assert response.status_code == 422, response.json
    assert field in {e["field"] for e in response.json["errors"]}
    assert session.scalar(select(func.count()).select_from(PromiseToPay)) == 0


def test_promise_for_an_unknown_account_is_404(client, finance):
    response = client.post(
        "/api/v1/receivables/accounts/999999/promises",
        json={"amount": "1.00", "promised_date": "2099-01-01"},
        headers=finance,
    )
    assert response.status_code == 404


def test_only_finance_records_promises(client, auth, account):
    with on(day(3)):
        for role in ("manager", "executive", "agent"):
            response = promise(client, auth(role), account.id, promised_date=str(day(9)))
            assert response.status_code == 403, role
        url = f"/api/v1/receivables/accounts/{account.id}/promises"
        assert client.get(url, headers=auth("executive")).status_code == 200
        assert client.get(url, headers=auth("agent")).status_code == 403


def test_an_account_with_a_promise_is_kept_for_the_record(client, auth, session, make_account):
    account = make_account()
    session.commit()
    with on(day(3)):
        response = promise(client, auth("finance"), account.id, promised_date=str(day(9)))
        assert response.status_code == 201
    deleted = client.delete(f"/api/v1/accounts/{account.id}", headers=auth("admin"))
    assert deleted.status_code == 409
    assert "escalation history" in deleted.json["detail"]


@contextmanager
def statements_run(session) -> Iterator[list[str]]:
    """The SQL statements ``session`` sends to the database meanwhile (savepoints aside)."""
    connection = session.connection()
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            sent.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", record)


def test_open_promises_are_settled_together_in_a_few_queries(session, make_account, invoice, pay):
    """Only payments received since the promise was made, and not reversed, keep it; reading
    every open promise with its payments is one query, each outcome one conditional update."""
    debtors = {name: make_account() for name in ("kept", "early", "reversed", "waiting", "silent")}
    for n, account in enumerate(debtors.values()):
        invoice(account, f"INV-{n}", ISSUED, "5000.00")
    pay(debtors["early"], "1000.00", day(1), "PAY-EARLY")  # before the promise: not towards it
    promises = {
        name: ladder.make_promise(
            session,
            account.id,
            amount=Decimal("1000.00"),
            promised_date=day(20) if name == "waiting" else day(5),
            as_of=day(2),
        )
        for name, account in debtors.items()
    }
    pay(debtors["kept"], "1000.00", day(4), "PAY-KEPT")
    bounced = pay(debtors["reversed"], "1000.00", day(3), "PAY-BOUNCED")
    ledger.reverse_payment(session, bounced, reversed_on=day(4), reason="cheque bounced")
    session.flush()
    overdue = {
        row.account_id: ladder.Overdue(
            row.days_past_due, row.overdue_amount, row.open_amount, row.currency
        )
        for row in aging.overdue_accounts(session, day(9))
    }
    assert set(overdue) == {account.id for account in debtors.values()}  # all still overdue

    result = ladder.LadderRun(day(9))
    with statements_run(session) as sent:
        broken = ladder._settle_promises(session, day(9), overdue, result)
    assert len(sent) == 3, sent
    assert (result.promises_kept, result.promises_broken) == (1, 3)
    assert broken == {debtors[name].id for name in ("early", "reversed", "silent")}
    # the promises already loaded in the session show what was stored, without a reload
    assert {name: p.state for name, p in promises.items()} == {
        "kept": PromiseState.KEPT,
        "early": PromiseState.BROKEN,
        "reversed": PromiseState.BROKEN,
        "waiting": PromiseState.OPEN,
        "silent": PromiseState.BROKEN,
    }
    assert promises["waiting"].resolved_at is None
    assert all(p.resolved_at is not None for n, p in promises.items() if n != "waiting")
    session.expire_all()
    stored = dict(session.execute(select(PromiseToPay.id, PromiseToPay.state)).all())
    assert stored == {p.id: p.state for p in promises.values()}

    again = ladder.LadderRun(day(9))
    with statements_run(session) as sent:
        assert ladder._settle_promises(session, day(9), overdue, again) == set()
    assert len(sent) == 1, sent  # only the waiting promise is open, and it waits
    assert (again.promises_kept, again.promises_broken) == (0, 0)
