"""Command line of reports: ``flask --app wsgi reports <command>``."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from monitor.cli import cli_session, parse_date
from monitor.i18n import Language
from monitor.reports import services
from monitor.reports.models import Report, ReportKind

group = click.Group("reports", help="PDF reports: generate one, list the archive.")


@group.command("generate")
@click.argument("kind", type=click.Choice([k.value for k in ReportKind]))
@click.option("--as-of", callback=parse_date, help="Date (YYYY-MM-DD); default today.")
@click.option("--lang", "language", type=click.Choice([lang.value for lang in Language]),
              default="en", show_default=True)  # fmt: skip
@click.option("--account", "account_id", type=int, help="Statements: the account id.")
@click.option("--variant", type=click.Choice(services.VARIANTS), help="Statements: the letter.")
@click.option("--period", type=click.Choice(services.PERIODS), help="Executive summary.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also copy the PDF here.")  # fmt: skip
def generate_command(
    kind: str,
    as_of: date | None,
    language: str,
    account_id: int | None,
    variant: str | None,
    period: str | None,
    output: Path | None,
) -> None:
    """Generate a KIND report now (aging, escalation, executive, statement) into the archive."""
    settings = services.ReportSettings.of(current_app.config["MONITOR"])
    as_of = as_of or settings.today()
    report_kind = ReportKind(kind)
    with cli_session() as session:
        parameters = services.check_parameters(
            session,
            report_kind,
            as_of,
            settings.today(),
            account_id=account_id,
            variant=variant,
            period=period,
        )
        report = services.request_report(session, report_kind, as_of, language, parameters)
        written = []
        try:
            written = services.generate(session, report, settings)
            session.commit()
        except BaseException:
            services.remove_files(written)
            raise
    path = settings.folder / (report.file_name or "")
    if output is not None:
        shutil.copyfile(path, output)
    click.echo(
        f"report {report.id}: {report.kind.value} as of {report.as_of} ({report.language.value}),"
        f" {report.size:,} bytes, sha256 {report.sha256}"
    )
    click.echo(f"archived at {path}" + (f", copied to {output}" if output else ""))


@group.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_command(limit: int) -> None:
    """The newest reports in the archive."""
    with cli_session() as session:
        for report in session.scalars(select(Report).order_by(Report.id.desc()).limit(limit)):
            click.echo(
                f"{report.id:>6}  {report.kind.value:<10} {report.as_of}  "
                f"{report.language.value}  {report.status.value:<7} {report.created_by_label}"
            )
