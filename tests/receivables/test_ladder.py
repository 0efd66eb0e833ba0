"""The escalation ladder: levels by days past due, each acting once per cycle, the reminder
email with its statement, the actions of the upper levels, overrides and the status API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from monitor.accounts.models import Account
from monitor.accounts.services import create_contact
from monitor.email.models import OutboxMessage
from monitor.staff import services as staff
from receivables import ladder, ledger
from receivables.escalation_models import (
    ActionKind,
    EscalationAction,
    EscalationState,
    EscalationStep,
    PromiseState,
    PromiseToPay,
    StepTrigger,
    TaskState,
)
from receivables.jobs import run_escalation_ladder

ISSUED = date(2026, 8, 3)
DUE = ISSUED + timedelta(days=30)  # the default terms: net 30


def day(n: int) -> date:
    """``n`` days past the invoice's due date."""
    return DUE + timedelta(days=n)


@dataclass
class Debtor:
    account: Account
    owner: Any
    buyer_email: str
    finance_email: str


@pytest.fixture
def debtor(session: Session, make_account: Callable[..., Account], invoice: Any) -> Debtor:
    """An account with an owner, an English buyer, a Chinese finance contact and an invoice of
    12,000.00 CNY due on ``DUE``; plus a finance clerk and a senior manager on the staff."""
    owner = staff.create_user(session, "owner@staff.test", "Olivia Owner", ["agent"])
    staff.create_user(session, "clerk@staff.test", "Frank Finance", ["finance"])
    manager = staff.create_user(session, "vp@staff.test", "王总", ["manager"])
    manager.language = "zh"
    account = make_account(owner_id=owner.id, name="上海华能电力有限公司")
    create_contact(
        session,
        account,
        name="Bob Buyer",
        email="bob@huaneng.example",
        role="buyer",
        language="en",
    )
    create_contact(
        session, account, name="王芳", email="wang@huaneng.example", role="finance", language="zh"
    )
    create_contact(
        session, account, name="Uma User", email="uma@huaneng.example", role="user", language="en"
    )
    invoice(account, "INV-7001", ISSUED, "12000.00")
    session.flush()
    return Debtor(account, owner, "bob@huaneng.example", "wang@huaneng.example")


def steps(session: Session, account_id: int) -> list[tuple[int, int, str]]:
    return [
        (s.cycle, s.level, s.trigger.value)
        for s in session.scalars(
            select(EscalationStep)
            .where(EscalationStep.account_id == account_id)
            .order_by(EscalationStep.id)
        )
    ]


