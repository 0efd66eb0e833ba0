"""Fixtures of the survey tests: accounts with surveyed contacts, an opened cycle, the links
that were mailed (read back from the outbox, the only place a plain token exists)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.accounts import services as accounts
from monitor.email.models import OutboxMessage
from surveys import services
from surveys.models import SurveyCycle
from surveys.settings import SurveySettings

#: 1 October 2026, 09:00 UTC: the 2026-Q4 cycle opens that day.
Q4_OPENING = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
LINK = re.compile(r"http://monitor\.test/s/([A-Za-z0-9_\-]{43})(?=\s|$)", re.MULTILINE)


@pytest.fixture
def q4() -> Iterator[time_machine.Coordinates]:
    """Time frozen on the opening morning of 2026-Q4 (move it with ``q4.move_to``)."""
    with time_machine.travel(Q4_OPENING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def survey_settings(app: Flask) -> SurveySettings:
    """The app's survey settings (the defaults)."""
    return SurveySettings.of(app.config["MONITOR"])


@pytest.fixture
def configure_surveys(app: Flask) -> Callable[..., SurveySettings]:
    """``configure_surveys(survey_min_answers=2)`` → the app runs with those survey fields of its
    configuration (as the variables would set them); returns the settings they make."""

    def configure(**fields: Any) -> SurveySettings:
        app.config["MONITOR"] = replace(app.config["MONITOR"], **fields)
        return SurveySettings.of(app.config["MONITOR"])

    return configure


@pytest.fixture
def make_account(session: Session) -> Callable[..., Any]:
    """``make_account("A", [("decider", "zh"), ("user", "en", True)])`` → an account whose
    contacts have those roles, languages and opt-outs (third item)."""
    counter = iter(range(1, 100_000))

    def make(account_class: str = "A", contacts: list[tuple[Any, ...]] = (), **extra: Any) -> Any:
        n = next(counter)
        account = accounts.create_account(
            session,
            code=f"SV-{n:04d}",
            name=extra.pop("name", f"上海测试{n}有限公司"),
            account_class=account_class,
            account_type="repeat",
            currency="CNY",
            timezone="Asia/Shanghai",
            **extra,
        )
        for i, spec in enumerate(contacts):
            role, language, *rest = spec
            accounts.create_contact(
                session,
                account,
                name=f"{role.title()} {n}-{i}",
                email=f"{role}{i}@sv{n}.example.cn",
                role=role,
                language=language,
                opted_out=bool(rest and rest[0]),
            )
        session.flush()
        return account

    return make


@dataclass
class Opened:
    cycle: SurveyCycle
    invited: int


def open_and_dispatch(session: Session, quarter: str, settings: SurveySettings) -> Opened:
    """Open ``quarter`` and dispatch every batch in this process (as the CLI does without
    Redis)."""
    cycle, _ = services.open_cycle(session, quarter, settings)
    invited = sum(
        services.dispatch_batch(session, cycle.id, first, last, "http://monitor.test")
        for first, last in services.dispatch_batches(session, cycle)
    )
    session.flush()
    return Opened(cycle, invited)


@pytest.fixture
def open_q4(session: Session, survey_settings: SurveySettings, q4: Any) -> Callable[[], Opened]:
    """Open 2026-Q4 and dispatch it, see :func:`open_and_dispatch`."""
    return lambda: open_and_dispatch(session, "2026-Q4", survey_settings)


def mailed_links(session: Session) -> dict[str, list[str]]:
    """Recipient → the tokens of the survey links mailed to them, oldest first."""
    found: dict[str, list[str]] = {}
    for message in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
        found.setdefault(message.recipient, []).extend(LINK.findall(message.text_body))
    return found


def link_of(session: Session, email: str) -> str:
    return mailed_links(session)[email][-1]
