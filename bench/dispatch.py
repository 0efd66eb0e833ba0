"""Benchmark: open a survey cycle for a large book and deliver every invitation.

Starts a throwaway PostgreSQL (durable settings) and Redis, loads demo data (20,000 accounts by
default, topped up to 100,000 eligible contacts: users, buyers and deciders of active accounts
who have not opted out), starts two real ``rq worker`` processes and a loopback SMTP sink, then
opens the current quarter's cycle and waits until the sink has received every invitation.

Prints invitations per second and the time from "open cycle" to the last message received.
Target (issue 3): the whole dispatch in at most 5 minutes on a 2-core machine.

    .venv/bin/python -P bench/dispatch.py                   # 20,000 accounts, 100,000 contacts
    .venv/bin/python -P bench/dispatch.py --accounts 2000 --contacts 10000
    .venv/bin/python -P bench/dispatch.py --forking         # RQ's default forking worker

Output (figures and worker logs) also goes to ``bench/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.servers (the throwaway PostgreSQL and Redis)

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from monitor import demo, migrate  # noqa: E402
from monitor.accounts import services as accounts  # noqa: E402
from monitor.accounts.models import Contact, ContactRole  # noqa: E402
from monitor.audit.context import Actor, acting_as  # noqa: E402
from monitor.config import Config  # noqa: E402
from monitor.db import Database, utcnow  # noqa: E402
from monitor.email.models import DeliveryStatus, OutboxMessage  # noqa: E402
from monitor.i18n import Language  # noqa: E402
from surveys import services  # noqa: E402
from surveys.settings import SurveySettings  # noqa: E402
from tests.servers import free_port, start_postgres, start_redis  # noqa: E402

OUT = ROOT / "bench" / "out"


class Sink:
    """An SMTP server that counts, and checks every 100th message carries a survey link."""

    def __init__(self) -> None:
        self.count = 0
        self.without_link = 0
        self.last_at = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
            self.last_at = time.monotonic()
            check = self.count % 100 == 1  # parsing every message would cost the sink's CPU
        if check:
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            text = message.get_body(("plain",)).get_content()
            if "https://monitor.example.com/s/" not in text:
                with self.lock:
                    self.without_link += 1
        return "250 2.0.0 accepted"


def seed(db: Database, accounts_wanted: int, contacts_wanted: int) -> int:
    """Demo accounts, then extra users at random active accounts until ``contacts_wanted``
    contacts can be invited. Returns how many can."""
    with acting_as(Actor("cli", "bench")), db.transaction() as session:
        demo.generate(session, seed=11, accounts=accounts_wanted, batch=2000)
    with db.transaction() as session:
        eligible = [c for c in accounts.survey_contact_ids(session) if not c[1]]
        missing = contacts_wanted - len(eligible)
        active = [
            row[0]
            for row in accounts.surveyed_role_coverage(session)  # active accounts
        ]
    rng = random.Random(5)
    added = 0
    while added < missing:
        # Bench seeding only: rows written straight through the model, in bulk.
        with acting_as(Actor("cli", "bench")), db.transaction() as session:
            chunk = min(5000, missing - added)
            session.add_all(
                Contact(
                    account_id=rng.choice(active),
                    name=f"Extra User {added + i}",
                    email=f"extra.{added + i}@bench.example.com",
                    role=ContactRole.USER,
                    language=Language.ZH if i % 3 else Language.EN,
                    opted_out=False,
                )
                for i in range(chunk)
            )
            added += chunk
    with db.transaction() as session:
        return sum(1 for _, opted_out in accounts.survey_contact_ids(session) if not opted_out)


def start_worker(config: Config, n: int, forking: bool) -> tuple[subprocess.Popen[bytes], Path]:
    log = OUT / f"dispatch-worker-{n}.log"
    command = [sys.executable, "-m", "rq.cli", "worker", "--url", config.redis_url]
    command += ["--name", f"bench-{n}-{os.getpid()}", "--logging_level", "WARNING"]
    if not forking:
        command += ["--worker-class", "rq.worker.SimpleWorker"]
    command.append(config.queue_name)
    env = {**os.environ, **config.to_env()}
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=100_000, help="eligible contacts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--forking", action="store_true", help="RQ's default (forking) worker")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="stop after (s), printing partial figures"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    postgres = start_postgres(durable=True)
    redis_server = start_redis(Path(tempfile.mkdtemp(prefix="monitor-bench-redis-")))
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="sink.bench")
    controller.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        config = Config(
            instance_path=Path(tempfile.mkdtemp(prefix="monitor-bench-")),
            database_url=postgres.url,
            redis_url=redis_server.url,
            smtp_url=f"smtp://127.0.0.1:{port}",
            secret_key="bench",
            base_url="https://monitor.example.com",
            queue_name="monitor-bench",
        )
        os.environ.update(config.to_env())
        migrate.upgrade(config.database_url)
        db = Database(config.database_url)
        started = time.monotonic()
        invitable = seed(db, args.accounts, args.contacts)
        print(
            f"seeded {args.accounts} accounts, {invitable} contacts to invite "
            f"in {time.monotonic() - started:.0f} s"
        )

        logs = []
        for n in range(args.workers):
            process, log = start_worker(config, n + 1, args.forking)
            workers.append(process)
            logs.append(log)
        time.sleep(3)  # let the workers register

        from surveys.jobs import enqueue_dispatch

        load_before = os.getloadavg()
        t0 = time.monotonic()
        with acting_as(Actor("cli", "bench")), db.transaction() as session:
            now = utcnow()
            cycle, _ = services.open_cycle(
                session, services.quarter_of(now.date()), SurveySettings(), now
            )
            cycle_id = cycle.id
        batches = enqueue_dispatch(cycle_id)
        t_enqueued = time.monotonic()
        print(f"cycle opened, {batches} dispatch batches enqueued in {t_enqueued - t0:.1f} s")

        invited_at = None
        last_report = 0.0
        while sink.count < invitable:
            time.sleep(0.5)
            elapsed = time.monotonic() - t0
            if invited_at is None:
                with db.transaction() as session:
                    status = services.cycle_status(session, session.get(type(cycle), cycle_id))
                if status.invited >= invitable:
                    invited_at = elapsed
            if elapsed - last_report >= 15:
                last_report = elapsed
                print(f"  {elapsed:6.0f} s: {sink.count} received")
            if elapsed > args.timeout:
                print(f"stopped after {args.timeout:.0f} s: figures below are partial")
                break
            if any(w.poll() is not None for w in workers):
                raise SystemExit("a worker exited; see " + ", ".join(map(str, logs)))
        complete = sink.count >= invitable
        total = sink.last_at - t0
        with db.transaction() as session:
            sent = session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.status == DeliveryStatus.SENT
                )
            )
        figures = {
            "accounts": args.accounts,
            "invitations": invitable,
            "received": sink.count,
            "sampled_without_link": sink.without_link,
            "outbox_sent": sent,
            "workers": args.workers,
            "worker_class": "forking (rq default)" if args.forking else "rq.worker.SimpleWorker",
            "invitations_created_s": round(invited_at or total, 1),
            "total_s": round(total, 1),
            "complete": complete,
            "invitations_per_s": round(sink.count / total, 1),
            "projected_total_s": round(invitable / (sink.count / total), 1),
            "target_s": 300,
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
            f"Python {platform.python_version()}",
            # 1/5/15-minute load averages when the cycle opened and at the end: another process
            # busy on the same cores makes the figures lower.
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(figures, indent=2))
        (OUT / "dispatch.json").write_text(json.dumps(figures, indent=2))
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(30)
        controller.stop()
        redis_server.stop()
        postgres.stop()


if __name__ == "__main__":
    main()
