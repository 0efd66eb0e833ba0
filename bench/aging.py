"""Aging at scale: 20,000 accounts, 1,000,000 instalments, on SQLite and on PostgreSQL.

Builds the book with the demo-data generator (``monitor.demo.generate``, which gives every
account two years of invoices, payments, credit notes and write-offs through
``receivables.demo``), then prints for each database:

- the aging query as of today and as of a year back (every account, default buckets, by due
  date: ``receivables.aging.aging_query``, executed and fetched), and the same through
  ``aging_rows`` (which also turns every figure into a Decimal row object),
- a bare ``SELECT account_id, SUM(amount) FROM receivable_postings GROUP BY account_id`` over
  the same ledger rows (and, for the year back, with ``WHERE posted_on <= :as_of``),
- the ratios aging / bare (target: at most 2.0).

Each figure is the median of ``--repeat`` runs after one warm-up round.

    .venv/bin/python -P bench/aging.py                         # both databases, full scale
    .venv/bin/python -P bench/aging.py --accounts 2000 --only sqlite

PostgreSQL is a throwaway server started like the test suite's (needs the Debian package
``postgresql``); SQLite is a file in ``bench/out/``. Nothing is kept.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ``tests.servers`` starts PostgreSQL; never ROOT/collections
    sys.path.append(str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from monitor import demo, migrate  # noqa: E402
from monitor.audit.context import Actor, acting_as  # noqa: E402
from monitor.db import make_engine  # noqa: E402
from receivables.aging import aging_query, aging_rows  # noqa: E402

BARE = "SELECT account_id, SUM(amount) FROM receivable_postings GROUP BY account_id"
BARE_AS_OF = BARE.replace(" GROUP BY", " WHERE posted_on <= :as_of GROUP BY")


def build(url: str, accounts: int, seed: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with acting_as(Actor("cli", "bench")), Session(engine) as session:
        counts = demo.generate(session, seed=seed, accounts=accounts, batch=2000)
        session.commit()
    print(f"  built in {time.perf_counter() - started:.0f} s: "
          + ", ".join(f"{n:,} {what}" for what, n in counts.items()))  # fmt: skip
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()


def measure(url: str, repeat: int) -> None:
    """Time each action ``repeat`` times, in rounds (one of each per round, so that a busy
    moment on the machine hits them alike), after a warm-up round; print medians."""
    engine = make_engine(url)
    today = date.today()
    year_back = today - timedelta(days=365)
    with Session(engine) as session:
        rows = session.execute(text("SELECT COUNT(*) FROM receivable_postings")).scalar_one()
        instalments = session.execute(
            text("SELECT COUNT(*) FROM receivable_instalments")
        ).scalar_one()
        print(f"  ledger: {rows:,} postings over {instalments:,} instalments")

        def query(as_of: date) -> list:
            return session.connection().execute(aging_query(session, as_of)).all()

        actions: dict[str, Callable[[], object]] = {
            "bare GROUP BY": lambda: session.execute(text(BARE)).all(),
            "bare, a year back": lambda: session.execute(
                text(BARE_AS_OF), {"as_of": year_back}
            ).all(),
            "aging query today": lambda: query(today),
            "aging query a year back": lambda: query(year_back),
            "aging_rows today": lambda: aging_rows(session, today)[1],
            "aging_rows a year back": lambda: aging_rows(session, year_back)[1],
        }  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in actions}
        results: dict[str, object] = {}
        for round_ in range(repeat + 1):
            for name, action in actions.items():
                results.pop(name, None)  # the previous round's rows: no longer alive
                # As timeit does: no garbage collection while timing, and none pending. Else
                # whichever action allocates more pays for collections that walk every row
                # the other actions left alive.
                gc.collect()
                gc.disable()
                start = time.perf_counter()
                results[name] = action()
                elapsed = time.perf_counter() - start
                gc.enable()
                if round_:  # the first round warms caches and plans
                    times[name].append(elapsed)
    engine.dispose()
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in median.items():
        found = results[name]
        print(f"  {name:<24} {seconds:8.3f} s  ({len(found):,} accounts)")  # type: ignore[arg-type]
    opened = results["aging_rows today"]
    total = sum(row.total for row in opened)  # type: ignore[attr-defined]
    print(f"  open today: {total:,.2f} (all currencies added up, a plausibility figure)")
    bare = median["bare GROUP BY"]
    for name in ("aging query today", "aging query a year back", "aging_rows today",
                 "aging_rows a year back"):  # fmt: skip
        print(f"  ratio {name} / bare: {median[name] / bare:.2f}")
    print(
        "  ratio aging query a year back / bare a year back: "
        f"{median['aging query a year back'] / median['bare, a year back']:.2f}"
    )


def main() -> None:
    # stopped with SIGTERM: unwind, so that the throwaway PostgreSQL is stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--keep", action="store_true", help="Keep (and reuse) bench/out/aging.sqlite3."
    )
    args = parser.parse_args()
    print(f"{args.accounts:,} accounts, {os.cpu_count()} CPUs")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "sqlite"):
        path = out / "aging.sqlite3"
        url = f"sqlite:///{path}"
        print("SQLite")
        if not (args.keep and path.exists()):
            path.unlink(missing_ok=True)
            build(url, args.accounts, args.seed)
        measure(url, args.repeat)
        if not args.keep:
            path.unlink(missing_ok=True)
    if args.only in (None, "postgresql"):
        from tests.servers import start_postgres

        server = start_postgres(durable=True)
        try:
            print("PostgreSQL")
            build(server.url, args.accounts, args.seed)
            measure(server.url, args.repeat)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
