"""Words and templates of the survey page and emails, in English and Chinese.

The words live in ``surveys/data/strings.toml``; templates in ``surveys/templates``. One Jinja
environment renders both the public page and the emails, so jobs (no Flask app) can render too.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.i18n import Language

LANGUAGES = tuple(Language)


@cache
def _strings() -> dict[str, dict[str, str]]:
    data = resources.files("surveys.data").joinpath("strings.toml").read_text("utf-8")
    return tomllib.loads(data)


def language_or(value: str | None, fallback: str) -> str:
    """``value`` when it is a language monitor speaks, else ``fallback``."""
    return value if value in LANGUAGES else fallback


def t(language: str, key: str, **values: Any) -> str:
    """The text ``key`` in ``language``, with ``{placeholders}`` filled in."""
    text = _strings()[language][key]
    return text.format(**values) if values else text


def words(language: str) -> dict[str, str]:
    """Every text of ``language`` (for templates)."""
    return _strings()[language]


def local_time(moment: datetime, language: str, zone: str = "UTC") -> str:
    """A timestamp as people of ``language`` write it, in ``zone``."""
    local = moment.astimezone(ZoneInfo(zone))
    if language == Language.ZH:
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} ({zone})"
    return f"{local:%Y-%m-%d %H:%M} ({zone})"


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("surveys", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
