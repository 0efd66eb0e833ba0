"""The outbox: delivery over real SMTP or to files, at most once per message, retries, the sweep."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from flask import Flask
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from rq.timeouts import JobTimeoutException
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from monitor import jobs
from monitor.config import Config
from monitor.email import services
from monitor.email.jobs import (
    Undelivered,
    deliver_email,
    deliver_email_batch,
    delivery_job_id,
    requeue_stalled_email,
)
from monitor.email.models import DeliveryStatus, OutboxMessage
from monitor.jobs import OUTSIDE_ATTEMPTS, OUTSIDE_RETRY_INTERVALS
from tests.fixtures.background import (
    SmtpServer,
    WorkerProcess,
    _Collector,
    app_context,
    wait_for_job,
    wait_until,
)
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


def outgoing(*recipients: str) -> list[services.OutgoingEmail]:
    return [services.OutgoingEmail(r, f"{SUBJECT} ({r})", TEXT, HTML) for r in recipients]


def ids_by_recipient(session: Session) -> dict[str, int]:
    return {m.recipient: m.id for m in session.scalars(select(OutboxMessage))}


def test_bulk_queue_stores_each_dedup_key_once_and_enqueues_a_job_per_batch_at_commit(
    app, session, with_redis
):
    earlier = services.queue_email(session, RECIPIENT, "earlier", TEXT, dedup_key="survey:1")
    session.commit()
    queue = jobs.queue()
    queue.empty()
    size = services.DELIVERY_BATCH
    emails = [
        services.OutgoingEmail(f"c{n}@example.cn", f"#{n}", TEXT, HTML, dedup_key=f"survey:{n}")
        for n in range(1, 2 * size + 52)
    ]
    emails.append(services.OutgoingEmail("again@example.cn", "again", TEXT, dedup_key="survey:2"))

    ids = services.queue_emails(session, emails)
    session.flush()
    assert queue.count == 0  # nothing before the commit

    # survey:1 was stored before, survey:2 comes twice in the call: the first one is kept
    assert len(ids) == 2 * size + 50
    by_key = {m.dedup_key: m for m in session.scalars(select(OutboxMessage))}
    assert len(by_key) == 2 * size + 51
    assert by_key["survey:1"].id == earlier.id and by_key["survey:1"].subject == "earlier"
    assert earlier.id not in ids
    assert by_key["survey:2"].subject == "#2"
    assert sorted(ids) == ids == sorted(m.id for m in by_key.values() if m.id != earlier.id)

    session.commit()
    batches = queue.jobs
    assert all(job.func is deliver_email_batch for job in batches)
    assert [len(job.args[0]) for job in batches] == [size, size, 50]
    assert [i for job in batches for i in job.args[0]] == ids
    assert all(job.retries_left == OUTSIDE_ATTEMPTS - 1 for job in batches)


def test_bulk_queue_rolled_back_stores_and_enqueues_nothing(app, session, with_redis):
    services.queue_emails(session, outgoing("a@example.cn", "b@example.cn"))
    session.flush()
    session.rollback()
    session.commit()

    assert jobs.queue().count == 0
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


class _Picky(_Collector):
    """Refuses the recipients in ``refused`` at RCPT, answers those in ``closing`` with 421 (the
    client hangs up); notes the connection of each message."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: set[str] = set()
        self.closing: set[str] = set()
        self.connections: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        if address in self.closing:
            return "421 4.3.2 service shutting down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.connections.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def picky_smtp() -> Iterator[SmtpServer]:
    """A loopback SMTP server that can refuse single recipients (``handler.refused``)."""
    handler = _Picky()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(f"smtp://127.0.0.1:{port}", handler)
    controller.stop()


def recipients(server: SmtpServer) -> list[str]:
    return sorted(to for received in server.received for to in received.rcpt_tos)


