"""Fixtures of the receivables tests: accounts to invoice, and short ways to post."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from monitor.accounts.models import Account
from monitor.accounts.services import create_account
from receivables import ledger
from receivables.models import Invoice, Payment


@pytest.fixture
def make_account(session: Session) -> Callable[..., Account]:
    """``make_account(currency="EUR")`` → a new account (codes R0001, R0002, ...)."""
    counter = iter(range(1, 10_000))

    def make(currency: str = "CNY", **fields: Any) -> Account:
        n = next(counter)
        values = {
            "code": f"R{n:04d}",
            "name": f"Receivables test account {n}",
            "account_class": "A",
            "account_type": "repeat",
            "currency": currency,
            "timezone": "Asia/Shanghai",
            **fields,
        }
        return create_account(session, **values)

    return make


@pytest.fixture
def invoice(session: Session) -> Callable[..., Invoice]:
    """``invoice(account, "INV-1", date(2026, 4, 30), "1000.00")`` → the recorded invoice."""

    def make(account: Account, number: str, issued: date, amount: str) -> Invoice:
        return ledger.create_invoice(
            session,
            account_id=account.id,
            number=number,
            issue_date=issued,
            currency=account.currency,
            amount=Decimal(amount),
        )

    return make


@pytest.fixture
def pay(session: Session) -> Callable[..., Payment]:
    """``pay(account, "400.00", date(2026, 6, 10), "REF-1", allocations=...)``."""

    def make(account: Account, amount: str, paid_on: date, reference: str, **more: Any) -> Payment:
        return ledger.post_payment(
            session,
            account_id=account.id,
            amount=Decimal(amount),
            currency=account.currency,
            paid_on=paid_on,
            reference=reference,
            method="bank_transfer",
            **more,
        )

    return make
