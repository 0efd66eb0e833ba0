"""SLA breaches: detected by the periodic job, escalated once by email over loopback SMTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
import time_machine
from flask import Flask
from rq.job import JobStatus
from sqlalchemy import func, select

from monitor import jobs
from monitor.accounts import services as accounts
from monitor.complaints import services as complaints
from monitor.complaints.jobs import PERIODIC, escalate_sla_breaches
from monitor.complaints.models import SlaBreach
from monitor.config import Config
from monitor.db import utcnow
from monitor.email.models import OutboxMessage
from monitor.schedule import by_name
from monitor.staff import services as staff
from tests.fixtures.background import SmtpServer, wait_for_job

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def smtp(app: Flask, config: Config, smtp_server: SmtpServer) -> SmtpServer:
    app.config["MONITOR"] = replace(
        config, smtp_url=smtp_server.url, mail_from="monitor@acme.example"
    )
    return smtp_server


def subject(message) -> str:
    return str(make_header(decode_header(message.message["Subject"])))


def test_the_job_is_scheduled_every_few_minutes():
    assert by_name()["escalate_sla_breaches"] is PERIODIC[0]
    assert PERIODIC[0].cron == "*/5 * * * *"


def test_a_breach_escalates_once_to_the_manager_and_executives(
    client, intake, manager, staff_member, smtp, session
):
    boss, boss_headers = manager
    chief, _ = staff_member("executive", email="ceo@acme.example")
    chief.language = "zh"
    chief.timezone = "Asia/Shanghai"
    session.commit()
    with time_machine.travel(T0, tick=False):
        cid = intake(severity="critical")["id"]
        assert escalate_sla_breaches() == 0

    with time_machine.travel(T0 + 2 * H):
        assert escalate_sla_breaches() == 1  # first response, due at T0 + 1 h
        assert escalate_sla_breaches() == 0  # run again: nothing new
    received = smtp.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in received) == sorted([boss.email, "ceo@acme.example"])
    by_recipient = {m.rcpt_tos[0]: m for m in received}
    assert f"#{cid}" in subject(by_recipient[boss.email])
    assert "SLA breached" in subject(by_recipient[boss.email])
    chinese = by_recipient["ceo@acme.example"]
    assert "投诉超时" in subject(chinese)
    body = chinese.message.get_body(("plain",)).get_content()
    assert "首次响应" in body and "2026-11-02 18:00 CST" in body  # 10:00 UTC in Shanghai
    assert "上海华能电力有限公司" in body

    session.expire_all()
    breaches = session.scalars(select(SlaBreach)).all()
    assert [(b.complaint_id, b.target.value, b.breached_at) for b in breaches] == [
        (cid, "first_response", T0 + H)
    ]
    history = client.get(f"/api/v1/complaints/{cid}/history", headers=boss_headers).json
    breach_events = [e for e in history["events"] if e["action"] == "sla_breached"]
    assert len(breach_events) == 1
    assert breach_events[0]["actor_label"] == "job:escalate_sla_breaches"
    listed = client.get("/api/v1/complaints?breached=true", headers=boss_headers).json
    assert [c["id"] for c in listed["items"]] == [cid]

    # The resolution target (24 h) is a second breach: escalated once more, then no more.
    with time_machine.travel(T0 + 25 * H):
        assert escalate_sla_breaches() == 1
        assert escalate_sla_breaches() == 0
    smtp.wait_for(4)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 4
    assert len(smtp.received) == 4


def test_a_paused_clock_does_not_breach(client, intake, manager, smtp, session):
    _, boss = manager
    with time_machine.travel(T0, tick=False):
        cid = intake(severity="critical")["id"]
        for action in ("acknowledge", "wait_on_customer"):
            client.post(
                f"/api/v1/complaints/{cid}/transitions", json={"action": action}, headers=boss
            )
    with time_machine.travel(T0 + 48 * H):
        assert escalate_sla_breaches() == 0
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(SlaBreach)) == 0
    assert smtp.received == []


@pytest.mark.slow
def test_a_real_worker_running_the_job_twice_escalates_once(
    rq_config, rq_app, rq_workers, smtp_server, redis_connection
):
    config = replace(rq_config, smtp_url=smtp_server.url, mail_from="monitor@acme.example")
    rq_app.config["MONITOR"] = config
    database = rq_app.extensions["monitor.db"]
    with database.transaction() as session:
        boss = staff.create_user(session, "vp@acme.example", "VP Service", ["manager"])
        account = accounts.create_account(
            session,
            code="SZ-0009",
            name="深圳水务集团",
            account_class="A",
            account_type="repeat",
            currency="CNY",
            timezone="Asia/Shanghai",
        )
        with time_machine.travel(utcnow() - 3 * H):
            complaint = complaints.open_complaint(
                session,
                account_id=account.id,
                channel="hotline",
                category="product_quality",
                severity="critical",
                description="Pump station outage",
            )
        complaint_id = complaint.id
    worker = rq_workers.start(config)
    first = jobs.enqueue(escalate_sla_breaches)
    second = jobs.enqueue(escalate_sla_breaches)
    done = {JobStatus.FINISHED, JobStatus.FAILED}
    results = [
        wait_for_job(redis_connection, job_id, done, worker).return_value()
        for job_id in (first, second)
    ]
    assert sorted(results) == [0, 1]
    received = smtp_server.wait_for(1)
    assert [m.rcpt_tos for m in received] == [[boss.email]]
    assert f"#{complaint_id}" in subject(received[0])
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SlaBreach)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_a_target_missed_between_two_runs_is_still_escalated(
    client, intake, manager, smtp, session
):
    _, boss = manager
    with time_machine.travel(T0, tick=False):
        cid = intake(severity="critical")["id"]
    # acknowledged 10 minutes after the 1 h target, before the job ran: the clock moved on
    with time_machine.travel(T0 + H + timedelta(minutes=10), tick=False):
        client.post(
            f"/api/v1/complaints/{cid}/transitions", json={"action": "acknowledge"}, headers=boss
        )
    with time_machine.travel(T0 + H + timedelta(minutes=12)):
        assert escalate_sla_breaches() == 1
        assert escalate_sla_breaches() == 0
    session.expire_all()
    breach = session.scalars(select(SlaBreach)).one()
    assert (breach.target.value, breach.breached_at) == ("first_response", T0 + H)
