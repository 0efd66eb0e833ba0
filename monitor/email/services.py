"""Queueing and delivering email.

Every message goes through the outbox table first; delivery jobs send it over SMTP or, in the
embedded default, write it to ``instance/outbox/``. Messages queued together (a survey dispatch
batch) are stored by one statement and delivered in batches, each over one SMTP connection.
Messages are claimed with a conditional update before they are sent, so two deliveries of one
message (a retry, two workers) send it once.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import encoders
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.config import Config
from monitor.db import utcnow
from monitor.email.models import DeliveryStatus, OutboxMessage
from monitor.jobs import enqueue_after_commit

#: Messages per delivery job: one transaction and one SMTP connection each. A batch holds its
#: rows while it sends, and a worker that dies mid-batch leaves all of it to be sent again.
DELIVERY_BATCH = 200


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    #: Absolute path of the file (kept under the instance folder).
    path: str


@dataclass(frozen=True)
class OutgoingEmail:
    """One message to queue with :func:`queue_emails`."""

    recipient: str
    subject: str
    text_body: str
    html_body: str | None = None
    attachments: tuple[Attachment, ...] = ()
    #: Same key, same message (see :func:`queue_email`); None: always a new message.
    dedup_key: str | None = None


def queue_emails(session: Session, emails: Sequence[OutgoingEmail]) -> list[int]:
    """Store messages for delivery after the caller commits; ids of those this call stored.

    A message whose ``dedup_key`` is already used (stored earlier, by a concurrent transaction,
    or earlier in ``emails``) stores and sends nothing. Delivery is enqueued at commit as one
    job per ``DELIVERY_BATCH`` messages, and dropped if the caller rolls back.
    """
    from monitor.email.jobs import deliver_email_batch  # the jobs import this module

    ids = _store(session, emails)
    for start in range(0, len(ids), DELIVERY_BATCH):
        enqueue_after_commit(
            session, deliver_email_batch, ids[start : start + DELIVERY_BATCH], outside=True
        )
    return ids


def queue_email(
    session: Session,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    attachments: Iterable[Attachment] = (),
    dedup_key: str | None = None,
) -> OutboxMessage:
    """Store one message for delivery after the caller commits.

    With a ``dedup_key`` already used, the stored message is returned and nothing new is queued:
    callers that may run twice (jobs) pass a key derived from what they are sending.
    """
    from monitor.email.jobs import deliver_email, delivery_job_id  # the jobs import this module

    email = OutgoingEmail(
        recipient, subject, text_body, html_body, tuple(attachments), dedup_key=dedup_key
    )
    stored = _store(session, [email])
    if stored:
        [message_id] = stored
        enqueue_after_commit(
            session, deliver_email, message_id, outside=True, job_id=delivery_job_id(message_id)
        )
        message = session.get(OutboxMessage, message_id)
    else:
        # The key is used: by this transaction, an earlier one, or one that committed while
        # our insert waited for it.
        message = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))
    assert message is not None
    return message


def _store(session: Session, emails: Sequence[OutgoingEmail]) -> list[int]:
    """Insert the messages whose dedup key is unused, skipping the others; their ids, ascending.

    ``ON CONFLICT (dedup_key) DO NOTHING``: a concurrent transaction's uncommitted row with the
    same key makes the insert wait, then skip it, so each key is stored (and sent) once.
    """
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for email in emails:
        key = email.dedup_key or f"uuid:{uuid.uuid4()}"
        rows.setdefault(
            key,
            {
                "dedup_key": key,
                "recipient": email.recipient,
                "subject": email.subject,
                "text_body": email.text_body,
                "html_body": email.html_body,
                "attachments": [a.__dict__ for a in email.attachments],
                "message_id": make_msgid(domain="monitor.local"),
                "status": DeliveryStatus.QUEUED,
                "attempts": 0,
                "created_at": now,
            },
        )
    if not rows:
        return []
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(OutboxMessage.id)
    )
    # A list of parameter sets, not .values(rows): SQLAlchemy compiles the statement once and
    # sends the rows as multi-row VALUES pages ("insertmanyvalues"), several times faster.
    return sorted(session.scalars(stmt, list(rows.values())))


def build_mime(message: OutboxMessage, sender: str) -> Message:
    """The message as MIME: text, text and HTML as alternatives, attachments after them.

    Built with the email package's compat32 classes (``MIMEText``...): three times faster than
    ``EmailMessage`` with the default policy, which parses and refolds every header it is given,
    and a quarter's survey dispatch sends 100,000 messages. Headers are given as compat32 wants
    them: addresses encoded with ``formataddr``, the subject as text (encoded when generated).
    """
    body: Message = _text(message.text_body, "plain")
    if message.html_body:
        body = MIMEMultipart("alternative", _subparts=[body, _text(message.html_body, "html")])
    if message.attachments:
        attachments = [_attachment(item) for item in message.attachments]
        body = MIMEMultipart("mixed", _subparts=[body, *attachments])
    body["From"] = formataddr(parseaddr(sender), charset="utf-8")
    body["To"] = formataddr(parseaddr(message.recipient), charset="utf-8")
    body["Subject"] = message.subject
    body["Message-ID"] = message.message_id
    # format_datetime, not strftime: day and month names must not follow the process's locale.
    body["Date"] = format_datetime(message.created_at)
    return body


def _text(text: str, subtype: str) -> MIMEText:
    return MIMEText(text, subtype, "utf-8")


def _attachment(item: dict[str, Any]) -> MIMEBase:
    maintype, _, subtype = item["content_type"].partition("/")
    part = MIMEBase(maintype, subtype)
    part.set_payload(Path(item["path"]).read_bytes())
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=item["filename"])
    return part


class Transport(Protocol):
    """Where messages go: ``open()``, any number of ``send()``, ``close()``."""

    def open(self) -> None: ...

    def send(self, mime: Message) -> None: ...

    def close(self) -> None: ...


#: The server answered this message with an error; the SMTP session itself goes on (smtplib
#: resets it), so the next message uses the same connection.
_REFUSED = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)


class SmtpTransport:
    """``smtp://`` (plain), ``smtp+starttls://`` or ``smtps://``, with optional user:password.

    One connection carries every message between ``open()`` and ``close()``.
    """

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
        self._client: smtplib.SMTP | None = None

    def open(self) -> None:
        """Connect (and log in) unless connected."""
        if self._client is not None:
            return
        if self.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        self._client = client

    def send(self, mime: Message) -> None:
        self.open()
        assert self._client is not None
        try:
            self._client.send_message(mime)
        except _REFUSED:
            if self._client.sock is None:  # smtplib hung up (a 421 reply): the next reconnects
                self.close()
            raise
        except BaseException:
            self.close()  # a broken or timed-out connection: the next message reconnects
            raise

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


class FileTransport:
    """The embedded default: each message becomes ``<folder>/<timestamp>-<id>.eml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, mime: Message) -> None:
        stem = f"{utcnow():%Y%m%dT%H%M%S}-{mime['Message-ID'].strip('<>').split('@')[0]}"
        tmp = self.folder / f".{stem}.tmp"
        tmp.write_bytes(bytes(mime))
        tmp.replace(self.folder / f"{stem}.eml")  # readers never see half a message

    def close(self) -> None:
        pass


