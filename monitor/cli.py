"""Command line: ``flask --app wsgi <group> <command>``.

Each command is a boundary: it opens its own transaction, acts as ``cli:<os user>``, and answers
bad input with a message and a non-zero exit.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import click
from flask import Flask
from sqlalchemy.orm import Session

from monitor import migrate
from monitor.api.problems import Problem
from monitor.api.schemas import EMAIL_PATTERN
from monitor.audit.context import Actor, acting_as
from monitor.jobs import config, database
from monitor.staff import services as staff
from monitor.staff.models import Role


@contextmanager
def cli_session() -> Iterator[Session]:
    """A committed-on-success transaction attributed to the OS user running the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    with (
        acting_as(Actor("cli", f"cli:{user}")),
        database().transaction() as session,
    ):
        try:
            yield session
        except Problem as exc:
            raise click.ClickException(exc.detail or exc.title) from None


# --- database -----------------------------------------------------------------------------------

db = click.Group("db", help="Database schema (Alembic migrations).")


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    cfg = config()
    if cfg.database_url.startswith("sqlite:///"):
        cfg.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(cfg.database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION ('base' removes every table)."""
    migrate.downgrade(config().database_url, revision)
    click.echo(f"database at {revision}")


@db.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    from alembic import command

    command.current(migrate.alembic_config(config().database_url))


# --- staff users and tokens ---------------------------------------------------------------------

users = click.Group("users", help="Staff users and their API tokens.")
ROLE_CHOICE = click.Choice([r.value for r in Role])


@users.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=ROLE_CHOICE,
    help="Repeat for several roles.",
)
@click.option(
    "--password", is_flag=True, help="Prompt for a password (for POST /api/v1/auth/token)."
)
@click.option("--token", "token_name", default=None, help="Also issue an API token with this name.")
def users_create(
    email: str, name: str, roles: tuple[str, ...], password: bool, token_name: str | None
) -> None:
    """Create a staff user EMAIL."""
    secret = None
    if password:
        secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _check_email(email)
    with cli_session() as session:
        user = staff.create_user(session, email, name, roles, password=secret)
        plain = staff.create_token(session, user, token_name)[1] if token_name else None
    click.echo(f"created user {user.id} <{user.email}> roles: {', '.join(user.roles)}")
    if plain:
        click.echo(f"API token (shown once): {plain}")


@users.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
def users_token(email: str, name: str) -> None:
    """Issue a new API token for EMAIL and print it once."""
    with cli_session() as session:
        user = staff.find_user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no staff user with email {email}")
        if not user.active:
            raise click.ClickException(f"{email} is inactive; reactivate the user first")
        _, plain = staff.create_token(session, user, name)
    click.echo(plain)


@users.command("revoke-token")
@click.argument("token_id", type=int)
def users_revoke_token(token_id: int) -> None:
    """Revoke the API token with id TOKEN_ID."""
    with cli_session() as session:
        token = staff.revoke_token(session, staff.get_token(session, token_id))
    click.echo(
        f"token {token.id} ({token.prefix}…) revoked at {token.revoked_at:%Y-%m-%d %H:%M} UTC"
    )


@users.command("list")
def users_list() -> None:
    """List staff users."""
    with cli_session() as session:
        page = staff.list_users(session, page=1, per_page=10_000)
        for user in page["items"]:
            state = "" if user.active else " (inactive)"
            click.echo(f"{user.id:>5}  {user.email:<40} {','.join(user.roles)}{state}")


@users.command("ensure-admin")
@click.option("--email", default="admin@example.com", show_default=True)
def users_ensure_admin(email: str) -> None:
    """Create the first admin and print a token, unless staff users exist already."""
    _check_email(email)
    with cli_session() as session:
        if staff.count_users(session):
            click.echo(
                "staff users exist; issue a token with: flask --app wsgi users token <email>"
            )
            return
        user = staff.create_user(session, email, "Administrator", [Role.ADMIN])
        _, plain = staff.create_token(session, user, "make run")
    click.echo(f"created admin <{email}>. API token (shown once, keep it):\n\n    {plain}\n")


def _check_email(email: str) -> None:
    """The API's rule for addresses, so the CLI stores nothing the API would refuse."""
    if len(email) > 254 or not re.fullmatch(EMAIL_PATTERN, email):
        raise click.ClickException(f"email: {email!r} is not a valid email address")


# --- demo data ----------------------------------------------------------------------------------

demo = click.Group("demo", help="Realistic demo data.")


@demo.command("load")
@click.option("--seed", default=7, show_default=True, type=int, help="Same seed, same data.")
@click.option(
    "--accounts",
    "size",
    default=120,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Number of accounts.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when accounts exist.")
def demo_load(seed: int, size: int, if_empty: bool) -> None:
    """Create demo accounts, contacts and staff."""
    from monitor import demo as demo_data

    with cli_session() as session:
        if if_empty and demo_data.has_accounts(session):
            click.echo("accounts exist; demo data not loaded")
            return
        summary = demo_data.generate(session, seed=seed, accounts=size)
    click.echo(", ".join(f"{count} {what}" for what, count in summary.items()))


# --- periodic jobs ------------------------------------------------------------------------------

jobs = click.Group("jobs", help="Periodic jobs (normally started by `rq cron monitor.cron`).")


@jobs.command("list")
def jobs_list() -> None:
    """List the periodic jobs and their schedules (crontab, UTC)."""
    from monitor.schedule import SCHEDULE

    for job in SCHEDULE:
        click.echo(f"{job.func.__name__:<32} {job.cron:<16} {job.func.__module__}")


@jobs.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run the periodic job NAME once, in this process (e.g. from the system's crontab when
    there is no Redis). Periodic jobs are safe to run twice."""
    from monitor.schedule import by_name

    known = by_name()
    if name not in known:
        raise click.ClickException(f"no periodic job {name!r}; known: {', '.join(sorted(known))}")
    click.echo(f"{name}: {known[name].func()}")


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """Click callback of a ``YYYY-MM-DD`` option (None when not given)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-06-30") from None


def register(app: Flask) -> None:
    from monitor.reports.cli import group as reports_cli
    from receivables.cli import group as receivables_cli
    from surveys.cli import group as surveys_cli

    for group in (db, users, demo, jobs, receivables_cli, surveys_cli, reports_cli):
        app.cli.add_command(group)
