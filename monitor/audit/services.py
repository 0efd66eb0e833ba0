"""Recording and reading the audit trail.

Models opt in by inheriting :class:`Audited`. A flush listener writes one :class:`AuditEvent` per
changed row, so no service can forget to, and a change made by a job is recorded like one made
through the API. The one row written without a flush, a new complaint at intake (a hot path, see
:func:`monitor.db.insert_loaded`), is recorded by :func:`record_created` with the same row.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import NO_VALUE

from monitor.audit.context import Actor, current_actor
from monitor.audit.models import AuditEvent
from monitor.db import utcnow


class Audited:
    """Mixin: every create, update and delete of this model lands in the audit trail."""

    #: The entity name used in the trail and in history URLs.
    __audit_name__: ClassVar[str]
    #: Columns never recorded (secrets, bookkeeping that changes on every read).
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset()


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


_COLUMNS: dict[type, list[str]] = {}


def _columns(obj: Audited) -> list[str]:
    """The recorded columns of ``obj``'s model (worked out once per model: every flush asks)."""
    names = _COLUMNS.get(type(obj))
    if names is None:
        names = _COLUMNS[type(obj)] = [
            attr.key
            for attr in inspect(obj).mapper.column_attrs
            if attr.key not in obj.__audit_exclude__
            and attr.key not in ("created_at", "updated_at")
        ]
    return names


def _changes(obj: Audited, action: str) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    if action == "create":  # a new row's values are all in its dict once flushed
        values = state.dict
        for key in _columns(obj):
            value = values.get(key)
            if value is not None:
                changes[key] = [None, _plain(value)]
        return changes
    for key in _columns(obj):
        attr = state.attrs[key]
        if action == "delete":
            value = attr.loaded_value
            changes[key] = [None if value is NO_VALUE else _plain(value), None]
        else:
            history = attr.history
            if not history.has_changes():
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if _plain(before) != _plain(after):
                changes[key] = [_plain(before), _plain(after)]
    return changes


def _entity_id(obj: Audited) -> str:
    state = inspect(obj)
    return "-".join(str(part) for part in state.mapper.primary_key_from_instance(obj))


def _actor_columns(actor: Actor) -> dict[str, Any]:
    return {
        "actor_kind": actor.kind,
        "actor_label": actor.label,
        "actor_staff_id": actor.staff_id,
    }


#: Built once: a statement object keeps its cache key, and every flush that changes an audited
#: row runs it.
_INSERT = insert(AuditEvent.__table__)


def _row(obj: Audited, action: str, actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "occurred_at": now,
        **_actor_columns(actor),
        "entity_type": obj.__audit_name__,
        "entity_id": _entity_id(obj),
        "action": action,
        "changes": _changes(obj, action),
    }


@event.listens_for(Session, "after_flush")
def _record(session: Session, _context: Any) -> None:
    rows = []
    actor = current_actor()
    now = utcnow()
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not isinstance(obj, Audited):
                continue
            row = _row(obj, action, actor, now)
            if action == "update" and not row["changes"]:
                continue
            rows.append(row)
    if rows:
        # A Core insert on the flush's connection: no ORM bookkeeping for rows never loaded.
        session.connection().execute(_INSERT, rows)


def record_created(session: Session, obj: Audited) -> None:
    """Record the creation of ``obj``, inserted without a flush
    (:func:`monitor.db.insert_loaded`), as the flush listener would have."""
    session.connection().execute(_INSERT, [_row(obj, "create", current_actor(), utcnow())])


def record_event(
    session: Session, entity_type: str, entity_id: int | str, action: str, changes: dict[str, Any]
) -> AuditEvent:
    """Record something that is not a column change (an SLA breach, an email sent)."""
    audit_event = AuditEvent(
        **_actor_columns(current_actor()),
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        changes=_plain(changes),
    )
    session.add(audit_event)
    session.flush()
    return audit_event


def history(session: Session, entity_type: str, entity_id: int | str) -> list[AuditEvent]:
    """Every recorded event of one entity, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id)
        )
    )


def entity_history(session: Session, entity_type: str, entity_id: int | str) -> dict[str, Any]:
    """An entity's trail in the API's ``History`` shape."""
    return {
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "events": history(session, entity_type, entity_id),
    }
