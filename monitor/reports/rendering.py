"""The one rendering path: a Jinja template and the print stylesheet, through WeasyPrint, to PDF.

WeasyPrint fetches nothing: charts are inline SVG, the stylesheet is read from the package, and
fonts come from fontconfig (Debian's ``fonts-noto-cjk``), embedded as subsets. The URL fetcher
refuses every URL (``file://`` and the network included) and makes any attempt fail the render,
so a template that tries to load something is found at once instead of printing a hole.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from monitor.reports.texts import code_label, translator

_templates = Environment(
    loader=PackageLoader("monitor.reports", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class RefusingFetcher(URLFetcher):
    """Fetches nothing at all; any attempt stops the render (``fail_on_errors``)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise PermissionError(f"reports load nothing from outside the document: {url[:100]}")


@cache
def _style() -> tuple[FontConfiguration, CSS]:
    """The print stylesheet, parsed once per process with its font configuration."""
    fonts = FontConfiguration()
    text = files("monitor.reports.templates").joinpath("print.css").read_text("utf-8")
    return fonts, CSS(string=text, font_config=fonts, url_fetcher=RefusingFetcher())


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of ``html`` laid out with the print stylesheet."""
    fonts, stylesheet = _style()
    document = HTML(string=html, base_url=None, url_fetcher=RefusingFetcher())
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts)


def money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:,.2f}"


def figure(value: Decimal | float | None, suffix: str = "") -> str:
    """A figure to one decimal, or an en dash where there is none (never a made-up zero)."""
    return "–" if value is None else f"{Decimal(str(value)):,.1f}{suffix}"


def percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:.1f}%"


def day(value: date | datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def render_html(template: str, language: str, **context: Any) -> str:
    """The report's HTML in ``language`` (``en`` or ``zh``), with the helpers templates use."""
    t: Callable[..., str] = translator(language)
    return _templates.get_template(template).render(
        lang=language,
        t=t,
        code=lambda value: code_label(language, str(value)),
        money=money,
        figure=figure,
        percent=percent,
        day=day,
        **context,
    )


def render_pdf(template: str, language: str, **context: Any) -> bytes:
    return html_to_pdf(render_html(template, language, **context))
