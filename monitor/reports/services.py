"""Reports: who may have which, rendering each kind, the archive on disk, distribution lists.

Settings: the ``reports_*`` fields of :class:`monitor.config.Config` (the README's configuration
table).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.api.problems import Conflict, FieldError, NotFound, Problem
from monitor.audit.context import current_actor
from monitor.config import Config
from monitor.db import paginate, utcnow
from monitor.email.services import Attachment, OutgoingEmail, queue_emails
from monitor.i18n import Language
from monitor.reports import content
from monitor.reports.models import (
    DistributionList,
    DistributionRun,
    Recipient,
    Report,
    ReportKind,
    ReportStatus,
    RunState,
    Schedule,
)
from monitor.reports.rendering import render_pdf
from monitor.reports.texts import translator
from monitor.staff import services as staff
from monitor.staff.models import Role, Staff

#: Which roles may request and read each kind. Statements are finance's letters to customers.
READERS: dict[ReportKind, frozenset[str]] = {
    ReportKind.AGING: frozenset({Role.FINANCE, Role.MANAGER, Role.EXECUTIVE}),
    ReportKind.ESCALATION: frozenset({Role.FINANCE, Role.MANAGER, Role.EXECUTIVE}),
    ReportKind.EXECUTIVE: frozenset({Role.EXECUTIVE}),
    ReportKind.STATEMENT: frozenset({Role.FINANCE, Role.EXECUTIVE}),
}
VARIANTS = ("statement", "reminder", "formal_letter")
PERIODS = ("month", "quarter")
#: A failed scheduled run is tried again by the daily sweep until it has failed this often.
MAX_RUN_ATTEMPTS = 5
PDF, XLSX = "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportSettings:
    company_name: str
    folder: Path
    timezone: str

    @classmethod
    def of(cls, config: Config) -> ReportSettings:
        """The report settings of ``config``; no ``reports_path`` means ``<instance>/reports``."""
        return cls(
            company_name=config.reports_company_name,
            folder=Path(config.reports_path or config.instance_path / "reports"),
            timezone=config.default_timezone,
        )

    def now(self) -> datetime:
        """The time where the company is (its default time zone)."""
        return utcnow().astimezone(ZoneInfo(self.timezone))

    def today(self) -> date:
        """The business date where the company is."""
        return self.now().date()


# --- who may have what --------------------------------------------------------------------------


def readable_kinds(user: Staff) -> list[ReportKind]:
    roles = set(user.roles)
    return [kind for kind, readers in READERS.items() if roles & readers]


def check_may_have(user: Staff, kind: ReportKind) -> None:
    if kind not in readable_kinds(user):
        raise Problem(
            403,
            "Forbidden",
            f"Your roles ({', '.join(user.roles)}) may not have {kind.value} reports.",
            [{"field": "kind", "message": f"not allowed: {kind.value}", "type": "forbidden"}],
        )


def check_parameters(
    session: Session,
    kind: ReportKind,
    as_of: date,
    today: date,
    *,
    account_id: int | None = None,
    variant: str | None = None,
    period: str | None = None,
) -> dict[str, Any]:
    """The report's parameters, checked: an as-of date not in the future, an account (and a
    letter variant) for a statement, a period for the executive summary, nothing else."""
    from monitor.accounts.services import find_account

    if as_of > today:
        raise FieldError("as_of", f"may not be in the future (today is {today})", "future_date")
    if kind is ReportKind.STATEMENT:
        if account_id is None:
            raise FieldError("account_id", "a statement is for one account", "missing")
        if find_account(session, account_id) is None:
            raise FieldError("account_id", f"no account {account_id}", "not_found")
        variant = variant or "statement"
        if variant not in VARIANTS:
            raise FieldError("variant", f"one of {', '.join(VARIANTS)}", "enum")
        return {"account_id": account_id, "variant": variant}
    if account_id is not None:
        raise FieldError("account_id", "only statements are for one account", "not_allowed")
    if variant is not None:
        raise FieldError("variant", "only statements have variants", "not_allowed")
    if kind is ReportKind.EXECUTIVE:
        period = period or "month"
        if period not in PERIODS:
            raise FieldError("period", f"one of {', '.join(PERIODS)}", "enum")
        return {"period": period}
    if period is not None:
        raise FieldError("period", "only the executive summary has a period", "not_allowed")
    return {}


# --- rendering ----------------------------------------------------------------------------------


def title_of(kind: ReportKind, parameters: dict[str, Any], language: str) -> str:
    t = translator(language)
    if kind is ReportKind.EXECUTIVE:
        return t(f"title.executive.{parameters.get('period', 'month')}")
    if kind is ReportKind.STATEMENT:
        return t(f"title.{parameters.get('variant', 'statement')}")
    return t(f"title.{kind.value}")


def render(
    session: Session,
    kind: ReportKind,
    as_of: date,
    language: str,
    parameters: dict[str, Any],
    settings: ReportSettings,
) -> tuple[bytes, bytes | None]:
    """The report's PDF, and the XLSX that accompanies it (aging) or None."""
    language = Language(language).value
    common = {
        "title": title_of(kind, parameters, language),
        "as_of": as_of,
        "company": settings.company_name,
        "generated_at": settings.now(),
    }
    if kind is ReportKind.AGING:
        data = content.aging_content(session, as_of, language)
        pdf = render_pdf("aging.html", language, **common, **data)
        return pdf, content.aging_workbook(data, as_of)
    if kind is ReportKind.ESCALATION:
        data = content.escalation_content(session, as_of, language)
        return render_pdf("escalation.html", language, **common, **data), None
    if kind is ReportKind.EXECUTIVE:
        data = content.executive_content(
            session, as_of, parameters.get("period", "month"), language, settings.timezone
        )
        return render_pdf("executive.html", language, **common, **data), None
    data = content.statement_content(
        session,
        parameters["account_id"],
        as_of,
        parameters.get("variant", "statement"),
        language,
    )
    return render_pdf("statement.html", language, **common, **data), None


