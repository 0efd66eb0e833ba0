"""PDF rendering cost: the aging report for 1,000 overdue accounts against a bare WeasyPrint table
of the same rows.

Builds a SQLite book in a temporary folder (removed after) with ``--accounts`` accounts, each
with one overdue invoice (spread over every aging bucket) and one not yet due, gathers the aging
report's content once (``monitor.reports.content.aging_content``: the aging query, 12 month-ends
of trend, DSO), then times, on the same rows:

- the report: Jinja templates, SVG chart, top 25 and the table of every overdue account, the
  print stylesheet, WeasyPrint → PDF (``monitor.reports.rendering.render_pdf``);
- bare: one ``<table>`` of the same overdue rows and columns (and column widths) built with a
  plain string join, the same stylesheet (so the same fonts), WeasyPrint → PDF;

and prints both times (wall clock and this process's CPU time: the machine may be shared), the
ratios report / bare (target: at most 1.2) and the pages of each. Each time is the median of
``--repeat`` runs, taken in turns, after one warm-up of each.

    .venv/bin/python -P bench/pdf.py
    .venv/bin/python -P bench/pdf.py --accounts 200 --repeat 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from html import escape
from io import BytesIO
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy.orm import Session

from monitor import migrate
from monitor.accounts.services import create_account
from monitor.audit.context import Actor, acting_as
from monitor.db import make_engine, utcnow
from monitor.reports.content import aging_content
from monitor.reports.rendering import html_to_pdf, money, render_pdf
from receivables.ledger import create_invoice

AS_OF = date(2026, 10, 31)


def timed(actions: dict[str, Callable[[], bytes]], repeat: int) -> dict[str, dict]:
    """Median wall and CPU seconds of each action, run in turns (report, bare, report, ...) so
    that load from other processes on the machine falls on both alike."""
    results: dict[str, dict] = {name: {"wall": [], "cpu": []} for name in actions}
    for action in actions.values():
        action()  # warm-up: fonts, stylesheet, template compilation
    for _ in range(repeat):
        for name, action in actions.items():
            wall, cpu = time.perf_counter(), time.process_time()
            results[name]["pdf"] = action()
            results[name]["wall"].append(time.perf_counter() - wall)
            results[name]["cpu"].append(time.process_time() - cpu)
    for figures in results.values():
        figures["wall"] = statistics.median(figures["wall"])
        figures["cpu"] = statistics.median(figures["cpu"])
    return results


def build(url: str, accounts: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    with acting_as(Actor("cli", "bench")), Session(engine) as session:
        for n in range(accounts):
            account = create_account(
                session,
                code=f"B{n:05d}",
                name=f"上海华能电力设备第{n}分公司" if n % 2 else f"Redwood Water Utility {n}",
                account_class="ABC"[n % 3],
                account_type="repeat",
                currency="CNY",
                timezone="Asia/Shanghai",
            )
            overdue_days = 1 + (n * 7) % 200  # every bucket
            for suffix, issued in (
                ("O", AS_OF - timedelta(days=30 + overdue_days)),
                ("N", AS_OF - timedelta(days=5)),
            ):
                create_invoice(
                    session,
                    account_id=account.id,
                    number=f"{account.code}-{suffix}",
                    issue_date=issued,
                    currency="CNY",
                    amount=Decimal(1000 + (n * 37) % 90_000),
                )
        session.commit()
    engine.dispose()


def bare_html(data: dict) -> str:
    """The overdue rows as one table, no template engine: what WeasyPrint costs by itself."""
    labels = data["labels"]
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in ["code", "name", "currency", *labels, "overdue", "days past due"]
    )
    rows = []
    for row in data["overdue"]:
        cells = [escape(row.code), escape(row.name), row.currency]
        cells += [money(row.buckets[label]) for label in labels]
        cells += [money(row.overdue), str(data["days"].get(row.account_id, ""))]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    # the report's column widths, so that both tables break their cells into the same lines
    widths = [8, 22, 6, *[44 / len(labels)] * len(labels), 12, 8]
    columns = "".join(f'<col style="width: {w}%">' for w in widths)
    return (
        f'<html lang="en"><body><table><colgroup>{columns}</colgroup><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table></body></html>"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as folder:
        url = f"sqlite:///{Path(folder) / 'book.sqlite3'}"
        started = time.perf_counter()
        build(url, args.accounts)
        print(f"built {args.accounts:,} accounts in {time.perf_counter() - started:.0f} s")
        engine = make_engine(url)
        with Session(engine) as session:
            started = time.perf_counter()
            data = aging_content(session, AS_OF, "en")
            gathered = time.perf_counter() - started
        engine.dispose()
    overdue = len(data["overdue"])
    context = {
        "title": "Aging report",
        "as_of": AS_OF,
        "company": "bench",
        "generated_at": utcnow(),
    }

    figures = timed(
        {
            "report": lambda: render_pdf("aging.html", "en", **context, **data),
            "bare": lambda: html_to_pdf(bare_html(data)),
        },
        args.repeat,
    )
    print(f"overdue accounts: {overdue:,}; content gathered in {gathered:.2f} s (not timed below)")
    for name, label in (("report", "aging report PDF"), ("bare", "bare table PDF  ")):
        f = figures[name]
        print(
            f"{label}: {f['wall']:.2f} s wall, {f['cpu']:.2f} s CPU, "
            f"{len(PdfReader(BytesIO(f['pdf'])).pages)} pages, {len(f['pdf']):,} bytes"
        )
    for clock in ("wall", "cpu"):
        ratio = figures["report"][clock] / figures["bare"][clock]
        print(f"ratio report / bare ({clock}): {ratio:.2f} (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
