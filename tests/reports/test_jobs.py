"""Scheduled distribution: the report reaches each recipient once over real SMTP, in their
language, however often the run is retried; a failure is recorded and leaves no file behind."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
import time_machine
from pypdf import PdfReader
from rq.job import JobStatus
from sqlalchemy import func, select

from monitor import jobs
from monitor.accounts import services as accounts
from monitor.api.problems import FieldError
from monitor.email.models import OutboxMessage
from monitor.i18n import Language
from monitor.reports import content, services
from monitor.reports.jobs import run_distribution, run_job_id, send_scheduled_reports
from monitor.reports.models import DistributionRun, Report, ReportKind, RunState, Schedule
from monitor.staff import services as staff
from receivables import ledger
from tests.fixtures.background import SmtpServer, app_context, wait_for_job

SENDER = "reports@acme.example"
REPORT_MAIL = OutboxMessage.dedup_key.startswith("report-run-")
#: 1 November 2026, 05:30 UTC: lists sending on day 1 are due, for October.
SEND_TIME = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@pytest.fixture
def smtp(app, config, smtp_server: SmtpServer) -> SmtpServer:
    """The per-test app delivering (in-process, no Redis) to the loopback SMTP server."""
    app.config["MONITOR"] = replace(config, smtp_url=smtp_server.url, mail_from=SENDER)
    return smtp_server


def make_list(session, recipients: list[dict[str, Any]], **fields: Any) -> Any:
    with time_machine.travel(datetime(2026, 10, 20, tzinfo=UTC), tick=False):
        values = {
            "name": "Board — monthly aging",
            "kind": ReportKind.AGING,
            "schedule": Schedule.MONTHLY,
            "day": 1,
            "language": Language.EN,
            **fields,
        }
        distribution = services.create_list(session, recipients=recipients, **values)
        session.commit()
    return distribution


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def test_due_dates_of_each_schedule():
    today = date(2026, 11, 4)  # a Wednesday
    assert services.due_of(Schedule.MONTHLY, 3, today) == (
        "2026-10",
        date(2026, 10, 31),
        date(2026, 11, 3),
    )
    assert services.due_of(Schedule.MONTHLY, 5, today) is None
    assert services.due_of(Schedule.WEEKLY, 0, today) == (
        "2026-W44",
        date(2026, 11, 1),
        date(2026, 11, 2),
    )
    assert services.due_of(Schedule.WEEKLY, 4, today) is None
    assert services.due_of(Schedule.QUARTERLY, 1, date(2026, 12, 20)) == (
        "2026-Q3",
        date(2026, 9, 30),
        date(2026, 10, 1),
    )
    assert services.due_of(Schedule.QUARTERLY, 1, date(2027, 1, 1)) == (
        "2026-Q4",
        date(2026, 12, 31),
        date(2027, 1, 1),
    )


def test_a_scheduled_run_emails_each_recipient_once_in_their_language(
    session, book, smtp, make_staff, client, auth
):
    cfo, _ = make_staff("executive", email="cfo@acme.example")
    staff.update_user(session, cfo, language="zh")
    session.commit()
    distribution = make_list(
        session, [{"staff_user_id": cfo.id}, {"email": "auditor@example.com", "language": None}]
    )
    with time_machine.travel(SEND_TIME, tick=False):
        assert send_scheduled_reports() == 1
        received = smtp.wait_for(2)
        # retried, swept again, run by hand: nothing more is sent
        assert run_distribution(distribution.id, "2026-10", "2026-10-31") == "skipped"
        assert send_scheduled_reports() == 0
    assert len(smtp.received) == 2
    by_recipient = {r.message["To"]: r.message for r in received}
    chinese, english = by_recipient["cfo@acme.example"], by_recipient["auditor@example.com"]
    assert chinese["Subject"] == "应收账款账龄报告 — 截至 2026-10-31"
    assert english["Subject"] == "Aging report — As of 2026-10-31"
    for message, expected in ((chinese, "第 1 页，共"), (english, "Page 1 of")):
        files = attachments(message)
        [pdf_name] = [name for name in files if name.endswith(".pdf")]
        assert any(name.endswith(".xlsx") for name in files)
        text = "".join(p.extract_text() for p in PdfReader(BytesIO(files[pdf_name])).pages)
        assert expected in text and "上海华能电力有限公司" in text and "205,000.00" in text
    run = session.scalars(select(DistributionRun)).one()
    assert (run.state, run.attempts, run.period) == (RunState.SENT, 1, "2026-10")
    assert sorted(run.recipients) == ["auditor@example.com", "cfo@acme.example"]
    archived = session.scalars(select(Report).where(Report.run_id == run.id)).all()
    assert sorted(r.language.value for r in archived) == ["en", "zh"]
    # the executive reads the scheduled reports in the archive
    listed = client.get("/api/v1/reports", headers=auth("executive")).json
    assert {item["run_id"] for item in listed["items"]} == {run.id}


def test_a_failed_run_is_recorded_leaves_no_file_and_is_retried(
    session, book, smtp, monkeypatch, config, client, auth
):
    distribution = make_list(session, [{"email": "auditor@example.com"}])
    folder = services.ReportSettings.of(config).folder

    def broken(*args: Any) -> bytes:
        raise OSError("No space left on device")

    monkeypatch.setattr(content, "aging_workbook", broken)
    with time_machine.travel(SEND_TIME, tick=False):
        with pytest.raises(OSError):
            run_distribution(distribution.id, "2026-10", "2026-10-31")
        runs = client.get(
            f"/api/v1/report-lists/{distribution.id}/runs", headers=auth("admin")
        ).json["items"]
        assert [(r["state"], r["attempts"]) for r in runs] == [("failed", 1)]
        assert "No space left on device" in runs[0]["error"]
        # the PDF written before the spreadsheet failed is gone, and no temporary file is left
        # (``letters/`` holds the statements the fixture's escalation ladder attached to reminders)
        assert not folder.exists() or [p.name for p in folder.iterdir()] in ([], ["letters"])
        assert session.scalar(select(func.count()).where(REPORT_MAIL)) == 0
        monkeypatch.undo()
        assert send_scheduled_reports() == 1  # the daily sweep takes the failed run up again
    [received] = smtp.wait_for(1)
    assert received.message["To"] == "auditor@example.com"
    run = session.scalars(select(DistributionRun)).one()
    session.refresh(run)
    assert (run.state, run.attempts, run.error) == (RunState.SENT, 2, None)
    files = [p for p in folder.iterdir() if p.name != "letters"]
    assert len(files) == 2  # the PDF and the XLSX of the run that succeeded


def test_a_requested_report_that_fails_says_why(session, book, client, auth, monkeypatch, config):
    monkeypatch.setattr(
        content, "aging_workbook", lambda *a: (_ for _ in ()).throw(OSError("disk"))
    )
    finance = auth("finance")
    report_id = client.post(
        "/api/v1/reports", json={"kind": "aging", "as_of": "2026-10-31", "language": "en"},
        headers=finance,
    ).json["id"]  # fmt: skip
    status = client.get(f"/api/v1/reports/{report_id}", headers=finance).json
    assert status["status"] == "failed" and "OSError: disk" in status["error"]
    assert status["download_url"] is None
    download = client.get(f"/api/v1/reports/{report_id}/file", headers=finance)
    assert download.status_code == 409
    folder = services.ReportSettings.of(config).folder
    # (``letters/`` holds the statements the fixture's escalation ladder attached to reminders)
    assert not folder.exists() or [p.name for p in folder.iterdir()] in ([], ["letters"])


def test_write_atomically_leaves_the_old_file_or_the_new_one(tmp_path, monkeypatch):
    services.write_atomically(tmp_path, "r.pdf", b"old")

    def crash(fd: int) -> None:
        raise OSError("I/O error")

    monkeypatch.setattr("monitor.reports.services.os.fsync", crash)
    with pytest.raises(OSError):
        services.write_atomically(tmp_path, "r.pdf", b"new, half written")
    assert [p.name for p in tmp_path.iterdir()] == ["r.pdf"]
    assert (tmp_path / "r.pdf").read_bytes() == b"old"


@pytest.fixture
def committed(rq_config, smtp_server):
    """An app on a committed database (Redis set, no worker yet) sending to the SMTP server."""
    config = replace(rq_config, smtp_url=smtp_server.url, mail_from=SENDER)
    with app_context(config) as app:
        yield app


def test_rq_worker_sends_a_scheduled_report_once_even_when_retried(
    committed, rq_workers, redis_connection, smtp_server
):
    with jobs.database().transaction() as session:
        account = accounts.create_account(
            session, code="SH-1", name="上海华能电力有限公司", account_class="A",
            account_type="repeat", currency="CNY", timezone="Asia/Shanghai",
        )  # fmt: skip
        ledger.create_invoice(
            session, account_id=account.id, number="INV-1", issue_date=date(2026, 8, 1),
            currency="CNY", amount=Decimal("88000.00"),
        )  # fmt: skip
        distribution = make_list(session, [{"email": "cfo@example.cn", "language": "zh"}])
    worker = rq_workers.start(jobs.config())
    args = (distribution.id, "2026-10", "2026-10-31")
    first = jobs.enqueue(
        run_distribution, *args, outside=True, job_id=run_job_id(distribution.id, "2026-10")
    )
    job = wait_for_job(redis_connection, first, {JobStatus.FINISHED, JobStatus.FAILED}, worker)
    assert job.return_value() == "sent", worker.output()
    [received] = smtp_server.wait_for(1)
    assert received.message["Subject"] == "应收账款账龄报告 — 截至 2026-10-31"
    # a retry (another job of the same run) finds it sent
    again = jobs.enqueue(run_distribution, *args, job_id="a-retry")
    job = wait_for_job(redis_connection, again, {JobStatus.FINISHED, JobStatus.FAILED}, worker)
    assert job.return_value() == "skipped"
    with jobs.database().transaction() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        run = session.scalars(select(DistributionRun)).one()
        assert (run.state, run.attempts) == (RunState.SENT, 1)
    assert len(smtp_server.received) == 1


def test_addressees_leave_out_inactive_staff_and_read_each_in_their_language(session, make_staff):
    cfo, _ = make_staff("executive", email="cfo@acme.example")
    staff.update_user(session, cfo, language="zh")
    gone, _ = make_staff("executive", email="gone@acme.example")
    distribution = make_list(
        session,
        [
            {"staff_user_id": cfo.id},
            {"staff_user_id": gone.id},
            {"email": "CFO@acme.example", "language": None},  # the CFO's address again
            {"email": "auditor@example.com", "language": "zh"},
        ],
        language=Language.EN,
    )
    staff.update_user(session, gone, active=False)  # left after the list was made
    session.flush()
    found = services.addressees(session, distribution)
    assert [(a.email, a.language) for a in found] == [
        ("cfo@acme.example", "zh"),
        ("auditor@example.com", "zh"),
    ]


def test_a_recipient_language_the_reports_do_not_speak_is_refused(session):
    with pytest.raises(FieldError) as refused:
        make_list(session, [{"email": "auditor@example.com", "language": "fr"}])
    assert refused.value.errors[0]["field"] == "recipients.0.language"
    assert not session.scalars(select(services.DistributionList)).all()
