"""The whole flow in headless Chromium against a real server on loopback: open a cycle, the
invitation arrives at a loopback SMTP server, the decider follows the link, answers in Chinese
(first with a mistake), sees the thanks page, the link is refused afterwards, the results show
the response, and the detractor's answer is in the managers' complaint queue."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from monitor import jobs
from monitor.accounts import services as accounts
from monitor.staff import services as staff
from tests.fixtures.background import app_context
from tests.servers import free_port

CHROMIUM_ARGS = [
    "--no-sandbox",  # the suite runs as root in CI
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_\-]{43})(?=\s|$)", re.MULTILINE)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def served(rq_config, smtp_server) -> Iterator[tuple[str, object, Collect]]:
    """The app on a committed database, no Redis (jobs in-process), mail to the SMTP server,
    served by werkzeug on a free loopback port; its request log collected."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = replace(rq_config, redis_url="", smtp_url=smtp_server.url, base_url=base)
    log = Collect()
    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_log.addHandler(log)
    werkzeug_log.setLevel(logging.INFO)
    with app_context(config) as app:
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield base, app, log
        finally:
            server.shutdown()
            thread.join(10)
            werkzeug_log.removeHandler(log)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def seed() -> tuple[int, str]:
    """An account with a Chinese-speaking decider, and a manager's API token."""
    with jobs.database().transaction() as session:
        account = accounts.create_account(
            session,
            code="SH-0001",
            name="上海华能电力有限公司",
            account_class="A",
            account_type="repeat",
            currency="CNY",
            timezone="Asia/Shanghai",
        )
        accounts.create_contact(
            session,
            account,
            name="王芳",
            email="wang.fang@huaneng.example.cn",
            role="decider",
            language="zh",
        )
        manager = staff.create_user(session, "vp@acme.example", "VP Service", ["manager"])
        _, token = staff.create_token(session, manager, "browser test")
        return account.id, token


def choose(page: Page, question: str, value: str) -> None:
    page.locator(f"fieldset#q_{question}").get_by_label(value, exact=True).check()


def test_full_flow_in_chromium(served, browser, smtp_server, tmp_path: Path):
    base, app, log = served
    account_id, token = seed()
    opened = app.test_cli_runner().invoke(args=["surveys", "open-cycle", "2026-Q4"])
    assert opened.exit_code == 0, opened.output
    assert "1 invitation(s) sent" in opened.output

    [mail] = smtp_server.wait_for(1)
    assert mail.message["To"] == "wang.fang@huaneng.example.cn"
    assert mail.message["Subject"] == "我们做得如何？2026-Q4 满意度调查"
    text = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    link = LINK.search(text)[1]
    assert f'href="{link}"' in html and f"{link}/opt-out" in text

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(link)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("您如何评价我们之间的合作？")
    # fits a phone screen: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(tmp_path / "survey-zh.png"), full_page=True)

    # the language switch, and back
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("How is our partnership going?")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    # a first try with a required question left out: messages, and what was typed is kept
    choose(page, "value", "2")
    choose(page, "recommend", "3")
    page.locator("fieldset#q_renewal").get_by_label("尚不确定").check()
    page.get_by_label("您希望我们的管理层了解什么？").fill("上季度交货延误三次，希望尽快改进。")
    page.get_by_role("button", name="提交答卷").click()
    expect(page.get_by_role("alert")).to_contain_text("请检查您的回答")
    expect(page.locator("#q_partnership-error")).to_have_text("请回答此问题。")
    expect(page.get_by_label("您希望我们的管理层了解什么？")).to_have_value(
        "上季度交货延误三次，希望尽快改进。"
    )
    expect(page.locator("fieldset#q_value").get_by_label("2", exact=True)).to_be_checked()

    choose(page, "partnership", "3")
    page.get_by_label("请就我的回答与我联系").check()
    page.get_by_role("button", name="提交答卷").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("谢谢您")
    expect(page.get_by_role("status")).to_contain_text("我们会尽快与您取得联系")
    page.screenshot(path=str(tmp_path / "thanks-zh.png"), full_page=True)

    # the same link is refused, as any unknown link would be
    refused = page.goto(link)
    assert refused is not None and refused.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("此问卷链接无法使用")
    unknown = page.goto(f"{base}/s/{'x' * 43}")
    assert unknown is not None and unknown.status == 404
    assert refused.headers["referrer-policy"] == "no-referrer"

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    results = client.get("/api/v1/surveys/cycles/2026-Q4/results", headers=headers).json
    assert results["response_rate"]["responded"] == 1
    assert results["by_role"]["decider"]["nps"]["answers"] == 1
    [response] = client.get("/api/v1/surveys/responses", headers=headers).json["items"]
    assert response["account_id"] == account_id and response["language"] == "zh"
    assert response["wants_contact"] is True
    comment = next(a for a in response["answers"] if a["question_key"] == "comment")
    assert comment["text"] == "上季度交货延误三次，希望尽快改进。"

    queue = client.get("/api/v1/complaints?channel=survey", headers=headers).json
    [complaint] = queue["items"]
    assert complaint["id"] == response["complaint_id"]
    assert complaint["account_id"] == account_id and complaint["severity"] == "high"

    token_part = link.rsplit("/", 1)[1]
    assert any("/s/***" in line for line in log.lines), log.lines
    assert not any(token_part in line for line in log.lines)
    context.close()
