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
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from monitor.audit.context import Actor, acting_as
from monitor.config import Config
from monitor.db import Database

log = logging.getLogger(__name__)

#: Back-off for jobs that talk to the outside (SMTP, ...): 5 attempts over about 40 minutes.
OUTSIDE_RETRY_INTERVALS = (30, 120, 600, 1800)
#: Attempts in all, the first included.
OUTSIDE_ATTEMPTS = len(OUTSIDE_RETRY_INTERVALS) + 1
#: Failed jobs stay inspectable (``rq info``, the FailedJobRegistry) this long.
FAILURE_TTL = 30 * 24 * 3600
#: States in which a job will still run: enqueueing its id again would only run it twice.
_PENDING = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED})


@dataclass(frozen=True)
class Periodic:
    """A job that ``rq cron`` enqueues on a schedule; declared by the package that owns it."""

    func: Callable[..., Any]
    #: Crontab expression. ``rq cron`` (rq 3) matches it against the local time of its host, so
    #: it is UTC only where ``rq cron`` runs with ``TZ=UTC``.
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
    ``job_id`` makes enqueueing idempotent: while a job of that id is still to run (queued,
    scheduled for a retry, running), enqueueing it again returns its id and adds nothing.
    """
    cfg = config()
    if cfg.redis_url:
        rq_queue = queue(cfg)
        if job_id is not None and _pending(rq_queue, job_id):
            return job_id
        if outside:
            retry = Retry(max=len(OUTSIDE_RETRY_INTERVALS), interval=list(OUTSIDE_RETRY_INTERVALS))
        else:
            # A job whose worker dies mid-run (deploy, OOM kill, lost host) is found abandoned
            # by RQ's registry maintenance and run again only if it has retries left; without
            # one it would just be marked failed. Jobs are safe to run twice, so one more go.
            retry = Retry(max=1)
        job = rq_queue.enqueue(
            func,
            *args,
            job_id=job_id,
            retry=retry,
            job_timeout=timeout,
            failure_ttl=FAILURE_TTL,
        )
        return job.id
    try:
        func(*args)
    except Exception:
        # The caller's transaction has committed; the periodic sweep of each job's own
        # package picks the work up again (e.g. queued emails are re-sent by the outbox sweep).
        log.exception("in-process job %s%r failed", func.__qualname__, args)
    return None


def _pending(rq_queue: Queue, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=rq_queue.connection)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in _PENDING


#: Key in ``Session.info`` of the jobs waiting for the session's commit.
_AFTER_COMMIT = "monitor_after_commit"


def enqueue_after_commit(
    session: Session, func: Callable[..., Any], *args: Any, **options: Any
) -> None:
    """Enqueue once ``session`` commits, so the job sees what was written; dropped on rollback."""
    if not session.in_transaction():
        # Belong to a transaction, as ``session.add`` does: a rollback without one is a no-op
        # that no event reports, and the job would leak into whatever commits next.
        session.begin()
    session.info.setdefault(_AFTER_COMMIT, []).append((func, args, options))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: nothing is committed yet
    for func, args, options in session.info.pop(_AFTER_COMMIT, []):
        enqueue(func, *args, **options)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended and after_commit did not take the jobs: it was rolled back
    # or the session closed. A savepoint rolled back keeps them: the transaction goes on.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


@contextmanager
def job_session(name: str) -> Iterator[Session]:
    """One job's boundary: its own session, committed on success, changes by ``job:name``."""
    with acting_as(Actor("system", f"job:{name}")), database().transaction() as session:
        yield session
