"""Every periodic job of every package, in one list (each package declares its own).

``monitor.cron`` hands the list to ``rq cron``; ``flask --app wsgi jobs run`` runs an entry
in-process, for deployments without Redis (the embedded default) driven by the system's cron.
"""

from __future__ import annotations

from monitor.complaints.jobs import PERIODIC as COMPLAINTS_PERIODIC
from monitor.email.jobs import PERIODIC as EMAIL_PERIODIC
from monitor.jobs import Periodic
from monitor.reports.jobs import PERIODIC as REPORTS_PERIODIC
from receivables.jobs import PERIODIC as RECEIVABLES_PERIODIC
from surveys.jobs import PERIODIC as SURVEYS_PERIODIC

SCHEDULE: list[Periodic] = [
    *EMAIL_PERIODIC,
    *COMPLAINTS_PERIODIC,
    *RECEIVABLES_PERIODIC,
    *SURVEYS_PERIODIC,
    *REPORTS_PERIODIC,
]


def by_name() -> dict[str, Periodic]:
    """Each periodic job under its function's name."""
    return {job.func.__name__: job for job in SCHEDULE}
