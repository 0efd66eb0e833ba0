"""The outbox: delivery over real SMTP or to files, at most once per message, retries, the sweep."""

from __future__ import annotations

import smtplib
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from monitor import jobs
from monitor.config import Config
from monitor.email import services
from monitor.email.jobs import deliver_email, delivery_job_id, requeue_stalled_email
from monitor.email.models import DeliveryStatus, OutboxMessage
from monitor.jobs import OUTSIDE_ATTEMPTS, OUTSIDE_RETRY_INTERVALS
from tests.fixtures.background import SmtpServer, app_context, wait_for_job, wait_until
from tests.servers import free_port

SENDER = "monitor@acme.example"
RECIPIENT = "cfo@huaneng.example.cn"
SUBJECT = "账龄报告 — aging report, November 2026"
TEXT = "Dear Ms Wang,\n\nthe aging report for November is attached.\n"
HTML = "<p>Dear Ms Wang,</p><p>the aging report for November is attached.</p>"
PDF = b"%PDF-1.7\n% not a real report, but bytes that must arrive unchanged \x00\xff\n%%EOF\n"


@pytest.fixture
def report(tmp_path: Path) -> services.Attachment:
    path = tmp_path / "instance" / "reports" / "aging-2026-11.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(PDF)
    return services.Attachment("aging-2026-11.pdf", "application/pdf", str(path))


@pytest.fixture
def smtp(app: Flask, config: Config, smtp_server: SmtpServer) -> SmtpServer:
    """The per-test app delivering (in-process, no Redis) to the loopback SMTP server."""
    app.config["MONITOR"] = replace(config, smtp_url=smtp_server.url, mail_from=SENDER)
    return smtp_server


def queue_report(session: Session, report: services.Attachment, **options: Any) -> OutboxMessage:
    return services.queue_email(
        session, RECIPIENT, SUBJECT, TEXT, HTML, attachments=[report], **options
    )


def stored(session: Session, message_id: int) -> OutboxMessage:
    """The message as the database has it now (the job changed it in its own session)."""
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    assert message is not None
    return message


def assert_is_the_report(mime: EmailMessage, message: OutboxMessage) -> None:
    assert mime["Subject"] == SUBJECT
    assert mime["From"] == SENDER
    assert mime["To"] == RECIPIENT
    assert mime["Message-ID"] == message.message_id
    assert parsedate_to_datetime(mime["Date"]) == message.created_at.replace(microsecond=0)
    assert mime.get_content_type() == "multipart/mixed"
    plain, html = mime.get_body(("plain",)), mime.get_body(("html",))
    assert plain is not None and plain.get_content() == TEXT
    assert html is not None and html.get_content().strip() == HTML
    [attachment] = mime.iter_attachments()
    assert attachment.get_filename() == "aging-2026-11.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


# --- delivery -----------------------------------------------------------------------------------


def test_queued_message_arrives_once_over_smtp_with_every_part(app, session, smtp, report):
    message = queue_report(session, report)
    session.flush()
    assert smtp.received == []  # nothing leaves before the commit

    session.commit()

    [received] = smtp.wait_for(1)
    assert (received.mail_from, received.rcpt_tos) == (SENDER, [RECIPIENT])
    assert_is_the_report(received.message, message)
    sent = stored(session, message.id)
    assert (sent.status, sent.attempts, sent.last_error) == (DeliveryStatus.SENT, 1, None)
    assert sent.sent_at is not None


def test_several_messages_in_one_transaction_leave_only_at_its_commit(app, session, smtp, report):
    queue_report(session, report, dedup_key="aging:cfo")
    queue_report(session, report, dedup_key="aging:buyer")  # its savepoint commits nothing
    session.flush()
    assert smtp.received == []

    session.commit()
    assert len(smtp.wait_for(2)) == 2


def test_without_smtp_the_message_becomes_a_complete_eml_file(app, config, session, report):
    app.config["MONITOR"] = replace(config, mail_from=SENDER)
    message = queue_report(session, report)
    session.commit()

    [eml] = config.outbox_path.iterdir()  # and no temporary file left behind
    assert eml.suffix == ".eml"
    mime = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert isinstance(mime, EmailMessage)
    assert_is_the_report(mime, message)
    assert stored(session, message.id).status == DeliveryStatus.SENT


