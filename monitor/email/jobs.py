"""Email delivery jobs."""

from __future__ import annotations

from monitor import jobs
from monitor.email import services
from monitor.jobs import OUTSIDE_ATTEMPTS, Periodic


def delivery_job_id(message_id: int) -> str:
    """One RQ job id per message: the sweep finds a delivery still pending (e.g. waiting for its
    next retry) and leaves it alone instead of starting a second one."""
    return f"deliver-email-{message_id}"


def deliver_email(message_id: int) -> str:
    """Send one outbox message; safe to run twice (the second finds it sent and stops)."""
    cfg = jobs.config()
    transport = services.transport_for(cfg)
    try:
        with jobs.job_session("deliver_email") as session:
            message = services.claim(session, message_id)
            if message is None:
                return "skipped"
            transport.send(services.build_mime(message, cfg.mail_from))
            services.mark_sent(session, message)
    except Exception as exc:
        with jobs.job_session("deliver_email") as session:
            services.record_failure(session, message_id, repr(exc), OUTSIDE_ATTEMPTS)
        raise  # RQ retries with back-off
    return "sent"


def requeue_stalled_email() -> int:
    """Enqueue delivery again for messages that stayed queued (their first run was lost)."""
    with jobs.job_session("requeue_stalled_email") as session:
        ids = services.stalled_messages(session)
    for message_id in ids:
        # A delivery still pending under this id (e.g. waiting for its retry) is left alone; one
        # that overlaps anyway claims the message first, so it costs a no-op run.
        jobs.enqueue(deliver_email, message_id, outside=True, job_id=delivery_job_id(message_id))
    return len(ids)


PERIODIC = [Periodic(requeue_stalled_email, cron="*/10 * * * *")]
