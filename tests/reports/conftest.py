"""The reports' fixture data set, as of 2026-10-31 (terms: net 30 days, the default).

| account | name | cur | invoices (issued, amount) | buckets on 2026-10-31 |
| --- | --- | --- | --- | --- |
| HN-001 | 上海华能电力有限公司 | CNY | A1 06-01 100k; A2 08-15 50k | >120: 80,000; 31-60: 50,000 |
| RW-002 | Redwood Water Utility | CNY | B1 09-20 30k; B2 10-20 45k | 1-30: 30,000; cur: 45,000 |
| BJ-003 | 北京国电设备有限公司 | EUR | C1 07-10 12k | 61-90: 12,000 |

HN-001 paid 20,000 on 09-20 (to A1, the oldest).
CNY: current 45,000, 1-30 30,000, 31-60 50,000, over 120 80,000; total 205,000, overdue 160,000.
EUR: 61-90 12,000. HN-001 promised 10,000 by 10-05 and did not pay (broken on the ladder run of
10-31); RW-002 disputes B1 (quality: also a complaint); HN-001 has a critical complaint of 10-10
nobody acknowledged (breached). Survey 2026-Q4 opened 10-01: HN-001's decider (NPS 3), buyer
(NPS 9), user (NPS 10) answered; RW-002's buyer did not.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.accounts import services as accounts
from monitor.complaints.services import open_complaint
from monitor.email.models import OutboxMessage
from receivables import disputes, ladder, ledger
from surveys import services as surveys
from surveys.settings import SurveySettings

AS_OF = date(2026, 10, 31)
LINK = re.compile(r"http://monitor\.test/s/([A-Za-z0-9_\-]{43})(?=\s|$)", re.MULTILINE)


@dataclass
class Book:
    hn: Any
    rw: Any
    bj: Any
    dispute: Any
    complaint: Any


def _invoice(session: Session, account: Any, number: str, issued: date, amount: str) -> None:
    ledger.create_invoice(
        session,
        account_id=account.id,
        number=number,
        issue_date=issued,
        currency=account.currency,
        amount=Decimal(amount),
    )


def _account(session: Session, code: str, name: str, currency: str, contacts: list) -> Any:
    account = accounts.create_account(
        session,
        code=code,
        name=name,
        account_class="A",
        account_type="repeat",
        currency=currency,
        timezone="Asia/Shanghai",
    )
    for contact_name, role, language in contacts:
        accounts.create_contact(
            session,
            account,
            name=contact_name,
            email=f"{role}@{code.lower()}.example.cn",
            role=role,
            language=language,
        )
    return account


def _answer(session: Session, email: str, **scores: int) -> None:
    tokens = []
    for message in session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)):
        tokens += LINK.findall(message.text_body)
    link = surveys.find_link(session, tokens[-1])
    assert link is not None, email
    form = {f"q_{key}": str(value) for key, value in scores.items()}
    surveys.submit(session, link, form, "zh", False)


@pytest.fixture
def book(app: Flask, session: Session) -> Book:
    app.config["MONITOR"] = replace(app.config["MONITOR"], survey_min_answers=1)
    with time_machine.travel(datetime(2026, 10, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        hn = _account(
            session,
            "HN-001",
            "上海华能电力有限公司",
            "CNY",
            [("王芳", "buyer", "zh"), ("李强", "decider", "zh"), ("张伟", "user", "zh")],
        )
        rw = _account(
            session, "RW-002", "Redwood Water Utility", "CNY", [("Ann Lee", "buyer", "en")]
        )
        bj = _account(session, "BJ-003", "北京国电设备有限公司", "EUR", [])
        _invoice(session, hn, "A1", date(2026, 6, 1), "100000.00")
        _invoice(session, hn, "A2", date(2026, 8, 15), "50000.00")
        _invoice(session, rw, "B1", date(2026, 9, 20), "30000.00")
        _invoice(session, rw, "B2", date(2026, 10, 20), "45000.00")
        _invoice(session, bj, "C1", date(2026, 7, 10), "12000.00")
        ledger.post_payment(
            session,
            account_id=hn.id,
            amount=Decimal("20000.00"),
            currency="CNY",
            paid_on=date(2026, 9, 20),
            reference="HN-PAY-0920",
            method="bank_transfer",
        )
        ladder.make_promise(
            session,
            hn.id,
            amount=Decimal("10000.00"),
            promised_date=date(2026, 10, 5),
            as_of=date(2026, 10, 1),
        )
        cycle, _ = surveys.open_cycle(session, "2026-Q4", SurveySettings.of(app.config["MONITOR"]))
        for first, last in surveys.dispatch_batches(session, cycle):
            surveys.dispatch_batch(session, cycle.id, first, last, "http://monitor.test")
        session.flush()
        _answer(session, "decider@hn-001.example.cn", recommend=3, value=2, partnership=2)
        _answer(
            session,
            "buyer@hn-001.example.cn",
            recommend=9,
            delivery=4,
            price=4,
            invoicing=5,
            ordering_effort=6,
        )
        _answer(
            session,
            "user@hn-001.example.cn",
            recommend=10,
            quality=5,
            reliability=5,
            support_responsiveness=4,
        )
        clock.move_to(datetime(2026, 10, 10, 2, 0, tzinfo=UTC))
        complaint = open_complaint(
            session,
            account_id=hn.id,
            channel="hotline",
            category="delivery",
            severity="critical",
            description="变压器交付延误三周",
        )
        clock.move_to(datetime(2026, 10, 15, 2, 0, tzinfo=UTC))
        dispute = disputes.open_dispute(
            session,
            account_id=rw.id,
            invoice_numbers=["B1"],
            reason="quality",
            description="Pumps leak",
        )
        clock.move_to(datetime(2026, 11, 1, 1, 0, tzinfo=UTC))
        ladder.run(session, AS_OF)
    session.commit()
    return Book(hn, rw, bj, dispute, complaint)


def pdf_text(pdf: bytes, tmp_path: Path, layout: bool = False) -> str:
    """The text of every page, as ``pdftotext`` (poppler) extracts it."""
    path = tmp_path / f"extract-{len(pdf)}.pdf"
    path.write_bytes(pdf)
    command = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def first_page_png(pdf: bytes, path: Path) -> Path:
    """The first page at 60 dpi (``pdftoppm``), for looking at."""
    source = path.with_suffix(".pdf")
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(source),
         str(path.with_suffix(""))],
        check=True,
    )  # fmt: skip
    return path.with_suffix(".png")
