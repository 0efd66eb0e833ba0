"""Background work: one way to enqueue, and the boundary every job runs inside.

With ``REDIS_URL`` set, work goes to RQ and ``rq worker`` runs it; without, it runs in this
process right away. Either way a job is a plain function in some ``<package>/jobs.py`` that takes
ids, opens its own session through :func:`job_session`, and is safe to run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from monitor.audit.context import Actor, acting_as
from monitor.config import Config
from monitor.db import Database

log = logging.getLogger(__name__)

#: Back-off for jobs that talk to the outside (SMTP, ...): 5 attempts over about 40 minutes.
OUTSIDE_RETRY_INTERVALS = (30, 120, 600, 1800)
#: Attempts in all, the first included.
OUTSIDE_ATTEMPTS = len(OUTSIDE_RETRY_INTERVALS) + 1


@dataclass(frozen=True)
class Periodic:
    """A job that ``rq cron`` enqueues on a schedule; declared by the package that owns it."""

    func: Callable[..., Any]
    #: Crontab expression, in UTC.
    cron: str
    #: Seconds a run may take before RQ gives up on it.
    timeout: int = 600


def config() -> Config:
    """The configuration of the app in context, or of the environment (a worker process)."""
    if has_app_context():
        return current_app.config["MONITOR"]
    return _env_config()


@cache
def _env_config() -> Config:
    return Config.from_env()


def database() -> Database:
    if has_app_context():
        return current_app.extensions["monitor.db"]
    return _env_database()


@cache
def _env_database() -> Database:
    cfg = _env_config()
    return Database(cfg.database_url, cfg.sql_echo)


@cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url)


def queue(cfg: Config | None = None) -> Queue:
    """The RQ queue of this deployment (requires ``REDIS_URL``)."""
    cfg = cfg or config()
    if not cfg.redis_url:
        raise RuntimeError("REDIS_URL is not set: jobs run in-process, there is no queue")
    return Queue(cfg.queue_name, connection=_redis(cfg.redis_url))


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    outside: bool = False,
    job_id: str | None = None,
    timeout: int = 600,
) -> str | None:
    """Run ``func(*args)`` in the background; returns the RQ job id, or None when run in-process.

    ``outside=True`` marks work that talks to another system and is retried with back-off.
    ``job_id`` makes enqueueing idempotent: RQ keeps one job per id.
    """
    cfg = config()
    if cfg.redis_url:
        retry = Retry(max=len(OUTSIDE_RETRY_INTERVALS), interval=list(OUTSIDE_RETRY_INTERVALS))
        job = queue(cfg).enqueue(
            func,
            *args,
            job_id=job_id,
            retry=retry if outside else None,
            job_timeout=timeout,
            failure_ttl=30 * 24 * 3600,
        )
        return job.id
    try:
        func(*args)
    except Exception:
        # The caller's transaction has committed; the periodic sweep of each job's own
        # package picks the work up again (e.g. queued emails are re-sent by the outbox sweep).
        log.exception("in-process job %s%r failed", func.__qualname__, args)
    return None


def enqueue_after_commit(
    session: Session, func: Callable[..., Any], *args: Any, **options: Any
) -> None:
    """Enqueue once ``session`` commits, so the job sees what was written; dropped on rollback."""
    session.info.setdefault("monitor_after_commit", []).append((func, args, options))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    pending = session.info.pop("monitor_after_commit", [])
    for func, args, options in pending:
        enqueue(func, *args, **options)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop("monitor_after_commit", None)


@contextmanager
def job_session(name: str) -> Iterator[Session]:
    """One job's boundary: its own session, committed on success, changes by ``job:name``."""
    with acting_as(Actor("system", f"job:{name}")), database().transaction() as session:
        yield session