# --- at most once -------------------------------------------------------------------------------


def test_delivering_a_message_twice_sends_it_once(app, session, smtp, report):
    message = queue_report(session, report)
    session.flush()  # visible to the job, which joins this test's transaction

    assert deliver_email(message.id) == "sent"
    assert deliver_email(message.id) == "skipped"

    assert len(smtp.received) == 1
    assert stored(session, message.id).attempts == 1


def test_queueing_twice_with_one_dedup_key_stores_and_sends_one(app, session, smtp, report):
    key = "aging:2026-11:cfo"
    first = queue_report(session, report, dedup_key=key)
    again = services.queue_email(session, RECIPIENT, "other", "other", dedup_key=key)
    session.commit()
    later = services.queue_email(session, RECIPIENT, "later", "later", dedup_key=key)
    session.commit()

    assert first.id == again.id == later.id
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    [received] = smtp.wait_for(1)
    assert received.message["Subject"] == SUBJECT
    assert len(smtp.received) == 1


@pytest.fixture
def committed_app(rq_config: Config, smtp_server: SmtpServer) -> Any:
    """An app on a database with committed data, sending to the SMTP server.

    With ``REDIS_URL`` set and no worker running, committing enqueues to a queue nobody reads, so
    the test decides who delivers.
    """
    with app_context(replace(rq_config, smtp_url=smtp_server.url, mail_from=SENDER)) as app:
        yield app


def commit_report(report: services.Attachment) -> OutboxMessage:
    with jobs.database().transaction() as session:
        return queue_report(session, report)


def read_back(message_id: int) -> OutboxMessage:
    with jobs.database().transaction() as session:
        return stored(session, message_id)


