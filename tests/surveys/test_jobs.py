"""The periodic jobs with real RQ workers and a loopback SMTP server: the cycle job run twice, at
once on two workers, invites and mails every contact exactly once."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from rq.job import JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from monitor import jobs
from monitor.accounts import services as accounts
from monitor.db import utcnow
from monitor.email.models import DeliveryStatus, OutboxMessage
from monitor.schedule import SCHEDULE
from surveys import services
from surveys.jobs import PERIODIC, dispatch_invitations, open_survey_cycle
from surveys.models import Invitation, SurveyCycle
from surveys.settings import SurveySettings
from tests.fixtures.background import app_context, wait_for_job, wait_until

DONE = {JobStatus.FINISHED, JobStatus.FAILED}
ACCOUNTS = 10


def test_the_periodic_jobs_are_scheduled_for_rq_cron():
    names = {job.func.__name__ for job in SCHEDULE}
    assert {"open_survey_cycle", "send_survey_reminders", "send_survey_digest"} <= names
    assert all(job in SCHEDULE for job in PERIODIC)


@pytest.fixture
def mailing_app(rq_config, smtp_server):
    with app_context(replace(rq_config, smtp_url=smtp_server.url)) as app:
        yield app


@pytest.fixture
def window_now(mailing_app):
    """Workers cannot share a frozen clock: make today fall inside this quarter's window in the
    configuration the workers are started with (no reminder day may lie beyond its length)."""
    today = utcnow().date()
    start = services.quarter_start(services.quarter_of(today))
    mailing_app.config["MONITOR"] = replace(
        jobs.config(),
        survey_open_day=1,
        survey_length_days=(today - start).days + 1,
        survey_reminder_days="",
    )
    return services.quarter_of(today)


def seed_contacts() -> int:
    """ACCOUNTS accounts with a decider, a buyer and a user each; every tenth user opted out.
    Returns the number of contacts to invite."""
    with jobs.database().transaction() as session:
        for n in range(ACCOUNTS):
            account = accounts.create_account(
                session,
                code=f"JOB-{n:03d}",
                name=f"Account {n}",
                account_class="B",
                account_type="repeat",
                currency="EUR",
                timezone="Europe/Berlin",
            )
            for role in ("decider", "buyer", "user"):
                accounts.create_contact(
                    session,
                    account,
                    name=f"{role} {n}",
                    email=f"{role}@job{n}.example.com",
                    role=role,
                    language="zh" if n % 2 else "en",
                    opted_out=role == "user" and n % 10 == 0,
                )
    return ACCOUNTS * 3 - ACCOUNTS // 10


def settle(connection, workers) -> None:
    """Wait until the queue is empty and no job is running (the dispatch fans out)."""
    queue = jobs.queue()
    started = StartedJobRegistry(queue=queue)
    wait_until(
        lambda: queue.count == 0 and started.count == 0,
        "the queue to drain",
        timeout=180,
        detail=lambda: "\n".join(w.output() for w in workers),
    )


def committed_counts() -> tuple[int, int, Counter]:
    with jobs.database().transaction() as session:
        invitations = session.scalar(select(func.count(Invitation.id)))
        messages = session.scalars(select(OutboxMessage.recipient)).all()
        cycles = session.scalar(select(func.count(SurveyCycle.id)))
    assert cycles == 1
    return invitations, len(messages), Counter(messages)


def test_cron_job_run_twice_at_once_on_two_workers_dispatches_once(
    mailing_app, rq_config, rq_workers, redis_connection, smtp_server, window_now
):
    expected = seed_contacts()
    config = jobs.config()
    workers = [rq_workers.start(config), rq_workers.start(config)]
    queue = jobs.queue()
    first, second = queue.enqueue(open_survey_cycle), queue.enqueue(open_survey_cycle)
    for job in (first, second):
        done = wait_for_job(redis_connection, job.id, DONE, *workers)
        assert done.get_status() == JobStatus.FINISHED, "\n".join(w.output() for w in workers)
        assert done.return_value().startswith(window_now)
    settle(redis_connection, workers)
    received = smtp_server.wait_for(expected, timeout=120)
    settle(redis_connection, workers)
    invitations, messages, recipients = committed_counts()
    assert invitations == messages == expected
    assert max(recipients.values()) == 1
    assert len(smtp_server.received) == expected
    assert len({r.message["To"] for r in received}) == expected

    # a third run, later the same day, finds nothing left to do
    third = queue.enqueue(open_survey_cycle)
    done = wait_for_job(redis_connection, third.id, DONE, *workers)
    assert done.return_value() == f"{window_now}: 0 dispatch batch(es) enqueued"


def test_one_batch_dispatched_by_two_workers_at_once_mails_each_contact_once(
    mailing_app, rq_workers, redis_connection, smtp_server
):
    expected = seed_contacts()
    now = utcnow()
    with jobs.database().transaction() as session:
        settings = SurveySettings(length_days=21)
        cycle, _ = services.open_cycle(session, services.quarter_of(now.date()), settings, now)
        cycle.closes_at = now + timedelta(days=21)
        cycle_id = cycle.id
    config = jobs.config()
    workers = [rq_workers.start(config), rq_workers.start(config)]
    queue = jobs.queue()
    racing = [queue.enqueue(dispatch_invitations, cycle_id, 1, 2**31 - 1) for _ in range(2)]
    results = [wait_for_job(redis_connection, j.id, DONE, *workers) for j in racing]
    assert all(r.get_status() == JobStatus.FINISHED for r in results), "\n".join(
        w.output() for w in workers
    )
    assert sorted(r.return_value() for r in results) == [0, expected]
    smtp_server.wait_for(expected, timeout=120)
    settle(redis_connection, workers)
    invitations, messages, recipients = committed_counts()
    assert invitations == messages == len(smtp_server.received) == expected
    assert max(recipients.values()) == 1
    with jobs.database().transaction() as session:
        outcomes = set(session.execute(select(OutboxMessage.status, OutboxMessage.attempts)))
    assert outcomes == {(DeliveryStatus.SENT, 1)}  # each sent at its first claim
