"""Pooled PostgreSQL connections: pinged before use unless given back a moment ago, and a dead
one replaced. Each test cuts a pooled connection off from the server's side, as a server
restart or a network cut would."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from monitor import db
from monitor.db import make_engine
from tests.servers import Postgres


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def _cut_off(postgres: Postgres, pid: int) -> None:
    """End the server process behind one pooled connection and wait until it is gone."""
    admin = create_engine(postgres.url, poolclass=NullPool)
    try:
        with admin.connect() as connection:
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(200):
                alive = connection.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
                if not alive:
                    return
                time.sleep(0.05)
        raise AssertionError(f"backend {pid} did not end")
    finally:
        admin.dispose()


@pytest.fixture
def engine(postgres: Postgres):
    engine = make_engine(postgres.url)
    yield engine
    engine.dispose()


def test_a_connection_idle_past_the_window_is_pinged_and_a_dead_one_replaced(
    engine, postgres, monkeypatch
):
    first = _backend(engine)
    _cut_off(postgres, first)
    monkeypatch.setattr(db, "PING_BYPASS_SECONDS", 0.0)  # as if idle for longer than the window
    second = _backend(engine)  # no error: the ping found the dead connection
    assert second != first
    assert engine.pool.checkedout() == 0


def test_a_connection_given_back_a_moment_ago_is_used_without_a_ping(engine, postgres, monkeypatch):
    monkeypatch.setattr(db, "PING_BYPASS_SECONDS", 60.0)
    first = _backend(engine)
    assert _backend(engine) == first  # the same pooled connection, handed out again
    _cut_off(postgres, first)
    # Not pinged: the one request on the dead connection fails...
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.scalar(text("SELECT 1"))
    # ...and the pool has replaced it for the next.
    assert _backend(engine) not in (first, None)
