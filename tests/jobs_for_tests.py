"""Job functions used only by the tests; RQ workers import them (their cwd is the repository)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from monitor import jobs
from monitor.audit.context import current_actor
from monitor.audit.models import AuditEvent

#: A blocked job gives up after this long, so a test that forgets to release it cannot hang.
BLOCK_SECONDS = 60.0


def record_run(label: str) -> None:
    """Leave a trace of this run in the database: an audit row keyed by ``label``."""
    with jobs.job_session("record_run") as session:
        actor = current_actor()
        session.add(
            AuditEvent(
                actor_kind=actor.kind,
                actor_label=actor.label,
                entity_type="test_run",
                entity_id=label,
                action="create",
                changes={},
            )
        )


def fail(label: str) -> None:
    raise RuntimeError(f"job {label} failed")


def block_until_released(folder: str, label: str) -> None:
    """Announce the run in ``folder`` (a file holding this process's pid, one per run), wait
    until ``folder/release`` exists, then record the run."""
    base = Path(folder)
    runs = len(list(base.glob(f"{label}.run-*")))
    tmp = base / f".{label}.{os.getpid()}.tmp"
    tmp.write_text(str(os.getpid()))
    tmp.rename(base / f"{label}.run-{runs + 1}")  # the test never reads a half-written pid
    deadline = time.monotonic() + BLOCK_SECONDS
    while not (base / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label}: never released")
        time.sleep(0.02)
    record_run(label)
