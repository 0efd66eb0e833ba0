"""Background and periodic jobs of receivables (plain functions taking ids, safe to run twice)."""

from __future__ import annotations

import logging

from monitor.db import utcnow
from monitor.jobs import Periodic, job_session
from receivables.metrics import last_month_end, take_month_end_snapshot

log = logging.getLogger(__name__)


def snapshot_month_end() -> None:
    """Store last month's month-end aging of every account with something open.

    Runs daily so that a missed night is caught up; accounts already stored for that month are
    skipped, so running it twice stores each once.
    """
    month_end = last_month_end(utcnow().date())
    with job_session("snapshot_month_end") as session:
        added = take_month_end_snapshot(session, month_end)
    log.info("month-end aging %s: %d accounts stored", month_end, added)


def run_escalation_ladder() -> str:
    """Move overdue accounts up the ladder as of today (UTC); safe to run twice, or on two
    workers at once (each level acts once per account and cycle)."""
    from receivables import ladder  # the ledger and aging load only where the job runs

    with job_session("run_escalation_ladder") as session:
        result = ladder.run(session, utcnow().date())
    return str(result)


PERIODIC: list[Periodic] = [
    Periodic(snapshot_month_end, "20 0 * * *"),
    #: Daily at 06:00 UTC, before the working day in Asia and Europe.
    Periodic(run_escalation_ladder, cron="0 6 * * *", timeout=3600),
]