def test_a_batch_goes_out_over_one_connection_and_delivered_twice_sends_once(
    app, config, session, picky_smtp
):
    app.config["MONITOR"] = replace(config, smtp_url=picky_smtp.url, mail_from=SENDER)
    ids = services.queue_emails(session, outgoing("a@x.cn", "b@x.cn", "c@x.cn"))
    session.flush()  # visible to the job, which joins this test's transaction

    assert deliver_email_batch(ids) == {"sent": 3, "skipped": 0}
    assert deliver_email_batch(ids) == {"sent": 0, "skipped": 3}

    assert recipients(picky_smtp) == ["a@x.cn", "b@x.cn", "c@x.cn"]
    assert len(set(picky_smtp.handler.connections)) == 1
    first = picky_smtp.received[0].message
    assert first["Subject"] == f"{SUBJECT} (a@x.cn)" and first["From"] == SENDER
    assert first.get_body(("plain",)).get_content() == TEXT
    assert first.get_body(("html",)).get_content().strip() == HTML
    for message_id in ids:
        sent = stored(session, message_id)
        assert (sent.status, sent.attempts, sent.last_error) == (DeliveryStatus.SENT, 1, None)
        assert sent.sent_at is not None


def test_a_refused_recipient_fails_alone_in_its_batch_and_is_retried_until_given_up(
    app, config, session, picky_smtp
):
    picky_smtp.handler.refused.add("gone@x.cn")
    app.config["MONITOR"] = replace(config, smtp_url=picky_smtp.url, mail_from=SENDER)
    ids = services.queue_emails(session, outgoing("a@x.cn", "gone@x.cn", "c@x.cn"))
    session.flush()
    by_recipient = ids_by_recipient(session)
    gone = by_recipient.pop("gone@x.cn")
    assert ids.index(gone) == 1  # in the middle: the one after it goes out after the refusal

    for attempt in range(1, OUTSIDE_ATTEMPTS + 1):
        with pytest.raises(Undelivered, match="SMTPRecipientsRefused"):  # so that RQ retries
            deliver_email_batch(ids)
        failed = stored(session, gone)
        assert failed.attempts == attempt
        assert "SMTPRecipientsRefused" in (failed.last_error or "")
        last = attempt == OUTSIDE_ATTEMPTS
        assert failed.status == (DeliveryStatus.FAILED if last else DeliveryStatus.QUEUED)
        for message_id in by_recipient.values():  # sent at the first run, never again
            sent = stored(session, message_id)
            assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 1)

    assert recipients(picky_smtp) == ["a@x.cn", "c@x.cn"]
    assert len(set(picky_smtp.handler.connections)) == 1  # the refusal kept the connection
    picky_smtp.handler.refused.clear()
    assert deliver_email_batch(ids) == {"sent": 0, "skipped": 3}  # given up stays given up
    assert len(picky_smtp.received) == 2


def test_a_connection_the_server_closes_mid_batch_fails_one_message_and_the_rest_reconnect(
    app, config, session, picky_smtp
):
    picky_smtp.handler.closing.add("b@x.cn")
    app.config["MONITOR"] = replace(config, smtp_url=picky_smtp.url, mail_from=SENDER)
    ids = services.queue_emails(session, outgoing("a@x.cn", "b@x.cn", "c@x.cn", "d@x.cn"))
    session.flush()
    closed = ids_by_recipient(session)["b@x.cn"]

    with pytest.raises(Undelivered, match="SMTPRecipientsRefused"):
        deliver_email_batch(ids)

    assert recipients(picky_smtp) == ["a@x.cn", "c@x.cn", "d@x.cn"]
    assert len(set(picky_smtp.handler.connections)) == 2  # a, then c and d on a new one
    assert [stored(session, i).status for i in ids] == [
        DeliveryStatus.QUEUED if i == closed else DeliveryStatus.SENT for i in ids
    ]


def test_a_job_timing_out_mid_batch_records_what_was_sent_and_tries_no_more(
    app, config, session, picky_smtp, monkeypatch
):
    app.config["MONITOR"] = replace(config, smtp_url=picky_smtp.url, mail_from=SENDER)
    ids = services.queue_emails(session, outgoing("a@x.cn", "b@x.cn", "c@x.cn"))
    session.flush()
    build_mime = services.build_mime

    def out_of_time(message: OutboxMessage, sender: str) -> Any:
        if message.recipient == "b@x.cn":  # RQ's alarm goes off while b is being prepared
            raise JobTimeoutException("Task exceeded maximum timeout value (600 seconds)")
        return build_mime(message, sender)

    monkeypatch.setattr(services, "build_mime", out_of_time)
    with pytest.raises(Undelivered, match="JobTimeoutException"):
        deliver_email_batch(ids)

    assert recipients(picky_smtp) == ["a@x.cn"]
    assert [(stored(session, i).status, stored(session, i).attempts) for i in ids] == [
        (DeliveryStatus.SENT, 1),
        (DeliveryStatus.QUEUED, 1),
        (DeliveryStatus.QUEUED, 1),
    ]