def test_two_deliveries_racing_on_one_message_send_it_once(committed_app, smtp_server, report):
    message = commit_report(report)
    release = smtp_server.hold()
    claims: list[str] = []
    engine = jobs.database().engine

    def count_claims(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGES"):
            claims.append(threading.current_thread().name)

    results: dict[str, str] = {}

    def deliver() -> None:
        with committed_app.app_context():
            results[threading.current_thread().name] = deliver_email(message.id)

    event.listen(engine, "before_cursor_execute", count_claims)
    first = threading.Thread(target=deliver, name="first")
    second = threading.Thread(target=deliver, name="second")
    try:
        first.start()
        wait_until(smtp_server.handler.held.is_set, "the first delivery to be mid-send")
        second.start()
        wait_until(lambda: "second" in claims, "the second delivery to try its claim")
        if engine.dialect.name == "postgresql":
            wait_until(lambda: lock_waits(engine) == 1, "the second claim to wait for the row")
    finally:
        release.set()
        first.join(30)
        second.join(30)
        event.remove(engine, "before_cursor_execute", count_claims)

    assert not first.is_alive() and not second.is_alive()
    assert results == {"first": "sent", "second": "skipped"}
    assert len(smtp_server.received) == 1
    assert read_back(message.id).attempts == 1


def lock_waits(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


# --- failures and retries -----------------------------------------------------------------------


@pytest.mark.parametrize("outage", ["down", "refusing"])
def test_failed_attempts_are_counted_and_the_last_one_gives_up(
    app, config, session, smtp_server, report, outage
):
    if outage == "down":
        url, error = f"smtp://127.0.0.1:{free_port()}", ConnectionRefusedError
    else:
        smtp_server.refuse("554 5.7.1 delivery refused")
        url, error = smtp_server.url, smtplib.SMTPDataError
    app.config["MONITOR"] = replace(config, smtp_url=url)
    message = queue_report(session, report)
    session.flush()

    for attempt in range(1, OUTSIDE_ATTEMPTS + 1):
        with pytest.raises(error):  # raised, so that RQ retries the job
            deliver_email(message.id)
        failed = stored(session, message.id)
        assert failed.attempts == attempt
        assert error.__name__ in (failed.last_error or "")
        last = attempt == OUTSIDE_ATTEMPTS
        assert failed.status == (DeliveryStatus.FAILED if last else DeliveryStatus.QUEUED)

    smtp_server.accept()
    assert deliver_email(message.id) == "skipped"  # a late retry of a given-up message is a no-op
    assert smtp_server.received == []


def test_rq_retries_a_refused_delivery_later_and_the_retry_sends(
    committed_app, rq_config, rq_workers, redis_connection, smtp_server, report
):
    smtp_server.refuse()
    worker = rq_workers.start(jobs.config())
    message = commit_report(report)  # enqueued on commit, under the message's job id
    job_id = delivery_job_id(message.id)

    done = {JobStatus.SCHEDULED, JobStatus.FINISHED, JobStatus.FAILED}
    job = wait_for_job(redis_connection, job_id, done, worker)
    assert job.get_status(refresh=False) == JobStatus.SCHEDULED  # waiting for a retry, not failed
    # rq writes the status a moment before the rest of the job and its registry entry.
    queue = jobs.queue()
    scheduled = ScheduledJobRegistry(queue=queue)
    wait_until(lambda: job_id in scheduled.get_job_ids(), "the retry to be scheduled")
    job = Job.fetch(job_id, connection=redis_connection)
    assert job.retries_left == OUTSIDE_ATTEMPTS - 2
    first_try = read_back(message.id)
    assert (first_try.status, first_try.attempts) == (DeliveryStatus.QUEUED, 1)
    assert "SMTPDataError" in (first_try.last_error or "")
    retry_at = scheduled.get_scheduled_time(job)
    assert retry_at > job.ended_at + timedelta(seconds=OUTSIDE_RETRY_INTERVALS[0] - 1)

    smtp_server.accept()
    # What the scheduler of any worker started with --with-scheduler does once the retry is due.
    scheduler = RQScheduler([queue], connection=redis_connection)
    with time_machine.travel(retry_at + timedelta(seconds=1), tick=False):
        scheduler.acquire_locks()
        scheduler.enqueue_scheduled_jobs()
        scheduler.release_locks()
    scheduler.connection.close()

    job = wait_for_job(redis_connection, job_id, {JobStatus.FINISHED, JobStatus.FAILED}, worker)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "sent"
    assert len(smtp_server.wait_for(1)) == 1
    sent = read_back(message.id)
    assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 2)


def test_rq_worker_delivers_a_committed_message_over_smtp(
    committed_app, rq_workers, redis_connection, smtp_server, report
):
    worker = rq_workers.start(jobs.config())
    message = commit_report(report)

    job_id = delivery_job_id(message.id)
    job = wait_for_job(redis_connection, job_id, {JobStatus.FINISHED, JobStatus.FAILED}, worker)

    assert job.return_value() == "sent"
    [received] = smtp_server.wait_for(1)
    assert_is_the_report(received.message, message)
    assert read_back(message.id).status == DeliveryStatus.SENT


# --- the sweep ----------------------------------------------------------------------------------


def test_sweep_enqueues_delivery_of_old_queued_messages_only_and_once(
    app, session, with_redis, report
):
    def queued_at(moment: datetime, key: str) -> OutboxMessage:
        with time_machine.travel(moment, tick=False):
            message = services.queue_email(session, RECIPIENT, key, TEXT, dedup_key=key)
            session.flush()
        return message

    now = datetime.now(UTC)
    stalled = queued_at(now - timedelta(minutes=30), "stalled")
    recent = queued_at(now - timedelta(minutes=2), "recent")
    sent = queued_at(now - timedelta(minutes=30), "sent")
    failed = queued_at(now - timedelta(minutes=30), "failed")
    sent.status, failed.status = DeliveryStatus.SENT, DeliveryStatus.FAILED
    session.flush()

    assert requeue_stalled_email() == 1
    queue = jobs.queue()
    assert queue.job_ids == [delivery_job_id(stalled.id)]
    job = queue.fetch_job(delivery_job_id(stalled.id))
    assert job is not None and job.func is deliver_email and job.args == (stalled.id,)
    assert job.retries_left == OUTSIDE_ATTEMPTS - 1

    # The next sweep finds the delivery still pending and adds no second one.
    requeue_stalled_email()
    assert queue.job_ids == [delivery_job_id(stalled.id)]
    assert recent.id not in [j.args[0] for j in queue.jobs]
