"""Each report's PDF for the fixture data set: the right figures, names (Chinese included), the
header and "page X of Y" footer, embedded fonts; the URL fetcher refuses everything."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader
from weasyprint.urls import FatalURLFetchingError

from monitor.reports import services
from monitor.reports.models import ReportKind
from monitor.reports.rendering import html_to_pdf
from receivables import metrics
from tests.reports.conftest import AS_OF, first_page_png, pdf_text

COMPANY = "华东能源设备有限公司"


@pytest.fixture
def settings(config, tmp_path):
    return services.ReportSettings(COMPANY, tmp_path / "reports", "Asia/Shanghai")


def render(session, settings, kind, language, **parameters):
    return services.render(session, kind, AS_OF, language, parameters, settings)


def pages(pdf: bytes) -> int:
    return len(PdfReader(BytesIO(pdf)).pages)


def squeezed(text: str) -> str:
    """Text without white space (a long name may wrap inside its table cell)."""
    return "".join(text.split())


def flat(text: str) -> str:
    """Text with every run of white space made one space (table cells break lines)."""
    return " ".join(text.split())


def assert_header_and_footer(text: str, pdf: bytes, language: str) -> None:
    n = pages(pdf)
    for page in range(1, n + 1):
        expected = f"Page {page} of {n}" if language == "en" else f"第 {page} 页，共 {n} 页"
        assert expected in text
    assert text.count(COMPANY) >= n  # the header of every page
    assert ("As of 2026-10-31" if language == "en" else "截至 2026-10-31") in text
    assert "(Asia/Shanghai)" in text  # generation time in the footer, in the company zone


def test_aging_report_in_english(session, book, settings, tmp_path):
    pdf, xlsx = render(session, settings, ReportKind.AGING, "en")
    text = pdf_text(pdf, tmp_path)
    assert_header_and_footer(text, pdf, "en")
    assert "Aging report" in text
    words = flat(text)
    # CNY totals by bucket: current, 1-30, 31-60, 61-90, 91-120, over 120, total, overdue
    assert "45,000.00 30,000.00 50,000.00 0.00 0.00 80,000.00 205,000.00 160,000.00" in words
    assert "0.00 0.00 0.00 12,000.00 0.00 0.00 12,000.00 12,000.00" in words  # EUR
    for name in ("上海华能电力有限公司", "Redwood Water Utility", "北京国电设备有限公司"):
        assert name in text
    dso = metrics.receivables_metrics(session, AS_OF, "CNY").dso_countback
    assert dso is not None and f"{dso:,.1f}" in words
    assert "Top 25 overdue accounts" in text
    # the spreadsheet: every account with its buckets
    sheet = load_workbook(BytesIO(xlsx)).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"HN-001", "RW-002", "BJ-003"}
    assert rows["HN-001"][1] == "上海华能电力有限公司"
    assert Decimal(str(rows["HN-001"][-3])) == Decimal("130000")  # total
    assert rows["HN-001"][-1] == (AS_OF - __import__("datetime").date(2026, 7, 1)).days


def test_aging_report_in_chinese(session, book, settings, tmp_path):
    pdf, _ = render(session, settings, ReportKind.AGING, "zh")
    text = pdf_text(pdf, tmp_path)
    assert_header_and_footer(text, pdf, "zh")
    assert "应收账款账龄报告" in text
    assert "120 天以上" in text and "未到期" in text
    assert "上海华能电力有限公司" in text and "北京国电设备有限公司" in text
    assert "205,000.00" in text


def test_escalation_report(session, book, settings, tmp_path):
    for language in ("en", "zh"):
        pdf, detail = render(session, settings, ReportKind.ESCALATION, language)
        assert detail is None
        text = pdf_text(pdf, tmp_path)
        words = flat(text)
        assert_header_and_footer(text, pdf, language)
        if language == "en":
            assert "Level 5: legal action — 1 account(s)" in words
            assert "Level 4: senior escalation — 1 account(s)" in words
            assert "Broken promises to pay (1)" in words
            assert "Open disputes (1)" in words
            assert "Complaints that breached their SLA (3)" in words
        else:
            assert "第 5 级：法律行动或委托催收" in words
            assert "未兑现的付款承诺 (1)" in words
            assert "超出 SLA 的投诉 (3)" in words
        assert "HN-001上海华能电力有限公司" in squeezed(text)
        assert "10,000.00 CNY 2026-10-05" in words  # the broken promise
        assert f"#{book.dispute.complaint_id}" in words  # the dispute names its complaint
        assert str(book.complaint.id) in words


def test_executive_summary(session, book, settings, tmp_path):
    pdf, _ = render(session, settings, ReportKind.EXECUTIVE, "en", period="month")
    text = pdf_text(pdf, tmp_path)
    words = flat(text)
    assert_header_and_footer(text, pdf, "en")
    assert "Executive summary (monthly)" in words
    assert "Survey 2026-Q4" in words
    # NPS per role: decider 3 (detractor), buyer 9 and user 10 (promoters); all: (2-1)/3
    assert "Decider -100.0" in words
    assert "Buyer 100.0" in words
    assert "All 33.3" in words
    # October: the survey's follow-up (decider's NPS 3), the hotline complaint and the dispute's
    # complaint, all three past their first-response target
    assert "2026-10 3 3 100.0%" in words
    assert "205,000.00" in words
    attention = words[words.index("Accounts that need attention") :]
    assert "HN-001 上海华能电力有限公司 escalation level 5; 2 breached complaint(s)" in attention
    assert "BJ-003 北京国电设备有限公司 escalation level 4" in attention
    assert "RW-002 Redwood Water Utility 1 breached complaint(s)" in attention


def test_executive_summary_without_a_survey_says_so(session, settings, tmp_path):
    pdf, _ = render(session, settings, ReportKind.EXECUTIVE, "zh", period="quarter")
    text = pdf_text(pdf, tmp_path)
    assert "管理层季度摘要" in text
    assert "截至该日尚无调查周期：本节从略。" in flat(text)
    assert "NPS" not in text


def test_statement_and_letters(session, book, settings, tmp_path):
    statement = services.render_statement(session, book.hn.id, AS_OF, "en", settings=settings)
    words = flat(pdf_text(statement, tmp_path))
    assert "Statement of account" in words
    assert "A1 1 2026-06-01 2026-07-01 100,000.00 80,000.00 122" in words
    assert "A2 1 2026-08-15 2026-09-14 50,000.00 50,000.00 47" in words
    assert "Total (CNY) 130,000.00" in words
    assert "2026-09-20 HN-PAY-0920" in words and "20,000.00 CNY" in words
    letter = services.render_statement(
        session, book.hn.id, AS_OF, "zh", "formal_letter", settings=settings
    )
    text = pdf_text(letter, tmp_path)
    words = flat(text)
    assert_header_and_footer(text, letter, "zh")
    assert "正式催款函" in words and "上海华能电力有限公司" in words
    assert "尊敬的王芳：" in words
    assert "应立即支付：130,000.00 CNY（最迟 2026-11-07）" in words
    reminder = services.render_statement(
        session, book.rw.id, AS_OF, "en", "reminder", settings=settings
    )
    words = flat(pdf_text(reminder, tmp_path))
    assert "Dear Ann Lee," in words and "30,000.00 CNY" in words


def _fonts(pdf: bytes) -> list[dict]:
    found = {}
    for page in PdfReader(BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            leaf = descendants[0].get_object() if descendants else font
            descriptor = leaf["/FontDescriptor"].get_object()
            found[str(font["/BaseFont"])] = descriptor
    return [{"name": name, **descriptor} for name, descriptor in found.items()]


def test_fonts_are_embedded_and_chinese_comes_from_noto_cjk(session, book, settings):
    pdf, _ = render(session, settings, ReportKind.AGING, "zh")
    fonts = _fonts(pdf)
    assert fonts
    for font in fonts:
        assert "/FontFile2" in font or "/FontFile3" in font, font["name"]
        # one family for every script: a fallback font would mean a glyph Noto lacks
        assert "Noto-Sans-CJK-SC" in font["name"], font["name"]


@pytest.mark.parametrize(
    "src", ["file:///etc/hostname", "http://127.0.0.1:9/x.png", "https://example.com/x.png"]
)
def test_the_renderer_fetches_nothing(src):
    with pytest.raises(FatalURLFetchingError):
        html_to_pdf(f'<html><body><img src="{src}"></body></html>')


@pytest.mark.parametrize(
    ("kind", "language", "parameters"),
    [
        (ReportKind.AGING, "zh", {}),
        (ReportKind.ESCALATION, "en", {}),
        (ReportKind.EXECUTIVE, "zh", {"period": "quarter"}),
        (ReportKind.STATEMENT, "zh", {"variant": "formal_letter"}),
    ],
)
def test_first_page_renders_to_an_image(
    session, book, settings, tmp_path, kind, language, parameters
):
    """The first page through ``pdftoppm`` at 60 dpi (kept in the test's folder to look at):
    ink on the page, and the chart or table colours present, not a blank or error page."""
    if kind is ReportKind.STATEMENT:
        parameters = {**parameters, "account_id": book.hn.id}
    pdf, _ = render(session, settings, kind, language, **parameters)
    png = first_page_png(pdf, tmp_path / f"{kind.value}-{language}")
    with Image.open(png) as image:
        assert image.size == (497, 702)  # A4 (210 x 297 mm) at 60 dpi
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    ink = sum(count for count, rgb in colours if sum(rgb) < 600)
    assert ink > 5_000
    header_blue = any(abs(r - 0x1F) < 12 and abs(g - 0x3B) < 12 and abs(b - 0x5A) < 12
                      for _, (r, g, b) in colours)  # fmt: skip
    assert header_blue


def test_statement_attachment_for_the_ladder(session, book, settings):
    attachment = services.statement_attachment(
        session, book.hn.id, AS_OF, "zh", "reminder", "ladder-step-7-contact-2", settings
    )
    assert attachment.content_type == "application/pdf"
    assert attachment.filename == "reminder-2026-10-31.pdf"
    path = Path(attachment.path)
    assert path == settings.folder / "letters" / "ladder-step-7-contact-2.pdf"
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "付款提醒函" in text and "王芳" in text
    with pytest.raises(ValueError):
        services.statement_attachment(session, book.hn.id, AS_OF, "zh", "reminder", "../x")