def render_statement(
    session: Session,
    account_id: int,
    as_of: date,
    language: str,
    variant: str = "statement",
    settings: ReportSettings | None = None,
) -> bytes:
    """One account's statement as PDF bytes; ``variant`` ``reminder`` is the L1 dunning letter
    with the statement, ``formal_letter`` the L3 formal demand. Nothing is archived."""
    from monitor import jobs

    if variant not in VARIANTS:
        raise FieldError("variant", f"one of {', '.join(VARIANTS)}", "enum")
    settings = settings or ReportSettings.of(jobs.config())
    parameters = {"account_id": account_id, "variant": variant}
    return render(session, ReportKind.STATEMENT, as_of, language, parameters, settings)[0]


def statement_attachment(
    session: Session,
    account_id: int,
    as_of: date,
    language: str,
    variant: str,
    key: str,
    settings: ReportSettings | None = None,
) -> Attachment:
    """:func:`render_statement` kept as a file for an outbox email, under ``letters/<key>.pdf``
    in the reports folder (``key`` names what it is for, e.g. ``ladder-step-17-contact-3``; the
    same key rewrites the same file, whole, so a retried caller attaches one letter)."""
    from monitor import jobs

    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", key):
        raise ValueError(f"not a file name: {key!r}")
    settings = settings or ReportSettings.of(jobs.config())
    pdf = render_statement(session, account_id, as_of, language, variant, settings)
    folder = settings.folder / "letters"
    write_atomically(folder, f"{key}.pdf", pdf)
    return Attachment(f"{variant}-{as_of:%Y-%m-%d}.pdf", PDF, str(folder / f"{key}.pdf"))


# --- the archive --------------------------------------------------------------------------------


