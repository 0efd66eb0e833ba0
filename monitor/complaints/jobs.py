"""Background and periodic jobs of complaints (plain functions, safe to run twice)."""

from __future__ import annotations

from monitor import jobs
from monitor.complaints import escalation, services
from monitor.jobs import Periodic


def escalate_sla_breaches() -> int:
    """Record the SLA breaches not recorded yet and escalate each once; returns how many.

    The breach rows, their history entries and the escalation emails commit together, and a
    second run (or a concurrent one) finds the breach recorded and does nothing.
    """
    base_url = jobs.config().base_url
    with jobs.job_session("escalate_sla_breaches") as session:
        breaches = services.detect_breaches(session)
        for breach in breaches:
            escalation.escalate(session, breach, base_url)
    return len(breaches)


PERIODIC = [Periodic(escalate_sla_breaches, cron="*/5 * * * *")]
