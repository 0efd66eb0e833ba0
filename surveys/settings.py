"""The survey practice's settings, read from the environment (defaults are the practice's).

| variable | default | meaning |
| --- | --- | --- |
| ``SURVEY_OPEN_DAY`` | ``1`` | day of the quarter's first month on which its cycle opens |
| ``SURVEY_LENGTH_DAYS`` | ``21`` | days a cycle stays open; links expire when it closes |
| ``SURVEY_REMINDER_DAYS`` | ``7,14`` | reminder days after opening (two at most) |
| ``SURVEY_ROLE_WEIGHTS`` | ``decider:0.4,buyer:0.3,user:0.3`` | weights of the account score |
| ``SURVEY_MIN_ANSWERS`` | ``3`` | fewer answers than this: "too few answers" instead of a score |
| ``SURVEY_MIN_ACCOUNT_ANSWERS`` | ``1`` | the same, for one account's scores |
| ``SURVEY_PAGE_RATE`` | ``60/60`` | page requests per client address / window seconds |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache

from flask import current_app, has_app_context

from monitor.config import ConfigError

ROLES = ("decider", "buyer", "user")
#: Reminders per invitation, whatever the configuration says.
MAX_REMINDERS = 2


def _default_weights() -> dict[str, Decimal]:
    return {"decider": Decimal("0.4"), "buyer": Decimal("0.3"), "user": Decimal("0.3")}


@dataclass(frozen=True)
class SurveySettings:
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
    def from_env(cls, environ: dict[str, str] | None = None) -> SurveySettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        try:
            for name, key in (
                ("open_day", "SURVEY_OPEN_DAY"),
                ("length_days", "SURVEY_LENGTH_DAYS"),
                ("min_answers", "SURVEY_MIN_ANSWERS"),
                ("min_account_answers", "SURVEY_MIN_ACCOUNT_ANSWERS"),
            ):
                if env.get(key):
                    values[name] = int(env[key])
            if (raw := env.get("SURVEY_REMINDER_DAYS")) is not None:
                values["reminder_days"] = tuple(int(d) for d in raw.split(",") if d.strip())
            if raw := env.get("SURVEY_ROLE_WEIGHTS"):
                pairs = (item.split(":") for item in raw.split(","))
                values["role_weights"] = {k.strip(): Decimal(v.strip()) for k, v in pairs}
            if raw := env.get("SURVEY_PAGE_RATE"):
                count, _, seconds = raw.partition("/")
                values["page_rate"] = (int(count), int(seconds or 60))
        except (ValueError, InvalidOperation) as exc:
            raise ConfigError(f"survey setting not understood: {exc}") from exc
        return cls(**values)  # type: ignore[arg-type]


@cache
def _from_env() -> SurveySettings:
    return SurveySettings.from_env()


def current() -> SurveySettings:
    """The settings of the app in context (tests may put their own under
    ``app.extensions["surveys.settings"]``), or of the environment (workers, cron)."""
    if has_app_context() and "surveys.settings" in current_app.extensions:
        return current_app.extensions["surveys.settings"]
    return _from_env()
