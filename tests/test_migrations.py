"""The migration history: one head, base → head → base → head on both databases, and no
difference between the models and what the migrations build."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import monitor.models  # noqa: F401
from monitor.db import Base, make_engine
from monitor.migrate import MIGRATIONS, alembic_config


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


def test_upgrade_downgrade_upgrade(empty_database_url):
    cfg = alembic_config(empty_database_url)
    command.upgrade(cfg, "head")
    assert _tables(empty_database_url) == set(Base.metadata.tables)
    command.downgrade(cfg, "base")
    assert _tables(empty_database_url) == set()
    command.upgrade(cfg, "head")
    assert _tables(empty_database_url) == set(Base.metadata.tables)


def test_models_and_migrations_agree(empty_database_url):
    command.upgrade(alembic_config(empty_database_url), "head")
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"run an autogenerate revision: {diff}"
