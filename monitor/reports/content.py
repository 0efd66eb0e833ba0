"""What each report says, gathered through the other packages' service functions only.

Every figure comes from receivables, complaints or surveys as they compute it; where a source has
nothing for the date (no survey cycle yet, no credit sales for a DSO) the report says so instead
of showing a number.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from monitor.accounts import services as accounts
from monitor.accounts.models import ContactRole
from monitor.complaints import services as complaints
from monitor.complaints.models import Category, Severity, State
from monitor.reports import charts
from monitor.reports.texts import translator
from monitor.staff import services as staff
from monitor.staff.models import Role, StaffUser
from receivables import aging, disputes, ladder, ledger, metrics
from receivables.calendar import add_months
from receivables.escalation_models import DisputeState, TaskState
from surveys import scoring
from surveys import services as surveys
from surveys import settings as survey_settings

ZERO = Decimal("0.00")
#: Accounts listed by name in the aging report's and the summary's "largest" tables.
TOP_OVERDUE = 25
LARGEST_IN_SUMMARY = 10
#: An account whose role-weighted NPS is below this needs attention.
ATTENTION_NPS = Decimal("0")
#: The ladder level from which an account needs the executives' attention (formal letter).
ATTENTION_LEVEL = 3
#: Days a formal letter gives the customer to pay.
LETTER_DEADLINE_DAYS = 7
PAYMENT_HISTORY_DAYS = 180


def month_ends(as_of: date, count: int) -> list[date]:
    """The last ``count`` month-ends on or before ``as_of``, oldest first."""
    last = as_of if (as_of + timedelta(days=1)).day == 1 else as_of.replace(day=1) - timedelta(1)
    ends = []
    for back in range(count):
        ends.append(add_months(last.replace(day=1), -back + 1) - timedelta(days=1))
    return sorted(ends)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def _label(month_end: date) -> str:
    return f"{month_end:%Y-%m}"


# --- aging --------------------------------------------------------------------------------------


@dataclass
class CurrencyAging:
    currency: str
    totals: dict[str, Decimal]
    metrics: metrics.Metrics
    #: Month-end label → bucket label → amount (None: nothing was open then).
    trend: list[tuple[date, dict[str, Decimal] | None]] = field(default_factory=list)
    chart: Any = None


def _trend(
    session: Session, as_of: date, labels: list[str]
) -> dict[date, dict[str, dict[str, Decimal]]]:
    """Bucket totals per currency at each of the last 12 month-ends, by the aging as of that
    day (the stored month-end snapshots keep totals only, not the buckets a stacked bar needs)."""
    trend = {}
    for end in month_ends(as_of, 12):
        report = aging.aging_report(session, end)
        trend[end] = {
            currency: {label: totals[label] for label in labels}
            for currency, totals in report.totals.items()
        }
    return trend


def aging_content(session: Session, as_of: date, language: str) -> dict[str, Any]:
    """Totals by bucket per currency, 12 month-end trend, DSO, top 25 and all overdue accounts."""
    t = translator(language)
    report = aging.aging_report(session, as_of)
    days = {row.account_id: row.days_past_due for row in aging.overdue_accounts(session, as_of)}
    overdue = [row for row in report.rows if row.overdue > 0]
    overdue.sort(key=lambda r: (-r.overdue, r.code))
    trend = _trend(session, as_of, report.labels)
    currencies = []
    for currency, totals in sorted(report.totals.items()):
        entry = CurrencyAging(
            currency,
            totals,
            metrics.receivables_metrics(session, as_of, currency),
            [(end, trend[end].get(currency)) for end in sorted(trend)],
        )
        entry.chart = charts.stacked_bars(
            f"{t('trend')} ({currency})",
            [_label(end) for end, _ in entry.trend],
            [
                charts.Series(
                    label if language == "en" else _bucket_zh(label),
                    [None if per is None else per[label] for _, per in entry.trend],
                    charts.BUCKET_COLOURS[i % len(charts.BUCKET_COLOURS)],
                )
                for i, label in enumerate(report.labels)
            ],
        )
        currencies.append(entry)
    return {
        "labels": report.labels,
        "bucket_names": bucket_names(report.labels, language),
        "currencies": currencies,
        "top": overdue[:TOP_OVERDUE],
        "overdue": sorted(overdue, key=lambda r: r.code),
        "days": days,
        "accounts_open": len(report.rows),
        "all_rows": report.rows,
    }


def _bucket_zh(label: str) -> str:
    if label == "current":
        return "未到期"
    if label.startswith("over "):
        return f"{label[5:]} 天以上"
    return f"{label} 天"


def aging_workbook(content: dict[str, Any], as_of: date) -> bytes:
    """Every account's aging (the overdue ones and the rest) as an XLSX sheet."""
    from io import BytesIO

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = f"aging {as_of:%Y-%m-%d}"
    sheet.append(
        ["code", "name", "currency", *content["labels"], "total", "overdue", "days past due"]
    )
    for row in content["all_rows"]:
        sheet.append(
            [
                row.code,
                row.name,
                row.currency,
                *(row.buckets[label] for label in content["labels"]),
                row.total,
                row.overdue,
                content["days"].get(row.account_id, 0),
            ]
        )
    for column in sheet.iter_cols(min_col=4, max_col=sheet.max_column - 1):
        for cell in column[1:]:
            cell.number_format = "#,##0.00"
    sheet.freeze_panes = "D2"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


