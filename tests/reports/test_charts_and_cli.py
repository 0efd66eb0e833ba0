"""Server-side SVG charts, and the ``flask reports`` command."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pypdf import PdfReader
from sqlalchemy import select

from monitor.reports import charts
from monitor.reports.models import Report
from tests.reports.conftest import AS_OF


def test_stacked_bars_scale_to_the_tallest_stack_and_escape_labels():
    svg = charts.stacked_bars(
        "<aging>",
        ["2026-09", "2026-10"],
        [
            charts.Series("current & <new>", [Decimal("150"), Decimal("-20")], "#111111"),
            charts.Series("1-30", [Decimal("50"), None], "#222222"),
        ],
    )
    assert "<title>&lt;aging&gt;</title>" in svg and "current &amp; &lt;new&gt;" in svg
    assert "<script" not in svg and "href" not in svg  # nothing to run, nothing to fetch
    # the axis reaches 200 (the 200 stack), a credit (-20) is not drawn, a gap is not a zero bar
    assert ">200<" in svg
    assert len(re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height', svg)) == 2 + 2


def test_line_chart_breaks_at_missing_figures():
    svg = charts.line_chart(
        "NPS", ["Q1", "Q2", "Q3", "Q4"], [charts.Series("NPS", [10, None, 30, 40], "#333333")]
    )
    polylines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert [len(p.split()) for p in polylines] == [2]  # Q3-Q4; Q1 stands alone
    assert svg.count("<circle") == 3


def test_cli_generates_archives_and_copies(app, runner, session, book, tmp_path):
    app.config["MONITOR"] = replace(
        app.config["MONITOR"],
        reports_company_name="华东能源设备有限公司",
        default_timezone="Asia/Shanghai",
    )
    target = tmp_path / "aging.pdf"
    result = runner.invoke(
        args=["reports", "generate", "aging", "--as-of", AS_OF.isoformat(), "--lang", "zh",
              "-o", str(target)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = "".join(page.extract_text() for page in PdfReader(target).pages)
    assert "应收账款账龄报告" in text and "华东能源设备有限公司" in text
    # generated at: in the company's zone, not UTC
    stamp = re.search(r"生成于 (\d{4}-\d\d-\d\d \d\d:\d\d) \(Asia/Shanghai\)", text)
    assert stamp is not None, text[:300]
    shanghai = ZoneInfo("Asia/Shanghai")
    generated = datetime.strptime(stamp[1], "%Y-%m-%d %H:%M").replace(tzinfo=shanghai)
    assert abs(datetime.now(shanghai) - generated) < timedelta(minutes=5)
    report = session.scalars(select(Report)).one()
    assert report.created_by_label.startswith("cli:") and report.language.value == "zh"
    assert f"sha256 {report.sha256}" in result.output
    listed = runner.invoke(args=["reports", "list"])
    assert "aging" in listed.output and "done" in listed.output


def test_cli_refuses_bad_input(runner, book):
    future = runner.invoke(args=["reports", "generate", "aging", "--as-of", "2099-01-01"])
    assert future.exit_code != 0 and "as_of: may not be in the future" in future.output
    malformed = runner.invoke(args=["reports", "generate", "aging", "--as-of", "31/10/2026"])
    assert malformed.exit_code != 0 and "not a date" in malformed.output
    unknown = runner.invoke(args=["reports", "generate", "forecast"])
    assert unknown.exit_code != 0 and "forecast" in unknown.output
    no_account = runner.invoke(args=["reports", "generate", "statement", "--as-of", "2026-10-31"])
    assert no_account.exit_code != 0 and "account_id" in no_account.output
