"""Command line of surveys: ``flask --app wsgi surveys <command>``."""

from __future__ import annotations

import time
from collections import Counter

import click
from flask import current_app

from monitor.accounts import services as accounts
from monitor.cli import cli_session
from monitor.db import utcnow
from surveys import jobs, questionnaires, services, settings
from surveys.models import SurveyCycle

group = click.Group("surveys", help="Quarterly satisfaction surveys.")


def _quarter(value: str) -> str:
    if not services.QUARTER.fullmatch(value):
        raise click.BadParameter("a quarter such as 2026-Q4", param_hint="QUARTER")
    return value


@group.command("load-questionnaires")
def load_questionnaires() -> None:
    """Store the shipped questionnaires (surveys/data) as new versions where they changed."""
    with cli_session() as session:
        loaded = questionnaires.load_shipped(session)
        for role, (found, new) in loaded.items():
            click.echo(f"{role:<8} version {found.version}{' (new)' if new else ''}")


@group.command("open-cycle")
@click.argument("quarter")
@click.option("--dry-run", is_flag=True, help="Show who would be invited; change nothing.")
def open_cycle(quarter: str, dry_run: bool) -> None:
    """Open the cycle of QUARTER (e.g. 2026-Q4) and send its invitations.

    Without Redis the invitations are created and queued here, with a progress bar; with Redis
    the work goes to the RQ workers (follow it with `flask surveys status QUARTER --watch`).
    Running it again invites only whoever was not invited yet.
    """
    _quarter(quarter)
    cfg = settings.current()
    if dry_run:
        _dry_run(quarter)
        return
    with cli_session() as session:
        cycle, created = services.open_cycle(session, quarter, cfg)
        cycle_id = cycle.id
        click.echo(
            f"{quarter}: {'opened' if created else 'already open'}, "
            f"{cycle.opens_at:%Y-%m-%d %H:%M} to {cycle.closes_at:%Y-%m-%d %H:%M} UTC; "
            f"{cycle.eligible_count} eligible, {cycle.opted_out_count} opted out (skipped)"
        )
        if cycle.closes_at <= utcnow():
            raise click.ClickException(f"{quarter} closed on {cycle.closes_at:%Y-%m-%d}")
        if cycle.opens_at > utcnow():
            click.echo("invitations go out when it opens (the daily open_survey_cycle job)")
            return
        batches = services.dispatch_batches(session, cycle)
    if current_app.config["MONITOR"].redis_url:
        count = jobs.enqueue_dispatch(cycle_id)
        click.echo(f"{count} dispatch batch(es) enqueued; watch: flask surveys status {quarter}")
        return
    invited = 0
    with click.progressbar(batches, label="inviting", show_pos=True) as bar:
        for first, last in bar:
            invited += jobs.dispatch_invitations(cycle_id, first, last)
    click.echo(f"{invited} invitation(s) sent")


def _dry_run(quarter: str) -> None:
    with cli_session() as session:
        existing = services.find_cycle(session, quarter)
        contacts = accounts.survey_contacts(session, 0, 2**31 - 1)
        invited = services.invited_contact_ids(session, existing) if existing else set()
    to_invite = [c for c in contacts if not c.opted_out and c.contact_id not in invited]
    roles = Counter(c.role for c in to_invite)
    languages = Counter(c.language for c in to_invite)
    click.echo(f"{quarter}: {'exists' if existing else 'would be opened'} (dry run)")
    click.echo(
        f"eligible: {len(contacts)}, opted out (skipped): {sum(c.opted_out for c in contacts)}"
    )
    click.echo(f"already invited: {len(invited)}, would invite: {len(to_invite)}")
    click.echo("by role: " + ", ".join(f"{r} {roles[r]}" for r in settings.ROLES))
    click.echo("by language: " + ", ".join(f"{k} {v}" for k, v in sorted(languages.items())))


@group.command("remind")
def remind() -> None:
    """Send the reminders due now (also run daily by `rq cron`); each is sent once."""
    click.echo(f"{jobs.send_survey_reminders()} reminder(s) sent")


@group.command("status")
@click.argument("quarter")
@click.option("--watch", is_flag=True, help="Follow the dispatch until every invitation exists.")
def status(quarter: str, watch: bool) -> None:
    """Show the cycle of QUARTER: invitations (with a progress bar), opens, responses."""
    _quarter(quarter)
    with cli_session() as session:
        cycle = services.find_cycle(session, quarter)
        if cycle is None:
            raise click.ClickException(f"no cycle for {quarter}; open it with open-cycle")
        report = services.cycle_status(session, cycle)
    target = report.invited + report.still_to_invite
    with click.progressbar(length=max(target, 1), label="invitations", show_pos=True) as bar:
        bar.update(report.invited)
        while watch and report.still_to_invite:
            time.sleep(1)
            with cli_session() as session:
                fresh = session.get(SurveyCycle, report.cycle.id)
                assert fresh is not None
                newer = services.cycle_status(session, fresh)
            bar.update(newer.invited - report.invited)
            report = newer
    cycle = report.cycle
    rate = f"{100 * report.responded / report.invited:.1f}%" if report.invited else "-"
    click.echo(
        f"{quarter}: {cycle.opens_at:%Y-%m-%d %H:%M} to {cycle.closes_at:%Y-%m-%d %H:%M} UTC\n"
        f"eligible {cycle.eligible_count}, opted out {cycle.opted_out_count}, "
        f"invited {report.invited}, still to invite {report.still_to_invite}\n"
        f"opened {report.opened}, responded {report.responded} ({rate}), "
        f"reminded {report.reminded}, follow-ups {report.follow_ups}"
    )