def transport_for(config: Config) -> Transport:
    if config.smtp_url:
        return SmtpTransport(config.smtp_url)
    return FileTransport(config.outbox_path)


def claim(session: Session, message_ids: Sequence[int]) -> list[OutboxMessage]:
    """Take the still-queued messages among ``message_ids`` for sending (ordered by id), counting
    an attempt for each and holding their rows until the caller commits.

    The conditional update takes the row (or SQLite's write) locks before reading the status, so
    a second delivery of the same messages waits, then finds them no longer queued.
    """
    claimed = session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == DeliveryStatus.QUEUED)
        .values(attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage),
        execution_options={"populate_existing": True},
    )
    return sorted(claimed, key=lambda message: message.id)


@dataclass
class Delivery:
    """What one delivery run did with the messages it claimed."""

    #: Message id -> when the transport took it.
    sent: dict[int, datetime] = field(default_factory=dict)
    #: Message id -> why it was not sent.
    failed: dict[int, Exception] = field(default_factory=dict)


def send_each(transport: Transport, messages: Sequence[OutboxMessage], sender: str) -> Delivery:
    """Send ``messages`` over one connection; a message that fails does not stop the others.

    A refusal (bad recipient, rejected content) or a missing attachment fails that message only;
    so does a connection lost while sending it, opened again for the next message. When the
    server cannot be reached, or anything else goes wrong (the job's time is up, a bug), the
    messages left fail with that error untried; those sent are still reported.
    """
    delivery = Delivery()
    stop: Exception | None = None
    try:
        for message in messages:
            if stop is not None:
                delivery.failed[message.id] = stop
                continue
            try:
                mime = build_mime(message, sender)
            except (OSError, ValueError) as exc:  # an attachment gone: this message only
                delivery.failed[message.id] = exc
                continue
            except Exception as exc:
                stop = delivery.failed[message.id] = exc
                continue
            try:
                transport.open()
            except Exception as exc:  # the server cannot be reached: none will go
                stop = delivery.failed[message.id] = exc
                continue
            try:
                transport.send(mime)
            except (OSError, ValueError) as exc:  # refused, or the connection lost (smtplib's
                delivery.failed[message.id] = exc  # errors are OSErrors): this message only
            except Exception as exc:  # the job's time is up, a bug: none of the rest either
                stop = delivery.failed[message.id] = exc
            else:
                delivery.sent[message.id] = utcnow()
    finally:
        transport.close()
    return delivery


def record_delivery(
    session: Session, claimed: Sequence[OutboxMessage], delivery: Delivery, give_up_after: int
) -> None:
    """Mark the sent messages sent and keep each failure's error; a message that failed its
    ``give_up_after``-th attempt is given up (FAILED), the others stay queued for a retry."""
    if delivery.sent:
        session.execute(
            update(OutboxMessage),
            [
                {"id": i, "status": DeliveryStatus.SENT, "sent_at": at, "last_error": None}
                for i, at in delivery.sent.items()
            ],
        )
    for message in claimed:
        error = delivery.failed.get(message.id)
        if error is None:
            continue
        message.last_error = repr(error)[:2000]
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