# --- escalation ---------------------------------------------------------------------------------


def report_viewer() -> StaffUser:
    """Who the complaint queue is read as: a senior manager, who sees every complaint.

    Reports are read only by roles the report policy lets see complaints' summaries (never
    their descriptions), so the queue is read with the queue owner's view. Never stored.
    """
    return staff.unsaved_user(Role.MANAGER, "reports@monitor.local", "reports")


def open_complaints(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Complaints open now and received by ``now``, nearest SLA deadline first, each with the
    moment its SLA clock (replayed up to ``now``) first breached, if it did."""
    viewer, found, page = report_viewer(), [], 1
    while True:
        batch = complaints.list_complaints(
            session, viewer=viewer, page=page, per_page=200, open_only=True
        )
        found += [c for c in batch["items"] if c.received_at <= now]
        if page * 200 >= batch["total"]:
            break
        page += 1
    labels = accounts.account_labels(session, [c.account_id for c in found])
    histories = complaints.histories(session, [c.id for c in found])
    rows = []
    for complaint in found:
        clock = complaints.sla_clock(session, complaint, now, histories[complaint.id])
        breached = [c.breached_at for c in clock.targets() if c.breached_at is not None]
        rows.append(
            {
                "id": complaint.id,
                "account_id": complaint.account_id,
                "account": labels.get(complaint.account_id, ("", "", ""))[:2],
                "category": complaint.category.value,
                "severity": complaint.severity.value,
                "state": complaint.state.value,
                "received_at": complaint.received_at,
                "breached_at": min(breached) if breached else None,
                "assigned": complaint.assignee_id is not None,
            }
        )
    return rows


def escalation_content(session: Session, as_of: date, language: str) -> dict[str, Any]:
    """Accounts per ladder level with actions taken and due, open tasks, broken promises, open
    disputes, and complaints that breached their SLA or wait on a senior manager."""
    now = _end_of_day(as_of)
    statuses = ladder.overview(session, as_of, page=1, per_page=100_000)["items"]
    briefs = {
        b.id: b for b in accounts.account_briefs(session, ids=[s.account_id for s in statuses])
    }
    levels: dict[int, list[Any]] = defaultdict(list)
    for status in statuses:
        levels[status.level].append(status)
    broken = ladder.broken_promises(session, [s.account_id for s in statuses])
    open_disputes = list(session.scalars(disputes.list_disputes(session, state=DisputeState.OPEN)))
    dispute_invoices = disputes.invoice_numbers(session, [d.id for d in open_disputes])
    tasks = list(session.scalars(ladder.tasks(session, state=TaskState.OPEN)))
    assignee_ids = {t.assignee_id for t in tasks} - {None}
    staff_names = {user.id: user.name for user in staff.users_by_id(session, assignee_ids).values()}
    other_ids = {p.account_id for p in broken} | {d.account_id for d in open_disputes}
    other_ids |= {t.account_id for t in tasks}
    briefs.update({b.id: b for b in accounts.account_briefs(session, ids=other_ids - set(briefs))})
    complaint_rows = open_complaints(session, now)
    breached = [row for row in complaint_rows if row["breached_at"] is not None]
    waiting = [
        row
        for row in complaint_rows
        if row["breached_at"] is None
        and (row["state"] in (State.NEW.value, State.REOPENED.value) or not row["assigned"])
    ]
    return {
        "levels": [
            (number, ladder.LADDER.level(number) if number else None, levels[number])
            for number in sorted(levels, reverse=True)
        ],
        "briefs": briefs,
        "broken": broken,
        "disputes": open_disputes,
        "dispute_invoices": dispute_invoices,
        "tasks": tasks,
        "staff_names": staff_names,
        "breached": breached,
        "waiting": waiting,
        "level_name": lambda n: (
            ladder.LADDER.level(n).name if language == "en" else ladder.LADDER.level(n).name_zh
        ),
    }


# --- executive summary --------------------------------------------------------------------------


def _cycles_until(session: Session, as_of: date) -> list[Any]:
    """Survey cycles opened on or before ``as_of``, newest first."""
    return [c for c in surveys.list_cycles(session) if c.opens_at.date() <= as_of]


def satisfaction_content(session: Session, as_of: date, language: str) -> dict[str, Any] | None:
    cycles = _cycles_until(session, as_of)
    if not cycles:
        return None
    t = translator(language)
    settings = survey_settings.current()
    latest = scoring.cycle_results(session, cycles[0], settings)
    history = [
        scoring.cycle_results(session, cycle, settings, with_previous=False)
        for cycle in reversed(cycles[:6])
    ]
    quarters = [h["quarter"] for h in history]
    trend = (
        None
        if len(history) < 2
        else charts.line_chart(
            t("satisfaction_trend"),
            quarters,
            [
                charts.Series(
                    f"NPS {t('role.' + role)}",
                    [h["by_role"][role]["nps"]["value"] for h in history],
                    charts.SERIES_COLOURS[i],
                )
                for i, role in enumerate(survey_settings.ROLES)
            ]
            + [
                charts.Series(
                    f"CSAT {t('all_roles')}",
                    [h["overall"]["all_responses"]["csat"]["value"] for h in history],
                    charts.SERIES_COLOURS[3],
                )
            ],
            low=-100,
        )
    )
    per_account = scoring.account_results(session, cycles[0], settings, page=1, per_page=100_000)
    return {"latest": latest, "trend": trend, "accounts": per_account["items"]}


def complaints_content(
    session: Session, as_of: date, months: int, language: str, timezone: str
) -> dict[str, Any]:
    t = translator(language)
    first = add_months(as_of.replace(day=1), -11)
    stats = complaints.statistics(
        session, first_month=first, months=12, timezone=timezone, now=_end_of_day(as_of)
    )
    period = stats["months"][-months:]
    received = sum(m["received"] for m in period)
    breached = sum(m["breached"] for m in period)

    viewer = report_viewer()
    by_category = {
        category.value: complaints.list_complaints(
            session, viewer=viewer, per_page=1, open_only=True, category=category
        )["total"]
        for category in Category
    }
    chart = charts.stacked_bars(
        t("complaints_trend"),
        [m["month"] for m in stats["months"]],
        [
            charts.Series(t("breached"), [m["breached"] for m in stats["months"]], "#d9534f"),
            charts.Series(
                t("complaints_received") + " − " + t("breached"),
                [m["received"] - m["breached"] for m in stats["months"]],
                "#2b6cb0",
            ),
        ],
        height=200,
    )
    return {
        "received": received,
        "breached": breached,
        "breach_rate": breached / received if received else None,
        "median_response": stats["median_minutes_to_first_response"],
        "open_by_severity": [(s.value, stats["open_by_severity"][s.value]) for s in Severity],
        "open_by_category": list(by_category.items()),
        "months": period,
        "chart": chart,
    }


def executive_content(
    session: Session, as_of: date, period: str, language: str, timezone: str
) -> dict[str, Any]:
    """Satisfaction, complaints, receivables and the accounts that need attention."""
    t = translator(language)
    months = 3 if period == "quarter" else 1
    receivables = aging_content(session, as_of, language)
    ends = month_ends(as_of, 12)
    dso_series = []
    for i, entry in enumerate(receivables["currencies"]):
        values = [
            metrics.receivables_metrics(session, end, entry.currency).dso_countback for end in ends
        ]
        dso_series.append(
            charts.Series(
                entry.currency, values, charts.SERIES_COLOURS[i % len(charts.SERIES_COLOURS)]
            )
        )
    dso_chart = charts.line_chart(t("dso_trend"), [_label(e) for e in ends], dso_series)
    satisfaction = satisfaction_content(session, as_of, language)
    complaint_figures = complaints_content(session, as_of, months, language, timezone)
    attention = _attention(session, as_of, satisfaction, t)
    return {
        "period": period,
        "satisfaction": satisfaction,
        "complaints": complaint_figures,
        "receivables": receivables,
        "largest": receivables["top"][:LARGEST_IN_SUMMARY],
        "dso_chart": dso_chart,
        "attention": attention,
    }


def _attention(
    session: Session, as_of: date, satisfaction: dict[str, Any] | None, t: Any
) -> list[dict[str, Any]]:
    reasons: dict[int, list[str]] = defaultdict(list)
    overdue: dict[int, Decimal] = {}
    for status in ladder.overview(session, as_of, page=1, per_page=100_000)["items"]:
        if status.level >= ATTENTION_LEVEL:
            reasons[status.account_id].append(t("attention.ladder", level=status.level))
            overdue[status.account_id] = status.overdue_amount
    breaches: dict[int, int] = defaultdict(int)
    for row in open_complaints(session, _end_of_day(as_of)):
        if row["breached_at"] is not None:
            breaches[row["account_id"]] += 1
    for account_id, count in breaches.items():
        reasons[account_id].append(t("attention.breach", count=count))
    if satisfaction is not None:
        for item in satisfaction["accounts"]:
            nps = item["weighted_roles"]["nps"]["value"]
            if nps is not None and nps < ATTENTION_NPS:
                reasons[item["account_id"]].append(t("attention.nps", value=nps))
    briefs = {b.id: b for b in accounts.account_briefs(session, ids=list(reasons))}
    rows = [
        {"brief": briefs[i], "reasons": reasons[i], "overdue": overdue.get(i)}
        for i in reasons
        if i in briefs
    ]
    rows.sort(key=lambda r: (-len(r["reasons"]), r["brief"].code))
    return rows


# --- statement ----------------------------------------------------------------------------------


def bucket_names(labels: list[str], language: str) -> list[str]:
    return [label if language == "en" else _bucket_zh(label) for label in labels]


def statement_content(
    session: Session, account_id: int, as_of: date, variant: str, language: str
) -> dict[str, Any]:
    """One account's open items, recent payments and ageing; the contact the letter is for."""
    account = accounts.get_account(session, account_id)
    items = ledger.open_items(session, account.id, as_of)
    labels, rows = aging.aging_rows(session, as_of, account_id=account.id)
    row = rows[0] if rows else None
    since = as_of - timedelta(days=PAYMENT_HISTORY_DAYS)
    payments = [
        p
        for p in session.scalars(ledger.list_payments(account_id=account.id).limit(500))
        if since <= p.paid_on <= as_of
    ]
    overdue = ladder.overdue_of(items, account.currency)
    contacts = accounts.contacts_with_roles(
        session, account.id, (ContactRole.FINANCE, ContactRole.BUYER)
    )
    return {
        "account": account,
        "items": items,
        "labels": labels,
        "bucket_names": bucket_names(labels, language),
        "buckets": row.buckets if row else dict.fromkeys(labels, ZERO),
        "open_total": row.total if row else ZERO,
        "overdue": overdue,
        "payments": payments,
        "unapplied": ledger.unapplied_credit(session, account.id, as_of),
        "contact": contacts[0] if contacts else None,
        "variant": variant,
        "deadline": as_of + timedelta(days=LETTER_DEADLINE_DAYS),
    }
