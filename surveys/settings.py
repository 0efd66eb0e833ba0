"""The survey practice's settings: a validated view of the ``survey_*`` fields of
:class:`monitor.config.Config` (variables and defaults: the README's configuration table)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from monitor import jobs
from monitor.config import Config, ConfigError

ROLES = ("decider", "buyer", "user")
#: Reminders per invitation, whatever the configuration says.
MAX_REMINDERS = 2


def _default_weights() -> dict[str, Decimal]:
    return {"decider": Decimal("0.4"), "buyer": Decimal("0.3"), "user": Decimal("0.3")}


@contextmanager
def _understood(variable: str) -> Iterator[None]:
    """A value that cannot be parsed is a :class:`ConfigError` naming its variable."""
    try:
        yield
    except (ValueError, InvalidOperation) as exc:
        raise ConfigError(f"{variable}: not understood: {exc}") from exc


@dataclass(frozen=True)
class SurveySettings:
    """The survey settings, parsed and checked; its defaults are :class:`Config`'s."""

    open_day: int = 1
    length_days: int = 21
    reminder_days: tuple[int, ...] = (7, 14)
    role_weights: dict[str, Decimal] = field(default_factory=_default_weights)
    min_answers: int = 3
    min_account_answers: int = 1
    #: Requests per window and window length (seconds) on the public page, per client address.
    page_rate: tuple[int, int] = (60, 60)

    def __post_init__(self) -> None:
        if not 1 <= self.open_day <= 28:
            raise ConfigError("SURVEY_OPEN_DAY: a day from 1 to 28")
        if not 1 <= self.length_days <= 92:
            raise ConfigError("SURVEY_LENGTH_DAYS: from 1 to 92 days (a quarter)")
        days = self.reminder_days
        if len(days) > MAX_REMINDERS or list(days) != sorted(set(days)):
            raise ConfigError("SURVEY_REMINDER_DAYS: at most two different days, ascending")
        if any(not 1 <= d < self.length_days for d in days):
            raise ConfigError("SURVEY_REMINDER_DAYS: each day within the cycle's length")
        if set(self.role_weights) != set(ROLES) or any(w < 0 for w in self.role_weights.values()):
            raise ConfigError("SURVEY_ROLE_WEIGHTS: a weight >= 0 for decider, buyer and user")
        if sum(self.role_weights.values()) <= 0:
            raise ConfigError("SURVEY_ROLE_WEIGHTS: at least one weight above 0")
        if self.min_answers < 1 or self.min_account_answers < 1:
            raise ConfigError("SURVEY_MIN_ANSWERS: at least 1")
        if self.page_rate[0] < 1 or self.page_rate[1] < 1:
            raise ConfigError("SURVEY_PAGE_RATE: requests/seconds, both at least 1")

    @classmethod
    def of(cls, config: Config) -> SurveySettings:
        """The settings of ``config``, parsed and checked; a bad one raises :class:`ConfigError`."""
        with _understood("SURVEY_REMINDER_DAYS"):
            days = config.survey_reminder_days.split(",")
            reminder_days = tuple(int(d) for d in days if d.strip())
        with _understood("SURVEY_ROLE_WEIGHTS"):
            pairs = (item.split(":") for item in config.survey_role_weights.split(","))
            role_weights = {k.strip(): Decimal(v.strip()) for k, v in pairs}
        with _understood("SURVEY_PAGE_RATE"):
            count, _, seconds = config.survey_page_rate.partition("/")
            page_rate = (int(count), int(seconds or 60))
        return cls(
            open_day=config.survey_open_day,
            length_days=config.survey_length_days,
            reminder_days=reminder_days,
            role_weights=role_weights,
            min_answers=config.survey_min_answers,
            min_account_answers=config.survey_min_account_answers,
            page_rate=page_rate,
        )


@lru_cache(maxsize=8)
def _parsed(config: Config) -> SurveySettings:
    # Config is frozen: each configuration's settings are parsed once, not on every request.
    return SurveySettings.of(config)


def current() -> SurveySettings:
    """The settings of the configuration in context: the app's, or the environment's (workers,
    cron)."""
    return _parsed(jobs.config())
