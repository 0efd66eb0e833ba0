"""Queueing and delivering email.

Every message goes through the outbox table first; the delivery job sends it over SMTP or, in
the embedded default, writes it to ``instance/outbox/``. A message is claimed with a conditional
update before it is sent, so two deliveries of one message (a retry, two workers) send it once.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.config import Config
from monitor.db import utcnow
from monitor.email.models import DeliveryStatus, OutboxMessage
from monitor.jobs import enqueue_after_commit


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    #: Absolute path of the file (kept under the instance folder).
    path: str


def queue_email(
    session: Session,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    attachments: Iterable[Attachment] = (),
    dedup_key: str | None = None,
) -> OutboxMessage:
    """Store a message for delivery after the caller commits.

    With a ``dedup_key`` already used, the stored message is returned and nothing new is queued:
    callers that may run twice (jobs) pass a key derived from what they are sending.
    """
    from monitor.email.jobs import deliver_email, delivery_job_id  # the jobs import this module

    if dedup_key is not None:
        existing = _by_dedup_key(session, dedup_key)
        if existing is not None:
            return existing
    message = OutboxMessage(
        dedup_key=dedup_key or f"uuid:{uuid.uuid4()}",
        recipient=recipient,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        attachments=[a.__dict__ for a in attachments],
        message_id=make_msgid(domain="monitor.local"),
        status=DeliveryStatus.QUEUED,
        attempts=0,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        if dedup_key is None:
            raise
        # Another transaction queued the same key between our check and our insert.
        existing = _by_dedup_key(session, dedup_key)
        if existing is None:
            raise
        return existing
    enqueue_after_commit(
        session, deliver_email, message.id, outside=True, job_id=delivery_job_id(message.id)
    )
    return message


def _by_dedup_key(session: Session, dedup_key: str) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))


def build_mime(message: OutboxMessage, sender: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime["Message-ID"] = message.message_id
    # format_datetime, not strftime: day and month names must not follow the process's locale.
    mime["Date"] = format_datetime(message.created_at)
    mime.set_content(message.text_body)
    if message.html_body:
        mime.add_alternative(message.html_body, subtype="html")
    for item in message.attachments:
        maintype, _, subtype = item["content_type"].partition("/")
        mime.add_attachment(
            Path(item["path"]).read_bytes(),
            maintype=maintype,
            subtype=subtype,
            filename=item["filename"],
        )
    return mime


class Transport(Protocol):
    def send(self, mime: EmailMessage) -> None: ...


class SmtpTransport:
    """``smtp://`` (plain), ``smtp+starttls://`` or ``smtps://``, with optional user:password."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError(f"SMTP_URL: unsupported scheme {parts.scheme!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def send(self, mime: EmailMessage) -> None:
        if self.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(mime)


class FileTransport:
    """The embedded default: each message becomes ``<folder>/<timestamp>-<id>.eml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, mime: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = f"{utcnow():%Y%m%dT%H%M%S}-{mime['Message-ID'].strip('<>').split('@')[0]}"
        tmp = self.folder / f".{stem}.tmp"
        tmp.write_bytes(bytes(mime))
        tmp.replace(self.folder / f"{stem}.eml")  # readers never see half a message


def transport_for(config: Config) -> Transport:
    if config.smtp_url:
        return SmtpTransport(config.smtp_url)
    return FileTransport(config.outbox_path)


def claim(session: Session, message_id: int) -> OutboxMessage | None:
    """Take a queued message for sending, holding its row until the caller commits.

    The conditional update takes the row (or SQLite's write) lock before reading the status, so
    a second delivery waits, then finds the message no longer queued.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == DeliveryStatus.QUEUED)
        .values(attempts=OutboxMessage.attempts + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return None
    return session.get(OutboxMessage, message_id, populate_existing=True)


def mark_sent(session: Session, message: OutboxMessage) -> None:
    message.status = DeliveryStatus.SENT
    message.sent_at = utcnow()
    message.last_error = None
    session.flush()


def record_failure(session: Session, message_id: int, error: str, give_up_after: int) -> None:
    """Count a failed attempt (in a fresh transaction: the claim was rolled back)."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.status != DeliveryStatus.QUEUED:
        return
    message.attempts += 1
    message.last_error = error[:2000]
    if message.attempts >= give_up_after:
        message.status = DeliveryStatus.FAILED
    session.flush()


def stalled_messages(session: Session, older_than_minutes: int = 10) -> list[int]:
    """Ids of messages still queued a while after they were stored (a lost in-process run)."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    return list(
        session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status == DeliveryStatus.QUEUED, OutboxMessage.created_at < cutoff
            )
        )
    )
