"""Complaint fixtures: an account with a contact, staff of each role, and an intake helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from monitor.accounts import services as accounts


@pytest.fixture
def account(session: Session) -> Any:
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
        role="buyer",
        language="zh",
    )
    session.commit()
    return account


@pytest.fixture
def contact(account: Any) -> Any:
    return account.contacts[0]


@pytest.fixture
def staff_member(make_staff: Callable[..., tuple[Any, str]]) -> Callable[..., tuple[Any, dict]]:
    """``staff_member("manager")`` → (user, headers)."""

    def make(*roles: str, email: str | None = None) -> tuple[Any, dict[str, str]]:
        user, token = make_staff(*roles, email=email)
        return user, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def manager(staff_member: Callable[..., tuple[Any, dict]]) -> tuple[Any, dict[str, str]]:
    return staff_member("manager")


@pytest.fixture
def agent(staff_member: Callable[..., tuple[Any, dict]]) -> dict[str, str]:
    return staff_member("agent")[1]


@pytest.fixture
def intake(client: FlaskClient, account: Any, agent: dict[str, str]) -> Callable[..., dict]:
    """Log a complaint through the API as an agent; returns the created complaint."""

    def log(**overrides: Any) -> dict[str, Any]:
        body = {
            "account_id": account.id,
            "channel": "hotline",
            "category": "product_quality",
            "severity": "medium",
            "description": "变压器在试运行中过热 — transformer overheats in trial run",
        } | overrides
        response = client.post("/api/v1/complaints", json=body, headers=agent)
        assert response.status_code == 201, response.json
        return response.json

    return log
