"""The outbox: every message monitor sends, kept with its delivery state."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, str_enum, utcnow


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    #: Gave up after the last retry; ``last_error`` says why.
    FAILED = "failed"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Same key, same message: queueing twice (a retried job) stores and sends one.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    #: ``[{"filename", "content_type", "path"}]``; files live under the instance folder.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    #: ``Message-ID`` header, fixed when queued so that a resend is recognisable as the same.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
