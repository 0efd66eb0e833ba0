"""The migration history: one head, base → head → base → head on both databases, and no
difference between the models and what the migrations build."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import monitor.models  # noqa: F401
from monitor.db import Base, make_engine
from monitor.migrate import MIGRATIONS, alembic_config


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables, of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    server = request.getfixturevalue("postgres")
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.admin_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_one_linear_history_with_dated_file_names():
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert len(revision.down_revision or ()) <= 1 or isinstance(revision.down_revision, str)
        name = Path(revision.path).name
        assert name[:8].isdigit() and name[8] == "_", name


def test_upgrade_downgrade_upgrade(empty_database):
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "head")
    assert _tables(empty_database) == set(Base.metadata.tables)
    command.downgrade(cfg, "base")
    assert _tables(empty_database) == set()
    command.upgrade(cfg, "head")
    assert _tables(empty_database) == set(Base.metadata.tables)


def test_models_and_migrations_agree(empty_database):
    command.upgrade(alembic_config(empty_database), "head")
    engine = make_engine(empty_database)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"run an autogenerate revision: {diff}"