def test_an_smtp_outage_fails_every_message_of_the_batch_and_counts_an_attempt(
    app, config, session
):
    app.config["MONITOR"] = replace(config, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    ids = services.queue_emails(session, outgoing("a@x.cn", "b@x.cn", "c@x.cn"))
    session.flush()

    with pytest.raises(Undelivered, match="ConnectionRefusedError"):
        deliver_email_batch(ids)

    for message_id in ids:
        failed = stored(session, message_id)
        assert (failed.status, failed.attempts) == (DeliveryStatus.QUEUED, 1)
        assert "ConnectionRefusedError" in (failed.last_error or "")


@contextmanager
def committed_app_for(rq_config: Config, server: SmtpServer) -> Iterator[Flask]:
    """An app on a database with committed data, sending to ``server``.

    With ``REDIS_URL`` set and no worker running, committing enqueues to a queue nobody reads, so
    the test decides who delivers.
    """
    with app_context(replace(rq_config, smtp_url=server.url, mail_from=SENDER)) as app:
        yield app


@pytest.fixture
def committed_app(rq_config: Config, smtp_server: SmtpServer) -> Iterator[Flask]:
    with committed_app_for(rq_config, smtp_server) as app:
        yield app


@pytest.fixture
def committed_picky_app(rq_config: Config, picky_smtp: SmtpServer) -> Iterator[Flask]:
    with committed_app_for(rq_config, picky_smtp) as app:
        yield app


def commit_report(report: services.Attachment) -> OutboxMessage:
    with jobs.database().transaction() as session:
        return queue_report(session, report)


def commit_batch(*to: str) -> list[int]:
    """Queue a message to each of ``to`` in one call and commit (one delivery job enqueued)."""
    with jobs.database().transaction() as session:
        return services.queue_emails(session, outgoing(*to))


def read_back(message_id: int) -> OutboxMessage:
    with jobs.database().transaction() as session:
        return stored(session, message_id)


@pytest.mark.parametrize("batch", [False, True], ids=["one message", "batch"])
def test_two_deliveries_racing_send_each_message_once(committed_app, smtp_server, report, batch):
    if batch:
        ids = commit_batch("a@x.cn", "b@x.cn", "c@x.cn")
        run: Callable[[], Any] = partial(deliver_email_batch, ids)
        expected: dict[str, Any] = {
            "first": {"sent": 3, "skipped": 0},
            "second": {"sent": 0, "skipped": 3},
        }
    else:
        ids = [commit_report(report).id]
        run = partial(deliver_email, ids[0])
        expected = {"first": "sent", "second": "skipped"}
    release = smtp_server.hold()
    claims: list[str] = []
    engine = jobs.database().engine

    def count_claims(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGES"):
            claims.append(threading.current_thread().name)

    results: dict[str, Any] = {}

    def deliver() -> None:
        with committed_app.app_context():
            results[threading.current_thread().name] = run()

    event.listen(engine, "before_cursor_execute", count_claims)
    first = threading.Thread(target=deliver, name="first")
    second = threading.Thread(target=deliver, name="second")
    try:
        first.start()
        wait_until(smtp_server.handler.held.is_set, "the first delivery to be mid-send")
        second.start()
        wait_until(lambda: "second" in claims, "the second delivery to try its claim")
        if engine.dialect.name == "postgresql":
            wait_until(lambda: lock_waits(engine) == 1, "the second claim to wait for the rows")
    finally:
        release.set()
        first.join(30)
        second.join(30)
        event.remove(engine, "before_cursor_execute", count_claims)

    assert not first.is_alive() and not second.is_alive()
    assert results == expected
    assert len(smtp_server.received) == len(ids)
    assert len({r.message["Message-ID"] for r in smtp_server.received}) == len(ids)
    assert [read_back(i).attempts for i in ids] == [1] * len(ids)


def lock_waits(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


DONE = {JobStatus.FINISHED, JobStatus.FAILED}


def test_two_rq_workers_running_one_batch_at_once_send_each_message_once(
    committed_app, rq_workers, redis_connection, smtp_server
):
    to = [f"buyer{n}@x.cn" for n in range(5)]
    ids = commit_batch(*to)  # its delivery job is enqueued at the commit
    [first] = jobs.queue().get_job_ids()
    second = jobs.enqueue(deliver_email_batch, ids, outside=True)  # the same batch once more
    release = smtp_server.hold()
    workers = [rq_workers.start(jobs.config())]  # takes the first job
    try:
        wait_until(smtp_server.handler.held.is_set, "the first run to be mid-send", **log(workers))
        workers.append(rq_workers.start(jobs.config()))  # takes the second
        wait_for_job(redis_connection, second, {JobStatus.STARTED, *DONE}, *workers)
        engine = jobs.database().engine
        if engine.dialect.name == "postgresql":
            wait_until(lambda: lock_waits(engine) == 1, "the second claim to wait for the rows")
    finally:
        release.set()

    results = [wait_for_job(redis_connection, j, DONE, *workers) for j in (first, second)]
    assert [r.get_status() for r in results] == [JobStatus.FINISHED] * 2, log(workers)["detail"]()
    assert [r.return_value() for r in results] == [
        {"sent": 5, "skipped": 0},
        {"sent": 0, "skipped": 5},
    ]
    smtp_server.wait_for(5)
    assert recipients(smtp_server) == to
    assert {(read_back(i).status, read_back(i).attempts) for i in ids} == {(DeliveryStatus.SENT, 1)}


def log(workers: list[WorkerProcess]) -> dict[str, Any]:
    """``detail=`` for :func:`wait_until`: the workers' output."""
    return {"detail": lambda: "\n".join(w.output() for w in workers)}


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


def scheduled_retry(job_id: str) -> datetime:
    """When RQ will retry job ``job_id`` (waits until the retry is in the scheduled registry)."""
    scheduled = ScheduledJobRegistry(queue=jobs.queue())
    # rq writes the status a moment before the rest of the job and its registry entry.
    wait_until(lambda: job_id in scheduled.get_job_ids(), "the retry to be scheduled")
    return scheduled.get_scheduled_time(Job.fetch(job_id, connection=scheduled.connection))


def enqueue_due_retries(redis_connection: Any, retry_at: datetime) -> None:
    """What the scheduler of any worker started with --with-scheduler does once ``retry_at``
    has come."""
    scheduler = RQScheduler([jobs.queue()], connection=redis_connection)
    with time_machine.travel(retry_at + timedelta(seconds=1), tick=False):
        scheduler.acquire_locks()
        scheduler.enqueue_scheduled_jobs()
        scheduler.release_locks()
    scheduler.connection.close()


def test_rq_retries_a_refused_delivery_later_and_the_retry_sends(
    committed_app, rq_config, rq_workers, redis_connection, smtp_server, report
):
    smtp_server.refuse()
    worker = rq_workers.start(jobs.config())
    message = commit_report(report)  # enqueued on commit, under the message's job id
    job_id = delivery_job_id(message.id)

    done = {JobStatus.SCHEDULED, *DONE}
    job = wait_for_job(redis_connection, job_id, done, worker)
    assert job.get_status(refresh=False) == JobStatus.SCHEDULED  # waiting for a retry, not failed
    retry_at = scheduled_retry(job_id)
    job = Job.fetch(job_id, connection=redis_connection)
    assert job.retries_left == OUTSIDE_ATTEMPTS - 2
    first_try = read_back(message.id)
    assert (first_try.status, first_try.attempts) == (DeliveryStatus.QUEUED, 1)
    assert "SMTPDataError" in (first_try.last_error or "")
    assert retry_at > job.ended_at + timedelta(seconds=OUTSIDE_RETRY_INTERVALS[0] - 1)

    smtp_server.accept()
    enqueue_due_retries(redis_connection, retry_at)

    job = wait_for_job(redis_connection, job_id, DONE, worker)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "sent"
    assert len(smtp_server.wait_for(1)) == 1
    sent = read_back(message.id)
    assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 2)


def test_rq_retries_a_batch_for_its_refused_recipient_only(
    committed_picky_app, rq_workers, redis_connection, picky_smtp
):
    picky_smtp.handler.refused.add("gone@x.cn")
    ids = commit_batch("a@x.cn", "gone@x.cn", "c@x.cn")
    [job_id] = jobs.queue().get_job_ids()  # one delivery job for the batch
    worker = rq_workers.start(jobs.config())

    job = wait_for_job(redis_connection, job_id, {JobStatus.SCHEDULED, *DONE}, worker)
    assert job.get_status(refresh=False) == JobStatus.SCHEDULED, worker.output()
    retry_at = scheduled_retry(job_id)
    picky_smtp.wait_for(2)
    assert recipients(picky_smtp) == ["a@x.cn", "c@x.cn"]
    gone = next(i for i in ids if read_back(i).recipient == "gone@x.cn")
    failed = read_back(gone)
    assert (failed.status, failed.attempts) == (DeliveryStatus.QUEUED, 1)
    assert "SMTPRecipientsRefused" in (failed.last_error or "")

    picky_smtp.handler.refused.clear()
    enqueue_due_retries(redis_connection, retry_at)

    job = wait_for_job(redis_connection, job_id, DONE, worker)
    assert job.get_status() == JobStatus.FINISHED, worker.output()
    assert job.return_value() == {"sent": 1, "skipped": 2}
    picky_smtp.wait_for(3)
    assert recipients(picky_smtp) == ["a@x.cn", "c@x.cn", "gone@x.cn"]
    assert [(read_back(i).status, read_back(i).attempts) for i in ids] == [
        (DeliveryStatus.SENT, 2 if i == gone else 1) for i in ids
    ]


def test_rq_worker_delivers_a_committed_message_over_smtp(
    committed_app, rq_workers, redis_connection, smtp_server, report
):
    worker = rq_workers.start(jobs.config())
    message = commit_report(report)

    job_id = delivery_job_id(message.id)
    job = wait_for_job(redis_connection, job_id, DONE, worker)

    assert job.return_value() == "sent"
    [received] = smtp_server.wait_for(1)
    assert_is_the_report(received.message, message)
    assert read_back(message.id).status == DeliveryStatus.SENT


# --- the sweep ----------------------------------------------------------------------------------


def queued_at(session: Session, moment: datetime, key: str) -> OutboxMessage:
    with time_machine.travel(moment, tick=False):
        message = services.queue_email(session, RECIPIENT, key, TEXT, dedup_key=key)
        session.flush()
    return message


def test_sweep_enqueues_delivery_of_old_queued_messages_only_and_once(app, session, with_redis):
    now = datetime.now(UTC)
    stalled = queued_at(session, now - timedelta(minutes=30), "stalled")
    recent = queued_at(session, now - timedelta(minutes=2), "recent")
    sent = queued_at(session, now - timedelta(minutes=30), "sent")
    failed = queued_at(session, now - timedelta(minutes=30), "failed")
    sent.status, failed.status = DeliveryStatus.SENT, DeliveryStatus.FAILED
    session.flush()

    assert requeue_stalled_email() == 1
    queue = jobs.queue()
    [job] = queue.jobs
    assert job.func is deliver_email_batch and job.args == ([stalled.id],)
    assert job.retries_left == OUTSIDE_ATTEMPTS - 1

    # The next sweep finds the delivery still pending and adds no second one.
    assert requeue_stalled_email() == 0
    assert [j.id for j in queue.jobs] == [job.id]
    assert recent.id not in job.args[0]


def test_sweep_leaves_messages_to_the_deliveries_still_pending_and_batches_the_rest(
    app, session, with_redis, monkeypatch
):
    monkeypatch.setattr(services, "DELIVERY_BATCH", 2)
    then = datetime.now(UTC) - timedelta(minutes=30)
    in_batch, retrying, single, *lost = [
        queued_at(session, then, key).id for key in ("a", "b", "c", "d", "e", "f")
    ]
    queue = jobs.queue()
    jobs.enqueue(deliver_email_batch, [in_batch], outside=True)  # waiting in the queue
    queue.enqueue_in(timedelta(minutes=5), deliver_email_batch, [retrying])  # a retry, later
    jobs.enqueue(deliver_email, single, outside=True, job_id=delivery_job_id(single))
    before = set(queue.job_ids)

    assert requeue_stalled_email() == 3

    added = [j for j in queue.jobs if j.id not in before]
    assert [j.args[0] for j in added] == [lost[:2], lost[2:]]