def request_report(
    session: Session,
    kind: ReportKind,
    as_of: date,
    language: str,
    parameters: dict[str, Any],
    user: Staff | None = None,
    run_id: int | None = None,
) -> Report:
    """Store a request for a report (queued); the caller has checked it."""
    report = Report(
        kind=kind,
        parameters=parameters,
        as_of=as_of,
        language=Language(language),
        status=ReportStatus.QUEUED,
        created_by_id=user.id if user else None,
        created_by_label=user.email if user else current_actor().label,
        run_id=run_id,
    )
    session.add(report)
    session.flush()
    return report


def job_id_of(report: Report) -> str:
    return f"report-{report.id}"


def write_atomically(folder: Path, name: str, data: bytes) -> tuple[int, str]:
    """Put ``data`` at ``folder/name`` whole or not at all: written to a temporary file in the
    same folder, synced, then renamed over the final name (readers never see half a file).
    Returns the size and SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
    return len(data), hashlib.sha256(data).hexdigest()


def claim_report(session: Session, report_id: int) -> Report | None:
    """Take a report that is not done yet for generation (the row stays locked until the caller
    commits, so a second run waits, then finds it done)."""
    result = session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status != ReportStatus.DONE)
        .values(status=ReportStatus.RUNNING, error=None)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return None
    return session.get(Report, report_id, populate_existing=True)


def generate(session: Session, report: Report, settings: ReportSettings) -> list[Path]:
    """Render ``report`` and keep its files; returns the paths written (for the caller to remove
    should its transaction fail)."""
    pdf, detail = render(
        session, report.kind, report.as_of, report.language.value, report.parameters, settings
    )
    stem = f"{report.id:06d}-{report.kind.value}-{report.as_of:%Y-%m-%d}-{report.language.value}"
    written = []
    report.size, report.sha256 = write_atomically(settings.folder, f"{stem}.pdf", pdf)
    report.file_name = f"{stem}.pdf"
    written.append(settings.folder / report.file_name)
    if detail is not None:
        try:
            report.detail_size, report.detail_sha256 = write_atomically(
                settings.folder, f"{stem}.xlsx", detail
            )
        except BaseException:
            remove_files(written)
            raise
        report.detail_file_name = f"{stem}.xlsx"
        written.append(settings.folder / report.detail_file_name)
    report.status = ReportStatus.DONE
    report.error = None
    report.finished_at = utcnow()
    session.flush()
    return written


def remove_files(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def record_failure(session: Session, report_id: int, error: str) -> None:
    """Mark the report failed with why (in a fresh transaction: the attempt was rolled back)."""
    report = session.get(Report, report_id)
    if report is None or report.status is ReportStatus.DONE:
        return
    report.status = ReportStatus.FAILED
    report.error = error[:2000]
    report.finished_at = utcnow()
    session.flush()


def _visible(viewer: Staff) -> Any:
    """Reports a staff member may read: those they asked for, and the scheduled ones of kinds
    they may have. Someone else's request stays theirs."""
    return or_(
        Report.created_by_id == viewer.id,
        and_(Report.run_id.is_not(None), Report.kind.in_(readable_kinds(viewer))),
    )


def list_reports(
    session: Session,
    viewer: Staff,
    *,
    page: int,
    per_page: int,
    kind: ReportKind | None = None,
    status: ReportStatus | None = None,
) -> dict[str, Any]:
    """The archive as ``viewer`` may see it, newest first."""
    stmt: Select[Any] = (
        select(Report)
        .where(_visible(viewer), Report.kind.in_(readable_kinds(viewer)))
        .order_by(Report.id.desc())
    )
    if kind is not None:
        stmt = stmt.where(Report.kind == kind)
    if status is not None:
        stmt = stmt.where(Report.status == status)
    return paginate(session, stmt, page, per_page)


def _no_report(report_id: int) -> Problem:
    return Problem(
        404,
        "Not Found",
        f"report {report_id} not found",
        [{"field": "report_id", "in": "path", "message": "no such report", "type": "not_found"}],
    )


