"""Audit events: one row per create, update or delete of an audited domain row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When the change was flushed, UTC.
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: ``staff``, ``system``, ``cli`` or ``contact``.
    actor_kind: Mapped[str] = mapped_column(String(16))
    #: Human-readable actor: an email, a job name.
    actor_label: Mapped[str] = mapped_column(String(255))
    #: The staff user who acted, if one did (no foreign key: history outlives users).
    actor_staff_id: Mapped[int | None]
    #: The audited table's entity name, e.g. ``account``.
    entity_type: Mapped[str] = mapped_column(String(64))
    #: The row's primary key, as text.
    entity_id: Mapped[str] = mapped_column(String(64))
    #: ``create``, ``update`` or ``delete``.
    action: Mapped[str] = mapped_column(String(16))
    #: ``{field: [before, after]}``; ``before`` is null on create, ``after`` null on delete.
    changes: Mapped[dict[str, Any]]
