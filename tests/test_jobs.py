"""Background work: in-process without Redis, real RQ workers with it, killed workers, rq cron."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from croniter import croniter
from rq import Queue
from rq.cron import CronScheduler
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry, clean_registries
from rq.utils import import_attribute
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import jobs
from monitor.audit.models import AuditEvent
from monitor.config import Config
from monitor.schedule import SCHEDULE
from tests.fixtures.background import (
    ROOT,
    WorkerProcess,
    wait_for_job,
    wait_until,
    worker_env,
)
from tests.jobs_for_tests import block_until_released, fail, record_run

DONE = {JobStatus.FINISHED, JobStatus.FAILED}


def runs_recorded(session: Session, label: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "test_run", AuditEvent.entity_id == label
            )
        )
    )


def audit_row(label: str) -> AuditEvent:
    return AuditEvent(
        actor_kind="cli",
        actor_label="test",
        entity_type="test_run",
        entity_id=label,
        action="create",
        changes={},
    )


def committed_runs(config: Config, label: str) -> list[AuditEvent]:
    with jobs.database().transaction() as session:
        assert jobs.database().url == config.database_url
        return runs_recorded(session, label)


# --- without Redis: in-process ------------------------------------------------------------------


def test_without_redis_enqueue_runs_the_job_at_once_in_its_own_boundary(app, session):
    assert jobs.config().redis_url == ""

    assert jobs.enqueue(record_run, "in-process") is None

    [run] = runs_recorded(session, "in-process")
    assert (run.actor_kind, run.actor_label) == ("system", "job:record_run")


def test_in_process_job_that_fails_is_logged_and_does_not_fail_the_caller(app, caplog):
    with caplog.at_level(logging.ERROR, logger="monitor.jobs"):
        assert jobs.enqueue(fail, "in-process") is None
    [record] = caplog.records
    assert "fail" in record.getMessage() and "in-process" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


def test_enqueue_after_commit_runs_on_commit_only(app, session):
    ran: list[str] = []

    jobs.enqueue_after_commit(session, ran.append, "committed")
    session.flush()
    assert ran == []
    session.commit()
    assert ran == ["committed"]

    jobs.enqueue_after_commit(session, ran.append, "rolled back")
    session.rollback()
    jobs.enqueue_after_commit(session, ran.append, "closed")
    session.close()
    session.commit()  # a later commit does not run what the rollback or the close dropped
    assert ran == ["committed"]


def test_enqueue_after_commit_waits_for_the_outermost_commit(app, session):
    ran: list[str] = []

    jobs.enqueue_after_commit(session, ran.append, "outer")
    with session.begin_nested():
        session.add(audit_row("inner"))
    assert ran == []  # releasing a savepoint commits nothing

    session.begin_nested().rollback()  # rolling back a savepoint keeps the transaction going
    assert ran == []
    session.commit()
    assert ran == ["outer"]


def test_enqueue_after_commit_job_sees_what_the_transaction_wrote(app, session):
    seen: list[int] = []

    def count_runs() -> None:
        with jobs.job_session("count_runs") as job_session:
            seen.append(len(runs_recorded(job_session, "before")))

    session.add(audit_row("before"))
    jobs.enqueue_after_commit(session, count_runs)
    session.commit()
    assert seen == [1]


# --- with Redis: a real RQ worker ---------------------------------------------------------------


def test_enqueue_with_redis_queues_for_a_worker_and_a_pending_job_id_adds_nothing(with_redis):
    first = jobs.enqueue(record_run, "first", job_id="record-once")
    second = jobs.enqueue(record_run, "second", job_id="record-once")

    queue = jobs.queue()
    assert first == second == "record-once"
    assert queue.job_ids == ["record-once"]
    job = queue.fetch_job("record-once")
    assert job is not None and job.args == ("first",)
    assert job.retries_left == 1  # one more run if its worker dies (see the killed-worker tests)
    assert job.failure_ttl == jobs.FAILURE_TTL

    outside = Job.fetch(jobs.enqueue(record_run, "outside", outside=True), queue.connection)
    assert outside.retries_left == jobs.OUTSIDE_ATTEMPTS - 1
    assert outside.retry_intervals == list(jobs.OUTSIDE_RETRY_INTERVALS)


def test_rq_worker_runs_the_job_and_commits_its_work(
    rq_app, rq_config, rq_workers, redis_connection
):
    worker = rq_workers.start(rq_config)

    job_id = jobs.enqueue(record_run, "by-worker", job_id="record-by-worker")
    assert job_id == "record-by-worker"
    job = wait_for_job(redis_connection, job_id, DONE, worker)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result()

    [run] = committed_runs(rq_config, "by-worker")
    assert (run.actor_kind, run.actor_label) == ("system", "job:record_run")

    # Once a job of that id has finished, the same id runs again (a sweep re-enqueueing).
    assert jobs.enqueue(record_run, "by-worker", job_id=job_id) == job_id
    wait_until(lambda: len(committed_runs(rq_config, "by-worker")) == 2, "the second run")


# --- a worker killed in the middle of a job -----------------------------------------------------


def process_gone(pid: int) -> bool:
    """Dead: no such process, or a zombie (the killed worker's orphaned horse waits for init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def kill_mid_job(worker: WorkerProcess, runs: Path, run: int) -> None:
    """Wait until the job's ``run``-th run has started, then SIGKILL the worker and its horse."""
    marker = runs / f"killed.run-{run}"
    wait_until(marker.exists, f"run {run} to start", detail=worker.output)
    horse = int(marker.read_text())
    assert horse != worker.pid  # the job runs in the work-horse, a fork of the worker
    worker.kill()  # first the worker, so it cannot see its horse die and fail the job itself
    os.kill(horse, signal.SIGKILL)
    wait_until(lambda: process_gone(horse), f"work-horse {horse} to die")


def maintenance_after_heartbeats_expire(queue: Queue) -> None:
    """What any live worker's maintenance does once a dead worker's last heartbeat has expired.

    The worker keeps its job's entry in the StartedJobRegistry alive with heartbeats of at least
    60 s (rq: job_monitoring_interval + 60); instead of waiting for that, time moves past it.
    """
    started = StartedJobRegistry(queue=queue)
    entries = queue.connection.zrange(started.key, 0, -1, withscores=True)
    assert entries, "the dead worker's job is not in the StartedJobRegistry"
    expires = max(score for _, score in entries)
    with time_machine.travel(expires + 2, tick=False):
        clean_registries(queue)


def test_job_of_a_killed_worker_is_run_again_by_another_worker(
    rq_app, rq_config, rq_workers, redis_connection, tmp_path
):
    runs = tmp_path / "runs"
    runs.mkdir()
    first = rq_workers.start(rq_config)
    job_id = jobs.enqueue(block_until_released, str(runs), "killed")
    assert job_id is not None

    kill_mid_job(first, runs, run=1)

    job = Job.fetch(job_id, connection=redis_connection)
    assert job.get_status() == JobStatus.STARTED  # nobody is running it, nobody knows yet
    queue = jobs.queue()
    maintenance_after_heartbeats_expire(queue)
    assert job.get_status() == JobStatus.QUEUED and queue.job_ids == [job_id]

    (runs / "release").touch()
    second = rq_workers.start(rq_config)
    job = wait_for_job(redis_connection, job_id, DONE, first, second)

    assert job.get_status() == JobStatus.FINISHED, job.latest_result()
    assert (runs / "killed.run-2").exists()
    assert len(committed_runs(rq_config, "killed")) == 1  # the killed run committed nothing


def test_job_killed_on_every_run_ends_failed_and_kept(
    rq_app, rq_config, rq_workers, redis_connection, tmp_path
):
    runs = tmp_path / "runs"
    runs.mkdir()
    queue = jobs.queue()
    job_id = jobs.enqueue(block_until_released, str(runs), "killed")
    assert job_id is not None

    for run in (1, 2):
        kill_mid_job(rq_workers.start(rq_config), runs, run=run)
        maintenance_after_heartbeats_expire(queue)

    job = Job.fetch(job_id, connection=redis_connection)
    assert job.get_status() == JobStatus.FAILED
    assert queue.job_ids == []
    failed = FailedJobRegistry(queue=queue)
    assert job_id in failed.get_job_ids(cleanup=False)
    kept_until = failed.get_expiration_time(job)
    assert kept_until > datetime.now(UTC) + timedelta(seconds=jobs.FAILURE_TTL - 3600)
    result = job.latest_result()
    assert result is not None and "AbandonedJobError" in (result.exc_string or "")
    assert committed_runs(rq_config, "killed") == []


# --- rq cron ------------------------------------------------------------------------------------


def test_every_periodic_job_has_a_valid_schedule_and_an_importable_function():
    assert SCHEDULE
    for periodic in SCHEDULE:
        assert croniter.is_valid(periodic.cron), periodic
        path = f"{periodic.func.__module__}.{periodic.func.__qualname__}"
        assert import_attribute(path) is periodic.func, path  # what a worker will import
        assert periodic.func.__module__.endswith(".jobs"), path
        assert 0 < periodic.timeout <= 3600, periodic


@time_machine.travel(datetime(2026, 12, 1, 8, 3, 20, tzinfo=UTC), tick=False)
def test_rq_cron_enqueues_the_schedule_when_due(redis_connection, monkeypatch):
    monkeypatch.setenv("QUEUE_NAME", "monitor-cron-test")
    scheduler = CronScheduler(redis_connection)
    scheduler.load_config_from_file("monitor.cron")

    cron_jobs = scheduler.get_jobs()
    assert sorted(j.func_name for j in cron_jobs) == sorted(
        f"{p.func.__module__}.{p.func.__qualname__}" for p in SCHEDULE
    )
    assert scheduler.enqueue_jobs() == []  # nothing is due at start-up

    # Step from one due time to the next until every job has been enqueued once (the jobs
    # run on different schedules: every few minutes, daily, monthly).
    queue = Queue("monitor-cron-test", connection=redis_connection)
    names = {f"{p.func.__module__}.{p.func.__qualname__}" for p in SCHEDULE}
    last_enqueued: dict[str, datetime] = {}
    seen = 0
    while set(last_enqueued) != names:
        due = min(j.next_enqueue_time for j in cron_jobs if j.next_enqueue_time)
        assert due > datetime.now(UTC)
        with time_machine.travel(due, tick=False):
            assert scheduler.enqueue_jobs()
        for job in queue.jobs[seen:]:
            last_enqueued[job.func_name] = due
        seen = len(queue.jobs)

    by_name = {job.func_name: job for job in queue.jobs}
    for periodic in SCHEDULE:
        name = f"{periodic.func.__module__}.{periodic.func.__qualname__}"
        job = by_name[name]
        assert job.timeout == periodic.timeout
        assert job.failure_ttl == jobs.FAILURE_TTL
        following = croniter(periodic.cron, last_enqueued[name]).get_next(datetime)
        cron_job = next(j for j in cron_jobs if j.func is periodic.func)
        assert cron_job.next_enqueue_time == following


def test_rq_cron_process_loads_monitor_cron(redis_connection, redis_url, tmp_path):
    config = Config(instance_path=tmp_path / "instance", redis_url=redis_url, queue_name="q-cron")
    log = tmp_path / "cron.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rq.cli", "cron", "--url", redis_url, "monitor.cron"],
            cwd=ROOT,
            env=worker_env(config),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        [scheduler] = wait_until(
            lambda: CronScheduler.all(redis_connection), "rq cron to register", detail=log.read_text
        )
        assert scheduler.config_file == "monitor.cron"
        registered = scheduler.get_jobs()
        assert sorted(j.func_name for j in registered) == sorted(
            f"{p.func.__module__}.{p.func.__qualname__}" for p in SCHEDULE
        )
        assert {j.queue_name for j in registered} == {"q-cron"}
        assert all(j.next_enqueue_time for j in registered)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert CronScheduler.all(redis_connection) == []  # it said goodbye on the way out
