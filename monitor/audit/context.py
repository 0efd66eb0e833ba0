"""Who is acting: set by the request, job or command boundary, read by the audit listener."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    #: ``staff``, ``system`` (jobs), ``cli`` or ``contact`` (a customer answering a survey).
    kind: str
    #: What people read in a history: an email, a job name, an OS user.
    label: str
    #: The staff user's id, when the actor is one.
    staff_id: int | None = None


SYSTEM = Actor("system", "system")

_current: ContextVar[Actor] = ContextVar("monitor_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Attribute every change made inside the block to ``actor``."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_actor(actor: Actor) -> None:
    """Attribute the rest of this context (one request) to ``actor``; Flask resets it after."""
    _current.set(actor)
