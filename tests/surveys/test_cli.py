"""``flask surveys ...``: open a cycle (dry run first), its status, reminders, questionnaires."""

from __future__ import annotations

import shlex

import pytest
from sqlalchemy import func, select

from surveys.models import Invitation, SurveyCycle
from tests.surveys.test_scoring import answer


def flask(runner, command: str):
    return runner.invoke(args=shlex.split(command))


@pytest.fixture
def book(make_account, survey_settings, q4, session):
    make_account("A", [("decider", "zh"), ("buyer", "en"), ("user", "en", True)])
    make_account("C", [("user", "zh"), ("finance", "en")])
    session.commit()


def invitations(session) -> int:
    return session.scalar(select(func.count(Invitation.id)))


def test_dry_run_shows_who_would_be_invited_and_changes_nothing(runner, session, book):
    shown = flask(runner, "surveys open-cycle 2026-Q4 --dry-run")
    assert shown.exit_code == 0, shown.output
    assert "2026-Q4: would be opened (dry run)" in shown.output
    assert "eligible: 4, opted out (skipped): 1" in shown.output
    assert "would invite: 3" in shown.output
    assert "by role: decider 1, buyer 1, user 1" in shown.output
    assert "by language: en 1, zh 2" in shown.output
    assert session.scalar(select(func.count(SurveyCycle.id))) == 0


def test_open_cycle_invites_with_a_progress_bar_then_again_invites_nobody(runner, session, book):
    opened = flask(runner, "surveys open-cycle 2026-Q4")
    assert opened.exit_code == 0, opened.output
    assert "2026-Q4: opened, 2026-10-01 09:00 to 2026-10-22 09:00 UTC" in opened.output
    assert "4 eligible, 1 opted out (skipped)" in opened.output
    assert "inviting" in opened.output and "3 invitation(s) sent" in opened.output
    assert invitations(session) == 3

    again = flask(runner, "surveys open-cycle 2026-Q4")
    assert again.exit_code == 0, again.output
    assert "already open" in again.output and "0 invitation(s) sent" in again.output
    assert invitations(session) == 3


def test_status_and_remind(runner, session, book, q4):
    flask(runner, "surveys open-cycle 2026-Q4")
    answer(session, "decider0@sv1.example.cn", "zh", recommend=9, value=4, partnership=4)
    session.commit()
    status = flask(runner, "surveys status 2026-Q4")
    assert status.exit_code == 0, status.output
    assert "invitations" in status.output  # the progress bar
    assert "invited 3, still to invite 0" in status.output
    assert "responded 1 (33.3%)" in status.output

    q4.move_to("2026-10-08T10:00:00+00:00")
    reminded = flask(runner, "surveys remind")
    assert reminded.exit_code == 0, reminded.output
    assert reminded.output.strip() == "2 reminder(s) sent"
    assert flask(runner, "surveys remind").output.strip() == "0 reminder(s) sent"


@pytest.mark.parametrize("command", ["open-cycle 2026-Q5", "status Q4-2026", "open-cycle x"])
def test_a_bad_quarter_is_refused_with_a_message(runner, session, book, command):
    refused = flask(runner, f"surveys {command}")
    assert refused.exit_code != 0
    assert "a quarter such as 2026-Q4" in refused.output


def test_status_of_a_cycle_never_opened(runner, book):
    missing = flask(runner, "surveys status 2026-Q3")
    assert missing.exit_code == 1 and "no cycle for 2026-Q3" in missing.output


def test_load_questionnaires_reports_versions(runner, session):
    first = flask(runner, "surveys load-questionnaires")
    assert first.exit_code == 0, first.output
    assert "decider  version 1 (new)" in first.output
    assert "decider  version 1\n" in flask(runner, "surveys load-questionnaires").output


def test_a_future_quarter_opens_on_its_day_and_invites_nobody_before(runner, session, book):
    early = flask(runner, "surveys open-cycle 2027-Q1")
    assert early.exit_code == 0, early.output
    assert "2027-Q1: opened, 2027-01-01 00:00 to 2027-01-22 00:00 UTC" in early.output
    assert "invitations go out when it opens" in early.output
    assert invitations(session) == 0