def readable_report(session: Session, report_id: int, viewer: Staff) -> Report:
    """The report, or 404 naming ``report_id`` when it does not exist or is someone else's
    (its existence is not disclosed)."""
    report = session.scalar(select(Report).where(Report.id == report_id, _visible(viewer)))
    if report is None or report.kind not in readable_kinds(viewer):
        raise _no_report(report_id)
    return report


def report_file(report: Report, settings: ReportSettings, detail: bool = False) -> Path:
    """The archived file of a finished report (409 while it is not)."""
    name = report.detail_file_name if detail else report.file_name
    if report.status is not ReportStatus.DONE:
        raise Problem(409, "Conflict", f"report {report.id} is {report.status.value}")
    if name is None:
        raise Problem(
            404,
            "Not Found",
            f"report {report.id} has no spreadsheet",
            [{"field": "report_id", "in": "path", "message": "no XLSX", "type": "not_found"}],
        )
    path = settings.folder / name
    if not path.is_file():
        raise Problem(410, "Gone", f"the file of report {report.id} is no longer in the archive")
    return path


# --- distribution lists -------------------------------------------------------------------------


def _check_schedule(schedule: Schedule, day: int) -> None:
    if schedule is Schedule.WEEKLY and not 0 <= day <= 6:
        raise FieldError("day", "a weekday: 0 (Monday) to 6 (Sunday)", "out_of_range")
    if schedule is not Schedule.WEEKLY and not 1 <= day <= 28:
        raise FieldError("day", "a day of the month from 1 to 28", "out_of_range")


def _recipients(session: Session, items: list[dict[str, Any]]) -> list[Recipient]:
    """Recipient rows of ``items`` (a staff member or an address each; repeats kept once)."""
    rows, seen = [], set()
    for index, item in enumerate(items):
        staff_user_id, email = item.get("staff_user_id"), item.get("email")
        field = f"recipients.{index}"
        if (staff_user_id is None) == (email is None):
            raise FieldError(field, "give either staff_user_id or email", "invalid")
        if staff_user_id is not None:
            user = staff.find_user(session, staff_user_id)
            if user is None or not user.active:
                raise FieldError(f"{field}.staff_user_id", "no active staff user", "not_found")
            key: Any = ("staff", staff_user_id)
        else:
            email = email.lower()
            key = ("email", email)
        if key in seen:
            continue  # listed twice: one email is enough
        seen.add(key)
        language = item.get("language")
        if language is not None:
            try:
                language = Language(language)
            except ValueError:
                raise FieldError(
                    f"{field}.language", f"one of {', '.join(Language)}", "invalid"
                ) from None
        rows.append(Recipient(staff_user_id=staff_user_id, email=email, language=language))
    return rows


def _check_kind(kind: ReportKind) -> None:
    if kind is ReportKind.STATEMENT:
        raise FieldError(
            "kind", "statements go to customers through the escalation ladder", "not_allowed"
        )


def _check_name_free(session: Session, name: str, list_id: int | None = None) -> None:
    stmt = select(DistributionList.id).where(DistributionList.name == name)
    found = session.scalar(stmt)
    if found is not None and found != list_id:
        raise Conflict(f"a distribution list named {name!r} exists", field="name")


def create_list(
    session: Session,
    *,
    name: str,
    kind: ReportKind,
    schedule: Schedule,
    day: int,
    language: Language,
    recipients: list[dict[str, Any]],
    active: bool = True,
) -> DistributionList:
    _check_kind(kind)
    _check_schedule(schedule, day)
    _check_name_free(session, name)
    distribution = DistributionList(
        name=name,
        kind=kind,
        schedule=schedule,
        day=day,
        language=language,
        active=active,
        recipients=_recipients(session, recipients),
    )
    session.add(distribution)
    session.flush()
    return distribution


