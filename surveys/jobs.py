"""Background and periodic jobs of surveys (plain functions taking ids, safe to run twice).

Opening a cycle enqueues one dispatch job per batch of contacts; each batch invites and mails
its contacts in one transaction. Invitations are unique per (cycle, contact), so a job run twice
or by two workers at once mails nobody twice.
"""

from __future__ import annotations

from datetime import timedelta

from monitor import jobs
from monitor.db import utcnow
from monitor.jobs import Periodic
from surveys import services, settings
from surveys.models import SurveyCycle

#: Reminders sent per transaction (their emails make one delivery batch).
REMINDER_CHUNK = 200


def dispatch_job_id(cycle: SurveyCycle, first_id: int) -> str:
    return f"survey-dispatch-{cycle.quarter}-{first_id}"


def dispatch_invitations(cycle_id: int, first_id: int, last_id: int) -> int:
    """Invite (and mail) the contacts with ids first..last not invited yet."""
    with jobs.job_session("dispatch_invitations") as session:
        return services.dispatch_batch(session, cycle_id, first_id, last_id, jobs.config().base_url)


def enqueue_dispatch(cycle_id: int) -> int:
    """Enqueue a dispatch job per batch of contacts still to invite; returns how many."""
    with jobs.job_session("enqueue_dispatch") as session:
        cycle = session.get(SurveyCycle, cycle_id)
        if cycle is None or not cycle.opens_at <= utcnow() < cycle.closes_at:
            return 0
        batches = services.dispatch_batches(session, cycle)
        ids = [dispatch_job_id(cycle, first) for first, _ in batches]
    for (first, last), job_id in zip(batches, ids, strict=True):
        jobs.enqueue(dispatch_invitations, cycle_id, first, last, job_id=job_id, timeout=1800)
    return len(batches)


def open_survey_cycle() -> str:
    """Open this quarter's cycle on its opening day and dispatch its invitations.

    Runs daily: before the opening day it does nothing; in the cycle's window it opens the cycle
    if needed and enqueues whatever is still to invite (nothing, once everyone is invited); a
    quarter whose window passed without a cycle is left to ``flask surveys open-cycle``.
    """
    cfg = settings.current()
    now = utcnow()
    quarter = services.quarter_of(now.date())
    opening = services.nominal_opening(quarter, cfg)
    with jobs.job_session("open_survey_cycle") as session:
        services.take_write_lock(session)
        cycle = services.find_cycle(session, quarter)
        if cycle is None:
            if now < opening:
                return f"{quarter}: opens on {opening:%Y-%m-%d}"
            if now >= opening + timedelta(days=cfg.length_days):
                return f"{quarter}: window missed; open it with `flask surveys open-cycle`"
            cycle, _ = services.open_cycle(session, quarter, cfg, now)
        cycle_id, quarter = cycle.id, cycle.quarter
    batches = enqueue_dispatch(cycle_id)
    return f"{quarter}: {batches} dispatch batch(es) enqueued"


def send_survey_reminders() -> int:
    """Remind non-responders whose reminder day has come; each reminder is sent once."""
    base_url = jobs.config().base_url
    with jobs.job_session("send_survey_reminders") as session:
        due = services.due_reminders(session)
    sent = 0
    for start in range(0, len(due), REMINDER_CHUNK):
        with jobs.job_session("send_survey_reminders") as session:
            services.take_write_lock(session)
            sent += services.send_reminders(session, due[start : start + REMINDER_CHUNK], base_url)
    return sent


def send_survey_digest() -> int:
    """Email managers yesterday's returns (UTC); once per manager and day."""
    with jobs.job_session("send_survey_digest") as session:
        yesterday = (utcnow() - timedelta(days=1)).date()
        return services.send_digest(session, yesterday, jobs.config().base_url)


PERIODIC: list[Periodic] = [
    Periodic(open_survey_cycle, cron="0 5 * * *"),
    Periodic(send_survey_digest, cron="0 6 * * *"),
    Periodic(send_survey_reminders, cron="0 8 * * *"),
]
