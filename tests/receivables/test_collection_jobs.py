"""The ladder's daily job as production runs it: scheduled for ``rq cron``, run by a real RQ
worker, and the L1 reminder delivered over SMTP (aiosmtpd on loopback)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from rq.job import JobStatus
from sqlalchemy import func, select

from monitor import jobs
from monitor.accounts.services import create_account, create_contact
from monitor.db import utcnow
from monitor.email.models import DeliveryStatus, OutboxMessage
from monitor.schedule import by_name
from receivables import ledger
from receivables.jobs import run_escalation_ladder
from tests.fixtures.background import app_context, wait_for_job


def test_the_ladder_runs_daily_from_rq_cron():
    job = by_name()["run_escalation_ladder"]
    assert job.func is run_escalation_ladder
    assert job.cron == "0 6 * * *"


@pytest.mark.slow
def test_an_rq_worker_runs_the_ladder_and_the_reminder_arrives_over_smtp_once(
    rq_config, rq_workers, redis_connection, smtp_server
):
    config = replace(rq_config, smtp_url=smtp_server.url, mail_from="ar@acme.example")
    with app_context(config):
        worker = rq_workers.start(config)
        today = utcnow().date()
        with jobs.database().transaction() as session:
            account = create_account(
                session, code="SMTP-1", name="华东电网", account_class="A", account_type="repeat",
                currency="CNY", timezone="Asia/Shanghai",
            )  # fmt: skip
            create_contact(
                session, account, name="李娜", email="li.na@grid.example.cn", role="buyer",
                language="zh",
            )  # fmt: skip
            ledger.create_invoice(
                session, account_id=account.id, number="HD-2026-01",
                issue_date=today - timedelta(days=35), currency="CNY",
                amount=Decimal("45600.00"),
            )  # fmt: skip

        first = jobs.enqueue(run_escalation_ladder)
        done = {JobStatus.FINISHED, JobStatus.FAILED}
        job = wait_for_job(redis_connection, first, done, worker)
        assert job.get_status(refresh=False) == JobStatus.FINISHED, worker.output()
        assert "1 escalated (1 steps)" in job.return_value()

        [received] = smtp_server.wait_for(1)
        message = received.message
        assert received.rcpt_tos == ["li.na@grid.example.cn"]
        assert message["Subject"] == "对账单 SMTP-1：逾期款项 45,600.00 CNY"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "李娜，您好" in text and "HD-2026-01" in text and "45,600.00" in text
        assert "<td>HD-2026-01</td>" in html

        second = jobs.enqueue(run_escalation_ladder)
        job = wait_for_job(redis_connection, second, done, worker)
        assert "0 escalated" in job.return_value()
        with jobs.database().transaction() as session:
            stored = session.scalars(select(OutboxMessage)).all()
            assert [m.status for m in stored] == [DeliveryStatus.SENT]
            assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert len(smtp_server.received) == 1