def update_list(
    session: Session, distribution: DistributionList, **changes: Any
) -> DistributionList:
    """Only the fields given change; ``recipients`` replaces the whole list."""
    kind = changes.get("kind", distribution.kind)
    _check_kind(kind)
    _check_schedule(
        changes.get("schedule", distribution.schedule), changes.get("day", distribution.day)
    )
    if "name" in changes:
        _check_name_free(session, changes["name"], distribution.id)
    if "recipients" in changes:
        distribution.recipients = _recipients(session, changes.pop("recipients"))
        session.flush()
    for key, value in changes.items():
        setattr(distribution, key, value)
    session.flush()
    return distribution


def get_list(session: Session, list_id: int) -> DistributionList:
    distribution = session.get(DistributionList, list_id)
    if distribution is None:
        raise NotFound(f"distribution list {list_id}")
    return distribution


def list_lists(session: Session, page: int, per_page: int) -> dict[str, Any]:
    return paginate(
        session, select(DistributionList).order_by(DistributionList.name), page, per_page
    )


def delete_list(session: Session, distribution: DistributionList) -> None:
    session.delete(distribution)
    session.flush()


def list_runs(session: Session, list_id: int, page: int, per_page: int) -> dict[str, Any]:
    stmt = (
        select(DistributionRun)
        .where(DistributionRun.list_id == list_id)
        .order_by(DistributionRun.id.desc())
    )
    return paginate(session, stmt, page, per_page)


@dataclass(frozen=True)
class Due:
    """A list's sending that is due: the period it reports on and when it was due."""

    list_id: int
    period: str
    as_of: date
    send_on: date


def due_of(schedule: Schedule, day: int, today: date) -> tuple[str, date, date] | None:
    """(period, as-of date, sending date) of the sending due on or before ``today`` in the
    current month, week or quarter, or None while it is still ahead."""
    if schedule is Schedule.WEEKLY:
        monday = today - timedelta(days=today.weekday())
        send_on = monday + timedelta(days=day)
        as_of = monday - timedelta(days=1)
        year, week, _ = as_of.isocalendar()
        period = f"{year}-W{week:02d}"
    elif schedule is Schedule.MONTHLY:
        send_on = today.replace(day=day)
        as_of = today.replace(day=1) - timedelta(days=1)
        period = f"{as_of:%Y-%m}"
    else:
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        send_on = first.replace(day=day)
        as_of = first - timedelta(days=1)
        period = f"{as_of.year}-Q{(as_of.month - 1) // 3 + 1}"
    if today < send_on:
        return None
    return period, as_of, send_on


def due_runs(session: Session, today: date) -> list[Due]:
    """Sendings due by ``today`` and not yet sent (nor given up after repeated failures). A
    list created after this period's sending date starts with the next period."""
    pending = []
    for distribution in session.scalars(
        select(DistributionList).where(DistributionList.active.is_(True))
    ):
        due = due_of(distribution.schedule, distribution.day, today)
        if due is not None and distribution.created_at.date() <= due[2]:
            pending.append(Due(distribution.id, *due))
    # only this period's runs: the table keeps every period ever sent
    stmt = select(DistributionRun).where(
        DistributionRun.list_id.in_([d.list_id for d in pending]),
        DistributionRun.period.in_(sorted({d.period for d in pending})),
    )
    done = {
        (run.list_id, run.period)
        for run in session.scalars(stmt)
        if run.state is RunState.SENT or run.attempts >= MAX_RUN_ATTEMPTS
    }
    return [due for due in pending if (due.list_id, due.period) not in done]


