"""Periodic jobs of every package, for one ``rq cron monitor.cron`` process per deployment.

Each package declares ``PERIODIC`` in its ``jobs.py``; :mod:`monitor.schedule` collects them. Every
periodic job is safe to run twice, so a restart of ``rq cron`` or an overlap does no harm.
"""

from __future__ import annotations

from rq import cron

from monitor.config import Config
from monitor.jobs import FAILURE_TTL
from monitor.schedule import SCHEDULE


def register_all(queue_name: str) -> None:
    """Hand every periodic job to ``rq cron``, which loads this module."""
    for job in SCHEDULE:
        cron.register(
            job.func, queue_name, cron=job.cron, job_timeout=job.timeout, failure_ttl=FAILURE_TTL
        )


register_all(Config.from_env().queue_name)
