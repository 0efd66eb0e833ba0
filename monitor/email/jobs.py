"""Email delivery jobs."""

from __future__ import annotations

from collections.abc import Sequence

from rq.job import Job

from monitor import jobs
from monitor.email import services
from monitor.jobs import OUTSIDE_ATTEMPTS, Periodic


class Undelivered(Exception):
    """Some messages of a delivery batch failed; raised after the others were recorded as sent,
    so that RQ retries the job (the retry claims only the messages still queued)."""


def delivery_job_id(message_id: int) -> str:
    """One RQ job id per single message: the sweep finds a delivery still pending (e.g. waiting
    for its next retry) and leaves it alone instead of starting a second one."""
    return f"deliver-email-{message_id}"


def _deliver(message_ids: Sequence[int]) -> tuple[int, services.Delivery]:
    """Claim, send and record ``message_ids`` in one transaction; (claimed count, delivery).

    The claim holds the rows until the commit, after the sends: a second run of the same
    messages waits, then finds them sent. Failures are recorded in that same commit, next to
    what was sent, so a failed message never makes the others go out again.
    """
    cfg = jobs.config()
    with jobs.job_session("deliver_email") as session:
        claimed = services.claim(session, message_ids)
        if not claimed:
            return 0, services.Delivery()
        delivery = services.send_each(services.transport_for(cfg), claimed, cfg.mail_from)
        services.record_delivery(session, claimed, delivery, OUTSIDE_ATTEMPTS)
    return len(claimed), delivery


def deliver_email(message_id: int) -> str:
    """Send one outbox message; safe to run twice (the second finds it sent and stops)."""
    claimed, delivery = _deliver([message_id])
    if message_id in delivery.failed:
        raise delivery.failed[message_id]  # RQ retries with back-off
    return "sent" if claimed else "skipped"


def deliver_email_batch(message_ids: list[int]) -> dict[str, int]:
    """Send a batch of outbox messages over one connection; safe to run twice or at once on two
    workers (each message is claimed by one run). Returns how many were sent and skipped (sent
    or given up already); raises :class:`Undelivered` when some failed, after recording them
    and the sent ones, so that RQ retries the failed ones with back-off."""
    claimed, delivery = _deliver(message_ids)
    if delivery.failed:
        failed = sorted(delivery.failed.items())
        errors = "; ".join(f"{i}: {exc!r}" for i, exc in failed[:5])  # each is kept on its row
        more = f"; and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise Undelivered(f"{len(failed)} of {claimed} message(s) not sent: {errors}{more}")
    return {"sent": len(delivery.sent), "skipped": len(message_ids) - claimed}


def requeue_stalled_email() -> int:
    """Enqueue delivery again, in batches, for messages that stayed queued (their first run was
    lost); those a pending job will deliver (queued, running, waiting for a retry) are left to
    it. Returns how many messages were enqueued."""
    with jobs.job_session("requeue_stalled_email") as session:
        stalled = services.stalled_messages(session)
    pending = _pending_deliveries() if stalled and jobs.config().redis_url else set()
    ids = [message_id for message_id in stalled if message_id not in pending]
    size = services.DELIVERY_BATCH
    for start in range(0, len(ids), size):
        # One that overlaps a pending job anyway (a race with a retry) claims nothing twice.
        jobs.enqueue(deliver_email_batch, ids[start : start + size], outside=True)
    return len(ids)


def _pending_deliveries() -> set[int]:
    """Ids of the messages that a delivery job still to run (queued, running, scheduled for a
    retry) will try; read from the job arguments, as batch jobs are not named per message."""
    queue = jobs.queue()
    job_ids = [
        *queue.get_job_ids(),
        *queue.started_job_registry.get_job_ids(),
        *queue.scheduled_job_registry.get_job_ids(),
    ]
    found: set[int] = set()
    for job in Job.fetch_many(job_ids, connection=queue.connection):
        if job is None:
            continue
        if job.func_name == f"{__name__}.deliver_email_batch":
            found.update(job.args[0])
        elif job.func_name == f"{__name__}.deliver_email":
            found.add(job.args[0])
    return found


PERIODIC = [Periodic(requeue_stalled_email, cron="*/10 * * * *")]
