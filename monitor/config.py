"""Configuration: one typed object, read from the environment and handed to the factory."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.i18n import Language


class ConfigError(ValueError):
    """A setting in the environment cannot be used."""


def _default_instance_path() -> Path:
    return Path.cwd() / "instance"


#: Environment variable of each field whose name is not simply the field's, upper-cased.
_ENV_NAMES = {"instance_path": "MONITOR_INSTANCE_PATH"}
#: Fields for which an empty variable is a value, not "unset": no reminder days, no reminders.
_EMPTY_IS_A_VALUE = frozenset({"survey_reminder_days"})


def _env_name(field_name: str) -> str:
    return _ENV_NAMES.get(field_name, field_name.upper())


@dataclass(frozen=True)
class Config:
    """Settings of one deployment. Every field maps to the environment variable of its upper-case
    name (``instance_path``: ``MONITOR_INSTANCE_PATH``); the README's table documents them."""

    #: Where the SQLite default database, the outbox folder and generated files live.
    instance_path: Path = field(default_factory=_default_instance_path)
    #: SQLAlchemy URL; empty means a SQLite file in the instance folder.
    database_url: str = ""
    #: Redis for RQ; empty means jobs run in-process, right after the transaction commits.
    redis_url: str = ""
    #: ``smtp://user:pass@host:port`` (or ``smtps://``, ``smtp+starttls://``); empty means
    #: messages are written as ``.eml`` files to ``instance/outbox/``.
    smtp_url: str = ""
    #: Sender address of every message.
    mail_from: str = "monitor@localhost"
    #: Signs CSRF tokens and other short-lived values; a random one is made per process if unset.
    secret_key: str = ""
    #: Public address used in links inside emails.
    base_url: str = "http://127.0.0.1:5000"
    #: Time zone used when an account or user has none.
    default_timezone: str = "UTC"
    #: Language used when a contact or user has none (``en`` or ``zh``).
    default_language: str = "en"
    #: RQ queue for everything monitor enqueues.
    queue_name: str = "monitor"
    #: Echo SQL statements to the log.
    sql_echo: bool = False
    #: Day of the quarter's first month on which its survey cycle opens (1-28).
    survey_open_day: int = 1
    #: Days a survey cycle stays open; its links expire when it closes.
    survey_length_days: int = 21
    #: Reminder days after opening, comma-separated (two at most; empty: no reminders).
    survey_reminder_days: str = "7,14"
    #: Weight of each respondent role in an account's score, ``role:weight`` comma-separated.
    survey_role_weights: str = "decider:0.4,buyer:0.3,user:0.3"
    #: Fewer answers than this: "too few answers" instead of a score.
    survey_min_answers: int = 3
    #: The same, for one account's scores.
    survey_min_account_answers: int = 1
    #: Survey page requests per client address and window, ``requests/seconds``.
    survey_page_rate: str = "60/60"
    #: Company name in every report's header and letters.
    reports_company_name: str = "monitor"
    #: Folder of the archived report files; empty means ``reports/`` in the instance folder.
    reports_path: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "instance_path", Path(self.instance_path))
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.instance_path / 'monitor.sqlite3'}"
            )
        if not self.secret_key:
            object.__setattr__(self, "secret_key", secrets.token_hex(32))
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"DEFAULT_TIMEZONE: unknown time zone {self.default_timezone!r}"
            ) from exc
        if self.default_language not in set(Language):
            raise ConfigError(f"DEFAULT_LANGUAGE: must be one of {', '.join(Language)}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def outbox_path(self) -> Path:
        return self.instance_path / "outbox"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Config:
        """Read every field from its upper-case environment variable; ``overrides`` win."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for f in fields(cls):
            name = _env_name(f.name)
            raw = environ.get(name)
            if raw is None or (raw == "" and f.name not in _EMPTY_IS_A_VALUE):
                continue
            if f.type == "bool":
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.type == "int":
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise ConfigError(f"{name}: not a whole number: {raw!r}") from None
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment under which :meth:`from_env` gives back this configuration (what a
        worker process started by this one needs)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            env[_env_name(f.name)] = ("1" if value else "0") if f.type == "bool" else str(value)
        return env
