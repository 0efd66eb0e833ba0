"""Database: the declarative base, column types, and sessions per request or per job."""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    MetaData,
    Numeric,
    Select,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are normalised to UTC
    before they are written and tagged as UTC when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Money: exact decimals to the cent, never floats.
Money = Numeric(18, 2, asdecimal=True)


class Base(DeclarativeBase):
    """The one declarative base of every monitor model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money,
        dict[str, Any]: JSON(),
        list[dict[str, Any]]: JSON(),
        list[Any]: JSON(),
        list[int]: JSON(),
        list[str]: JSON(),
    }


def str_enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, storing the values."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_class),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def utcnow() -> datetime:
    """The current time, in UTC, time-zone aware."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that SAVEPOINT and
    # transactional DDL work (the documented pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


#: A pooled connection given back less than this many seconds ago is handed out again without
#: a ping (as HikariCP's "alive bypass window"). Under load every connection is that fresh, and
#: a ping is a round trip to the server on every request (about 5 % of a complaint intake's
#: CPU, measured). If the server goes away within the window, that one request fails and the
#: pool replaces its connections; after the window, the ping finds the dead connection and the
#: pool connects anew, unnoticed.
PING_BYPASS_SECONDS = 0.5


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_unless_fresh(engine: Engine, dbapi_connection: Any, record: Any) -> None:
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is not None and time.monotonic() - checked_in_at < PING_BYPASS_SECONDS:
        return
    dialect = engine.dialect
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, None):
            # The pool drops this connection and checks out a new one.
            raise DisconnectionError(str(error)) from error
        raise


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys switched on and a busy timeout. A server
    database's connections are pinged before use unless given back to the pool a moment ago
    (:data:`PING_BYPASS_SECONDS`)."""
    engine = create_engine(url, echo=echo)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        event.listen(engine, "checkin", _note_checkin)
        event.listen(
            engine,
            "checkout",
            lambda connection, record, _proxy: _ping_unless_fresh(engine, connection, record),
        )
    return engine


class Database:
    """The engine and session factory of one app (or one worker process)."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo)
        self._factory: Callable[[], Session] = sessionmaker(self.engine, expire_on_commit=False)

    def bind_to(self, connection: Connection) -> None:
        """Make every session join ``connection``'s open transaction through savepoints.

        Tests use this to roll back everything a test did, requests and in-process jobs included.
        """
        self._factory = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )

    def session(self) -> Session:
        return self._factory()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on error (jobs, CLI)."""
        session = self.session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def insert_loaded(session: Session, model: type[Base], values: dict[str, Any]) -> Any:
    """Insert one row of ``model`` with a Core statement and return it as a persistent object
    with every column loaded, without a flush.

    A column not in ``values`` takes its default (a value, or a function such as
    :func:`utcnow`), else null; the database assigns the primary key ``id``. For hot paths: the
    ORM's flush of one new object costs about twice the CPU of this (measured on the complaint
    intake). Flush listeners do not see the row; the caller records what they would have
    (:func:`monitor.audit.services.record_created`).
    """
    table = model.__table__
    row, missing = dict(values), []
    for column in table.columns:
        if column.key == "id" or column.key in row:
            continue
        default = column.default
        if default is not None and default.is_scalar:
            row[column.key] = default.arg
        elif default is not None and default.is_callable:
            row[column.key] = default.arg(None)  # SQLAlchemy wraps it to take a context
        elif column.nullable and column.server_default is None:
            row[column.key] = None
        else:
            missing.append(column.key)
    if missing:
        raise ValueError(f"{model.__name__}: no value for {', '.join(sorted(missing))}")
    new_id = session.execute(_insert_returning_id(table), row).scalar_one()
    loaded = model(id=new_id, **row)
    make_transient_to_detached(loaded)  # as if loaded from its row: every attribute is set
    session.add(loaded)
    return loaded


@functools.cache
def _insert_returning_id(table: Any) -> Any:
    # Built once per table: a statement object keeps its cache key.
    return insert(table).returning(table.c.id)


def paginate(
    session: Session,
    stmt: Select[Any],
    page: int,
    per_page: int,
    *,
    rows: bool = False,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One page of ``stmt``'s results with the total count, as the API's ``Page`` shape: the
    first column of each result (an ORM object for ``select(Model)``), or whole rows when
    ``rows`` (plain named tuples, cheaper to read than ORM objects, read on the session's
    connection: for a list read before the request changes anything, since nothing pending is
    flushed first).

    With ``params``, ``stmt`` is one built once and run with these parameter values (a hot
    list): its count and page statements are built once too, since a statement object keeps
    its cache key and running it again skips building and keying it."""
    if params is None:
        count, paged = _count_and_page(stmt)
    else:
        count, paged = _count_and_page_once(stmt)
    values = {**(params or {}), "page_limit": per_page, "page_offset": (page - 1) * per_page}
    if rows:  # plain rows need none of the ORM's execution machinery
        connection = session.connection()
        total = connection.execute(count, values).scalar_one()
        items = list(connection.execute(paged, values))
    else:
        total = session.execute(count, values).scalar_one()
        items = list(session.execute(paged, values).scalars())
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def _count_and_page(stmt: Select[Any]) -> tuple[Select[Any], Select[Any]]:
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    paged = stmt.limit(bindparam("page_limit")).offset(bindparam("page_offset"))
    return count, paged


_count_and_page_once = functools.lru_cache(maxsize=256)(_count_and_page)


def page_of(items: Sequence[Any], page: int, per_page: int) -> dict[str, Any]:
    """One page of ``items`` (a list computed in Python) as the API's ``Page`` shape."""
    chunk = items[(page - 1) * per_page : page * per_page]
    return {"items": list(chunk), "page": page, "per_page": per_page, "total": len(items)}


def one_page(items: list[Any]) -> dict[str, Any]:
    """All of ``items`` (a short list, read whole) as the API's ``Page`` shape."""
    return page_of(items, 1, len(items))