def outbox(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def actions(session: Session, account_id: int) -> list[EscalationAction]:
    return list(
        session.scalars(
            select(EscalationAction)
            .where(EscalationAction.account_id == account_id)
            .order_by(EscalationAction.id)
        )
    )


# --- the policy ---------------------------------------------------------------------------------


def test_the_default_ladder_is_data_with_the_practice_thresholds():
    assert [(lv.number, lv.days_past_due) for lv in ladder.LADDER.levels] == [
        (1, 1),
        (2, 15),
        (3, 30),
        (4, 60),
        (5, 90),
    ]
    assert ActionKind.CREDIT_HOLD in ladder.LADDER.level(4).actions
    assert [ladder.LADDER.warranted(d) for d in (0, 1, 14, 15, 29, 30, 59, 60, 89, 90, 400)] == [
        0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5,
    ]  # fmt: skip


def test_a_custom_policy_changes_the_thresholds(session, debtor):
    quick = ladder.LadderPolicy(
        levels=(ladder.Level(1, 5, "reminder", "提醒", (ActionKind.REMINDER_EMAIL,)),)
    )
    assert ladder.run(session, day(4), quick).escalated == 0
    assert ladder.run(session, day(5), quick).escalated == 1
    assert steps(session, debtor.account.id) == [(1, 1, "days_past_due")]


# --- the daily run ------------------------------------------------------------------------------


def test_nothing_happens_before_the_due_date_passes(session, debtor):
    assert ladder.run(session, day(0)).escalated == 0
    assert steps(session, debtor.account.id) == []
    assert outbox(session) == []


def test_inactive_accounts_are_not_dunned(session, debtor):
    debtor.account.active = False
    assert ladder.run(session, day(40)).escalated == 0
    assert outbox(session) == []


def test_the_ladder_run_twice_acts_once(session, debtor):
    first = ladder.run(session, day(1))
    assert (first.escalated, first.steps) == (1, 1)
    sent = outbox(session)
    assert sorted(m.recipient for m in sent) == [debtor.buyer_email, debtor.finance_email]

    again = ladder.run(session, day(1))
    assert (again.escalated, again.steps) == (0, 0)
    assert len(outbox(session)) == 2
    assert steps(session, debtor.account.id) == [(1, 1, "days_past_due")]
    assert len(actions(session, debtor.account.id)) == 1

    # the next days move nothing until level 2 is due at 15 days
    for n in (2, 10, 14):
        assert ladder.run(session, day(n)).steps == 0
    assert ladder.run(session, day(15)).steps == 1
    assert ladder.run(session, day(15)).steps == 0
    assert steps(session, debtor.account.id) == [(1, 1, "days_past_due"), (1, 2, "days_past_due")]


def test_the_daily_job_runs_as_of_today_and_twice_acts_once(session, debtor):
    with time_machine.travel(datetime.combine(day(1), datetime.min.time(), UTC), tick=False):
        assert "1 escalated" in run_escalation_ladder()
        assert "0 escalated" in run_escalation_ladder()
    assert steps(session, debtor.account.id) == [(1, 1, "days_past_due")]
    [step] = session.scalars(select(EscalationStep))
    assert (step.actor_kind, step.actor_label) == ("system", "job:run_escalation_ladder")
    assert step.occurred_at == datetime.combine(day(1), datetime.min.time(), UTC)
    assert len(outbox(session)) == 2


def test_the_reminder_carries_the_statement_in_the_contacts_language(session, debtor, invoice):
    invoice(debtor.account, "INV-7002", day(0), "800.50")  # open, not yet due
    ladder.run(session, day(3))
    by_recipient = {m.recipient: m for m in outbox(session)}
    english, chinese = by_recipient[debtor.buyer_email], by_recipient[debtor.finance_email]

    assert english.subject == (f"Statement of account {debtor.account.code}: 12,000.00 CNY overdue")
    assert "Dear Bob Buyer" in english.text_body
    assert "INV-7001" in english.text_body and "INV-7002" in english.text_body
    assert "12,000.00" in english.text_body and "not yet due" in english.text_body
    assert "Total open: 12,800.50 CNY" in english.text_body
    assert "<td>INV-7001</td>" in english.html_body
    assert '<td align="right">3</td>' in english.html_body  # days past due

    assert chinese.subject == f"对账单 {debtor.account.code}：逾期款项 12,000.00 CNY"
    assert "王芳，您好" in chinese.text_body
    assert "未结合计：12,800.50 CNY" in chinese.text_body
    assert "上海华能电力有限公司" in chinese.html_body
    assert "<td>INV-7001</td>" in chinese.html_body
    # statements go to buyers and finance contacts only
    assert "uma@huaneng.example" not in by_recipient
    # each reminder carries the statement as a PDF, in the contact's language
    for message, marker in ((english, "INV-7001"), (chinese, "上海华能电力有限公司")):
        [attachment] = message.attachments
        assert attachment["content_type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(attachment["path"]).pages)
        assert marker in text and "12,800.50" in text


def test_html_in_names_is_escaped_in_the_statement(session, make_account, invoice):
    account = make_account(name="<script>x</script> Ltd")
    create_contact(
        session, account, name="<b>Eve</b>", email="eve@x.example", role="buyer", language="en"
    )
    invoice(account, "INV-<1>", ISSUED, "10.00")
    ladder.run(session, day(1))
    [message] = outbox(session)
    assert "<script>" not in message.html_body and "&lt;script&gt;" in message.html_body
    assert "&lt;b&gt;Eve&lt;/b&gt;" in message.html_body


def test_an_account_without_statement_contacts_gets_a_task_instead(session, make_account, invoice):
    account = make_account()
    invoice(account, "INV-1", ISSUED, "10.00")
    ladder.run(session, day(1))
    [action] = actions(session, account.id)
    assert action.kind is ActionKind.REMINDER_EMAIL
    assert action.task_state is TaskState.OPEN
    assert "no buyer or finance contact" in action.summary
    assert outbox(session) == []


def test_a_far_overdue_account_climbs_every_level_once_with_their_actions(session, debtor):
    result = ladder.run(session, day(95))
    assert (result.escalated, result.steps) == (1, 5)
    assert [level for _, level, _ in steps(session, debtor.account.id)] == [1, 2, 3, 4, 5]
    done = actions(session, debtor.account.id)
    assert [a.kind for a in done] == [
        ActionKind.REMINDER_EMAIL,
        ActionKind.CALL_TASK,
        ActionKind.FORMAL_LETTER_TASK,
        ActionKind.NOTIFY_FINANCE,
        ActionKind.NOTIFY_MANAGERS,
        ActionKind.CREDIT_HOLD,
        ActionKind.LEGAL_REVIEW_TASK,
        ActionKind.NOTIFY_MANAGERS,
    ]
    call = done[1]
    assert (call.task_state, call.assignee_id) == (TaskState.OPEN, debtor.owner.id)
    assert "PDF" in done[2].summary and done[2].task_state is TaskState.OPEN
    letters = [m for m in outbox(session) if "-letter-" in m.dedup_key]
    assert sorted(m.recipient for m in letters) == sorted(
        [debtor.buyer_email, debtor.finance_email]
    )
    assert all(m.attachments[0]["content_type"] == "application/pdf" for m in letters)
    assert done[6].task_state is TaskState.OPEN
    assert ledger.credit_hold(session, debtor.account.id)

    recipients = [m.recipient for m in outbox(session)]
    assert recipients.count("owner@staff.test") == 1  # the call task
    assert recipients.count("clerk@staff.test") == 1  # L3: the finance team
    assert recipients.count("vp@staff.test") == 2  # L4 and L5: the senior manager
    manager_notice = next(m for m in outbox(session) if m.recipient == "vp@staff.test")
    assert "高层升级与信用冻结" in manager_notice.subject  # the manager reads Chinese

    before = len(outbox(session))
    assert ladder.run(session, day(96)).steps == 0
    assert len(outbox(session)) == before


def test_a_paid_account_starts_a_new_cycle_and_is_reminded_again_when_late_again(
    session, debtor, invoice, pay
):
    ladder.run(session, day(20))
    pay(debtor.account, "12000.00", day(21), "PAY-1")
    assert ladder.run(session, day(22)).cleared == 1
    state = session.get(EscalationState, debtor.account.id)
    assert (state.level, state.cycle) == (0, 2)

    invoice(debtor.account, "INV-7003", day(22), "500.00")  # due 30 days later
    ladder.run(session, day(53))
    assert steps(session, debtor.account.id) == [
        (1, 1, "days_past_due"),
        (1, 2, "days_past_due"),
        (2, 0, "cleared"),
        (2, 1, "days_past_due"),
    ]


def test_the_unique_step_refuses_a_level_twice_in_one_cycle(session, debtor):
    ladder.run(session, day(1))
    session.add(
        EscalationStep(
            account_id=debtor.account.id, cycle=1, level=1, from_level=0,
            trigger=StepTrigger.DAYS_PAST_DUE, as_of=day(1), days_past_due=1,
            overdue_amount=Decimal("1.00"), currency="CNY", actor_kind="system",
            actor_label="other worker",
        )
    )  # fmt: skip
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


# --- two workers at once ------------------------------------------------------------------------


@pytest.fixture
def committed(committed_database_url, tmp_path):
    """An app on a database whose data is committed, so that two sessions really race."""
    from monitor.config import Config
    from tests.fixtures.background import app_context

    config = Config(
        instance_path=tmp_path / "instance",
        database_url=committed_database_url,
        secret_key="test-secret",
        base_url="http://monitor.test",
    )
    with app_context(config) as app:
        yield app


def race_second_run(app, first: Session, as_of: date) -> ladder.LadderRun | None:
    """Run the ladder in a second worker while ``first`` holds its uncommitted run, then commit
    ``first``. The second's result (PostgreSQL: it waited on the first's rows), or None when it
    was refused (SQLite: one writer at a time)."""
    from monitor import jobs

    outcome: dict[str, Any] = {}

    def second_worker() -> None:
        try:
            with app.app_context(), jobs.database().transaction() as session:
                outcome["result"] = ladder.run(session, as_of)
        except OperationalError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=second_worker)
    thread.start()
    thread.join(0.5)
    first.commit()
    first.close()
    thread.join(30)
    assert not thread.is_alive()
    if "error" in outcome:
        assert "locked" in str(outcome["error"])
    return outcome.get("result")


def test_two_runs_racing_act_once(committed):
    from monitor import jobs
    from monitor.accounts.services import create_account

    database = jobs.database()
    with database.transaction() as session:
        account = create_account(
            session, code="RACE", name="Race Ltd", account_class="A", account_type="repeat",
            currency="CNY", timezone="UTC",
        )  # fmt: skip
        create_contact(
            session, account, name="B", email="b@race.example", role="buyer", language="en"
        )
        ledger.create_invoice(
            session, account_id=account.id, number="R-1", issue_date=ISSUED, currency="CNY",
            amount=Decimal("100.00"),
        )  # fmt: skip
        account_id = account.id

    first = database.session()
    ladder.run(first, day(40))  # levels 1-3 written, not committed: its locks are held
    second = race_second_run(committed, first, day(40))
    if second is not None:
        assert second.steps == 0

    with database.transaction() as session:
        assert steps(session, account_id) == [
            (1, 1, "days_past_due"), (1, 2, "days_past_due"), (1, 3, "days_past_due"),
        ]  # fmt: skip
        to_buyer = session.scalars(
            select(OutboxMessage.dedup_key).where(OutboxMessage.recipient == "b@race.example")
        ).all()
        # the L1 reminder and the L3 formal letter, once each
        assert len(to_buyer) == 2
        assert sum("-letter-" in key for key in to_buyer) == 1
        assert ladder.run(session, day(40)).steps == 0


# --- override -----------------------------------------------------------------------------------


def test_override_up_acts_and_records_the_reason_and_the_person(client, auth, session, debtor):
    headers = auth("finance")
    with time_machine.travel(datetime.combine(day(2), datetime.min.time(), UTC), tick=False):
        response = client.post(
            f"/api/v1/receivables/accounts/{debtor.account.id}/escalation/override",
            json={"level": 4, "reason": "customer announced insolvency proceedings"},
            headers=headers,
        )
    assert response.status_code == 200, response.json
    assert response.json["level"] == 4
    assert ledger.credit_hold(session, debtor.account.id)
    recorded = session.scalars(
        select(EscalationStep).where(EscalationStep.account_id == debtor.account.id)
    ).all()
    assert [s.level for s in recorded] == [1, 2, 3, 4]
    assert {s.trigger for s in recorded} == {StepTrigger.OVERRIDE}
    assert {s.note for s in recorded} == {"customer announced insolvency proceedings"}
    assert {s.actor_label for s in recorded} == {"finance1@staff.test"}


def test_override_down_with_a_hold_starts_a_new_cycle(client, auth, session, debtor):
    ladder.run(session, day(31))
    session.commit()
    headers = auth("finance")
    with time_machine.travel(datetime.combine(day(31), datetime.min.time(), UTC), tick=False):
        response = client.post(
            f"/api/v1/receivables/accounts/{debtor.account.id}/escalation/override",
            json={"level": 1, "reason": "CFO promised a meeting", "hold_until": str(day(40))},
            headers=headers,
        )
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["level"], body["cycle"], body["hold_until"]) == (1, 2, str(day(40)))
    assert body["pause"] == {"reason": "override", "until": str(day(40)), "ref_id": None}
    assert body["next_action"]["level"] == 2
    assert body["next_action"]["due_on"] == str(day(41))

    assert ladder.run(session, day(40)).paused == 1
    result = ladder.run(session, day(41))
    assert result.steps == 2  # back to level 3: the call and the letter again, in cycle 2
    assert steps(session, debtor.account.id)[-3:] == [
        (2, 1, "override"), (2, 2, "days_past_due"), (2, 3, "days_past_due"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": 2}, "reason"),
        ({"level": 2, "reason": "  "}, "reason"),
        ({"level": 9, "reason": "x"}, "level"),
        ({"level": "2", "reason": "x"}, "level"),
        ({"level": 2, "reason": "x", "hold_until": "2020-01-01"}, "hold_until"),
        ({"level": 2, "reason": "x", "hold_until": "soon"}, "hold_until"),
        ({"level": 2, "reason": "x", "extra": 1}, "extra"),
    ],
)
def test_override_bad_input_names_the_field_and_changes_nothing(
    client, auth, session, debtor, body, field
):
    response = client.post(
        f"/api/v1/receivables/accounts/{debtor.account.id}/escalation/override",
        json=body,
        headers=auth("finance"),
    )
    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert field in {e["field"] for e in response.json["errors"]}
    assert steps(session, debtor.account.id) == []