def start_run(session: Session, list_id: int, period: str, as_of: date) -> DistributionRun | None:
    """The run of ``list_id`` for ``period``, taken for sending; None when it was sent already.

    A second run (a retry, the sweep, another worker) waits on the row and then finds it sent.
    """
    try:
        with session.begin_nested():
            session.add(
                DistributionRun(list_id=list_id, period=period, as_of=as_of, state=RunState.RUNNING)
            )
    except IntegrityError:
        pass  # a run of this period exists: take it below unless it was sent
    result = session.execute(
        update(DistributionRun)
        .where(
            DistributionRun.list_id == list_id,
            DistributionRun.period == period,
            DistributionRun.state != RunState.SENT,
        )
        .values(state=RunState.RUNNING)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return None
    return session.scalars(
        select(DistributionRun)
        .where(DistributionRun.list_id == list_id, DistributionRun.period == period)
        .execution_options(populate_existing=True)
    ).one()


@dataclass(frozen=True)
class Addressee:
    email: str
    language: str


def addressees(session: Session, distribution: DistributionList) -> list[Addressee]:
    """Who gets the report, each in their language (staff: their own; addresses: theirs or the
    list's). Inactive staff are left out."""
    staff_ids = [r.staff_user_id for r in distribution.recipients if r.staff_user_id is not None]
    users = staff.users_by_id(session, staff_ids)
    found: dict[str, Addressee] = {}
    for recipient in distribution.recipients:
        if recipient.staff_user_id is not None:
            user = users.get(recipient.staff_user_id)
            if user is None or not user.active:
                continue
            found.setdefault(user.email, Addressee(user.email, user.language or "en"))
        else:
            language = (recipient.language or distribution.language).value
            found.setdefault(recipient.email or "", Addressee(recipient.email or "", language))
    return list(found.values())


def _attachments(report: Report, settings: ReportSettings) -> list[Attachment]:
    """The archived files of a finished report, as email attachments."""
    files = [(report.file_name, PDF), (report.detail_file_name, XLSX)]
    return [Attachment(name, kind, str(settings.folder / name)) for name, kind in files if name]


def deliver_run(session: Session, run: DistributionRun, settings: ReportSettings) -> list[Path]:
    """Generate the list's report in each language its recipients read and queue one email per
    recipient with the files attached (dedup keys per run and address). Returns the files
    written, for the caller to remove should its transaction fail."""
    distribution = get_list(session, run.list_id)
    people = addressees(session, distribution)
    parameters: dict[str, Any] = {}
    if distribution.kind is ReportKind.EXECUTIVE:
        parameters["period"] = "quarter" if distribution.schedule is Schedule.QUARTERLY else "month"
    written: list[Path] = []
    reports: dict[str, Report] = {}
    try:
        for language in sorted({p.language for p in people}):
            report = request_report(
                session, distribution.kind, run.as_of, language, parameters, run_id=run.id
            )
            written += generate(session, report, settings)
            reports[language] = report
        emails = []
        for person in people:
            report = reports[person.language]
            title = title_of(report.kind, report.parameters, person.language)
            as_of = translator(person.language)("as_of", date=f"{run.as_of:%Y-%m-%d}")
            emails.append(
                OutgoingEmail(
                    person.email,
                    f"{title} — {as_of}",
                    f"{title}\n{as_of}\n\n{distribution.name} ({settings.company_name})\n",
                    attachments=tuple(_attachments(report, settings)),
                    dedup_key=f"report-run-{run.id}-{person.email}",
                )
            )
        # one insert and batched delivery jobs, not a round trip and a job per recipient
        queue_emails(session, emails)
        run.state = RunState.SENT
        run.attempts += 1
        run.error = None
        run.recipients = [p.email for p in people]
        run.finished_at = utcnow()
        session.flush()
    except BaseException:
        remove_files(written)
        raise
    return written


def record_run_failure(
    session: Session, list_id: int, period: str, as_of: date, error: str
) -> DistributionRun:
    """Keep the failure visible on the run (in a fresh transaction: the attempt rolled back)."""
    run = session.scalars(
        select(DistributionRun).where(
            DistributionRun.list_id == list_id, DistributionRun.period == period
        )
    ).one_or_none()
    if run is None:
        run = DistributionRun(list_id=list_id, period=period, as_of=as_of, attempts=0)
        session.add(run)
    if run.state is RunState.SENT:
        return run
    run.state = RunState.FAILED
    run.attempts = (run.attempts or 0) + 1
    run.error = error[:2000]
    run.finished_at = utcnow()
    session.flush()
    return run
