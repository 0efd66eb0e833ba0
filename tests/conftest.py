"""Fixtures: databases (SQLite and PostgreSQL), the app per test, staff users with tokens.

Every test that touches the database runs twice, once per backend. Each test runs inside a
transaction that is rolled back at the end; requests and in-process jobs join it through
savepoints (``join_transaction_mode="create_savepoint"``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import Session

from monitor import migrate
from monitor.app import create_app
from monitor.audit.context import Actor, acting_as
from monitor.config import Config
from monitor.db import Database, make_engine
from monitor.staff import services as staff
from tests.servers import Postgres, start_postgres

pytest_plugins = ["tests.fixtures.background"]

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database of each backend, shared by the session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'monitor.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").url
    migrate.upgrade(url)
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each backend with no tables, its own for this test (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    server: Postgres = request.getfixturevalue("postgres")
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.url.rsplit("/", 1)[0] + f"/{name}"
        with admin.connect() as conn:
            # FORCE: a worker killed by a test may leave a connection behind.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Any]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Any) -> Iterator[Connection]:
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(
        instance_path=tmp_path / "instance",
        database_url=database_url,
        secret_key="test-secret",
        base_url="http://monitor.test",
    )


@pytest.fixture
def app(config: Config, connection: Connection) -> Iterator[Flask]:
    app = create_app(config)
    app.config["TESTING"] = True
    database: Database = app.extensions["monitor.db"]
    database.bind_to(connection)
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session in the test's transaction, for arranging data and checking what was stored."""
    session = app.extensions["monitor.db"].session()
    with acting_as(Actor("cli", "test")):
        yield session
    session.close()


@pytest.fixture
def make_staff(session: Session) -> Callable[..., tuple[Any, str]]:
    """``make_staff("finance", "manager")`` → (user, token) for a new active staff user."""
    counter = iter(range(1, 10_000))

    def make(*roles: str, email: str | None = None) -> tuple[Any, str]:
        n = next(counter)
        user = staff.create_user(
            session, email or f"{'-'.join(roles) or 'nobody'}{n}@staff.test", f"Staff {n}", roles
        )
        _, token = staff.create_token(session, user, "test")
        session.commit()
        return user, token

    return make


@pytest.fixture
def auth(make_staff: Callable[..., tuple[Any, str]]) -> Callable[..., dict[str, str]]:
    """``auth("admin")`` → headers carrying a token of a new user with those roles."""

    def headers(*roles: str) -> dict[str, str]:
        _, token = make_staff(*roles)
        return {"Authorization": f"Bearer {token}"}

    return headers