def test_override_of_an_unknown_account_is_404(client, auth):
    response = client.post(
        "/api/v1/receivables/accounts/999999/escalation/override",
        json={"level": 1, "reason": "x"},
        headers=auth("finance"),
    )
    assert response.status_code == 404


# --- what finance sees --------------------------------------------------------------------------


def test_status_shows_level_next_action_and_its_date(client, auth, session, debtor):
    ladder.run(session, day(16))
    session.commit()
    response = client.get(
        f"/api/v1/receivables/accounts/{debtor.account.id}/escalation?as_of={day(16)}",
        headers=auth("manager"),
    )
    assert response.status_code == 200
    body = response.json
    assert (body["level"], body["level_name"], body["days_past_due"]) == (2, "call", 16)
    assert body["overdue_amount"] == "12000.00"
    assert body["pause"] is None
    assert body["next_action"] == {
        "level": 3,
        "name": "formal letter",
        "actions": ["formal_letter_task", "notify_finance"],
        "due_on": str(day(30)),
    }
    assert body["last_step"]["level"] == 2
    assert body["last_step"]["actions"][0]["kind"] == "call_task"


def test_the_list_of_escalations_and_the_steps_and_tasks(client, auth, session, debtor):
    ladder.run(session, day(31))
    session.commit()
    headers = auth("executive")
    listing = client.get(f"/api/v1/receivables/escalations?as_of={day(31)}", headers=headers)
    assert listing.status_code == 200
    assert listing.json["total"] == 1
    assert listing.json["items"][0]["level"] == 3
    assert (
        client.get(
            f"/api/v1/receivables/escalations?as_of={day(31)}&level=2", headers=headers
        ).json["total"]
        == 0
    )

    history = client.get(
        f"/api/v1/receivables/accounts/{debtor.account.id}/escalation/steps", headers=headers
    )
    assert [s["level"] for s in history.json["items"]] == [3, 2, 1]

    tasks = client.get("/api/v1/receivables/collection-tasks?state=open", headers=headers)
    kinds = [t["kind"] for t in tasks.json["items"]]
    assert kinds == ["call_task", "formal_letter_task"]

    letter = tasks.json["items"][1]
    finance = auth("finance")
    done = client.post(
        f"/api/v1/receivables/collection-tasks/{letter['id']}/complete",
        json={"note": "letter ref FL-2026-117 sent by courier"},
        headers=finance,
    )
    assert done.status_code == 200
    assert done.json["task_state"] == "done"
    again = client.post(
        f"/api/v1/receivables/collection-tasks/{letter['id']}/complete",
        json={"note": "again"},
        headers=finance,
    )
    assert again.status_code == 409
    empty = client.post(
        f"/api/v1/receivables/collection-tasks/{letter['id']}/complete",
        json={"note": ""},
        headers=finance,
    )
    assert empty.status_code == 422 and empty.json["errors"][0]["field"] == "note"
    not_a_task = next(
        a for a in actions(session, debtor.account.id) if a.kind is ActionKind.NOTIFY_FINANCE
    )
    assert (
        client.post(
            f"/api/v1/receivables/collection-tasks/{not_a_task.id}/complete",
            json={"note": "x"},
            headers=finance,
        ).status_code
        == 404
    )


