"""Report jobs: generate a requested report; send the distribution lists that are due."""

from __future__ import annotations

from datetime import date

from monitor import jobs
from monitor.jobs import Periodic
from monitor.reports import services


def generate_report(report_id: int) -> str:
    """Render a requested report into the archive; safe to run twice (the second finds it done).

    A failure is recorded on the report (status ``failed`` and the error) and no file is left
    behind; the exception goes on to RQ, which tries once more.
    """
    settings = services.ReportSettings.of(jobs.config())
    written = []
    try:
        with jobs.job_session("generate_report") as session:
            report = services.claim_report(session, report_id)
            if report is None:
                return "skipped"
            written = services.generate(session, report, settings)
    except Exception as exc:
        services.remove_files(written)  # the row that named them was rolled back
        with jobs.job_session("generate_report") as session:
            services.record_failure(session, report_id, f"{type(exc).__name__}: {exc}")
        raise
    return "done"


def run_job_id(list_id: int, period: str) -> str:
    return f"report-run-{list_id}-{period}"


def run_distribution(list_id: int, period: str, as_of: str) -> str:
    """Generate a list's report for ``period`` and email it to every recipient once.

    Safe to run twice and to retry: the run row of (list, period) is taken with a conditional
    update (a second run finds it sent), and each email's dedup key is the run and address.
    """
    settings = services.ReportSettings.of(jobs.config())
    day = date.fromisoformat(as_of)
    written = []
    try:
        with jobs.job_session("run_distribution") as session:
            run = services.start_run(session, list_id, period, day)
            if run is None:
                return "skipped"
            written = services.deliver_run(session, run, settings)
    except Exception as exc:
        services.remove_files(written)
        with jobs.job_session("run_distribution") as session:
            services.record_run_failure(
                session, list_id, period, day, f"{type(exc).__name__}: {exc}"
            )
        raise
    return "sent"


def send_scheduled_reports() -> int:
    """Enqueue every distribution list's sending that is due and not yet sent (a missed or
    failed one is taken up again on the next day, within its period)."""
    settings = services.ReportSettings.of(jobs.config())
    with jobs.job_session("send_scheduled_reports") as session:
        due = services.due_runs(session, settings.today())
    for item in due:
        jobs.enqueue(
            run_distribution,
            item.list_id,
            item.period,
            item.as_of.isoformat(),
            outside=True,
            job_id=run_job_id(item.list_id, item.period),
            timeout=3600,
        )
    return len(due)


PERIODIC = [Periodic(send_scheduled_reports, cron="30 5 * * *", timeout=600)]
