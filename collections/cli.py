"""Command line of receivables: ``flask --app wsgi receivables <command>``."""

from __future__ import annotations

from datetime import date, timedelta

import click

from monitor.cli import cli_session, parse_date
from monitor.db import utcnow
from receivables import aging, metrics

group = click.Group("receivables", help="Receivables: aging, month-end snapshots, imports.")


@group.command("aging")
@click.option("--as-of", callback=parse_date, help="Date (YYYY-MM-DD); default today (UTC).")
@click.option("--basis", type=click.Choice(["due", "invoice"]), default="due", show_default=True)
@click.option("--buckets", default=None, help="Upper limits in days, e.g. 0,30,60,90,120.")
def aging_command(as_of: date | None, basis: str, buckets: str | None) -> None:
    """Print the aging totals per currency."""
    try:
        limits = [int(part) for part in buckets.split(",")] if buckets else None
    except ValueError:
        raise click.BadParameter("comma-separated whole days", param_hint="--buckets") from None
    with cli_session() as session:
        report = aging.aging_report(session, as_of or utcnow().date(), basis, limits)  # type: ignore[arg-type]
    click.echo(f"aging as of {report.as_of} by {basis} date, {len(report.rows)} accounts open")
    click.echo(f"{'':8}" + "".join(f"{label:>16}" for label in [*report.labels, "total"]))
    for currency, totals in sorted(report.totals.items()):
        amounts = [totals[label] for label in [*report.labels, "total"]]
        click.echo(f"{currency:8}" + "".join(f"{amount:>16,.2f}" for amount in amounts))


@group.command("snapshot")
@click.option("--month-end", callback=parse_date, help="Month end to store; default the last one.")
def snapshot_command(month_end: date | None) -> None:
    """Store the month-end aging snapshot (accounts stored already are skipped)."""
    month_end = month_end or metrics.last_month_end(utcnow().date())
    if (month_end + timedelta(days=1)).day != 1:
        raise click.BadParameter(
            f"{month_end} is not the last day of a month", param_hint="--month-end"
        )
    with cli_session() as session:
        added = metrics.take_month_end_snapshot(session, month_end)
    click.echo(f"month-end aging {month_end}: {added} accounts stored")


from receivables import import_cli  # noqa: E402, F401  (adds `receivables import ...` to group)