@pytest.mark.parametrize("query", ["as_of=yesterday", "level=7", "level=x", "page=0"])
def test_bad_queries_name_the_parameter(client, auth, query):
    response = client.get(f"/api/v1/receivables/escalations?{query}", headers=auth("finance"))
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == query.split("=")[0]


def test_roles_finance_writes_managers_and_executives_read_agents_see_nothing(client, auth, debtor):
    url = f"/api/v1/receivables/accounts/{debtor.account.id}/escalation"
    override = {"level": 1, "reason": "test"}
    for role in ("finance", "manager", "executive", "admin"):
        assert client.get(url, headers=auth(role)).status_code == 200, role
    assert client.get(url, headers=auth("agent")).status_code == 403
    for role in ("manager", "executive", "agent"):
        response = client.post(f"{url}/override", json=override, headers=auth(role))
        assert response.status_code == 403, role
    assert client.post(f"{url}/override", json=override, headers=auth("finance")).status_code == 200


def test_two_runs_racing_settle_a_promise_once(committed):
    from monitor import jobs
    from monitor.accounts.services import create_account

    database = jobs.database()
    with database.transaction() as session:
        account = create_account(
            session, code="VOW", name="Vow Ltd", account_class="A", account_type="repeat",
            currency="CNY", timezone="UTC",
        )  # fmt: skip
        ledger.create_invoice(
            session, account_id=account.id, number="V-1", issue_date=ISSUED, currency="CNY",
            amount=Decimal("100.00"),
        )  # fmt: skip
        promise = ladder.make_promise(
            session, account.id, amount=Decimal("100.00"), promised_date=day(5), as_of=day(2)
        )
        promise_id = promise.id

    first = database.session()
    assert ladder.run(first, day(9)).promises_broken == 1  # not committed: its locks are held
    second = race_second_run(committed, first, day(9))
    if second is not None:
        assert (second.promises_broken, second.steps) == (0, 0)

    with database.transaction() as session:
        assert session.get(PromiseToPay, promise_id).state is PromiseState.BROKEN
        # one escalation for the broken promise, by the run that broke it
        assert steps(session, account.id) == [(1, 1, "broken_promise")]
