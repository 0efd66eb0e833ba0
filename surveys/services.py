"""Survey operations: cycles, dispatching invitations, personal links, answering, the closed
loop, reminders, the managers' digest, and listing returns.

Every operation takes a session, flushes and never commits: the request, job or command that
calls it commits. Operations that jobs repeat (dispatch, reminders, digest) are idempotent by
unique constraints and conditional updates, not by timing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, false, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from monitor.accounts import services as accounts
from monitor.api.problems import FieldError, NotFound
from monitor.audit.services import record_event
from monitor.db import paginate, utcnow
from monitor.email.services import OutgoingEmail, queue_emails
from monitor.staff import services as staff
from monitor.staff.models import Role
from surveys import questionnaires
from surveys.models import (
    Answer,
    Invitation,
    QuestionKind,
    RespondentRole,
    SurveyCycle,
    SurveyLink,
    SurveyResponse,
)
from surveys.settings import MAX_REMINDERS, SurveySettings
from surveys.texts import local_time, render, t, words

QUARTER = re.compile(r"^(?P<year>20[0-9]{2})-Q(?P<q>[1-4])$")
#: Contacts per dispatch batch (one job, one transaction each).
BATCH_SIZE = 500


# --- quarters -----------------------------------------------------------------------------------


def quarter_of(day: date) -> str:
    """``2026-Q4`` for any day from October to December 2026."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def check_quarter(quarter: str) -> str:
    if not QUARTER.fullmatch(quarter):
        raise FieldError("quarter", "a quarter such as 2026-Q4", "pattern_mismatch")
    return quarter


def quarter_start(quarter: str) -> date:
    match = QUARTER.fullmatch(check_quarter(quarter))
    assert match is not None
    return date(int(match["year"]), 3 * (int(match["q"]) - 1) + 1, 1)


def previous_quarter(quarter: str) -> str:
    start = quarter_start(quarter)
    return quarter_of(start - timedelta(days=1))


def nominal_opening(quarter: str, settings: SurveySettings) -> datetime:
    """When the quarter's cycle opens by the calendar (midnight UTC of the opening day)."""
    day = quarter_start(quarter).replace(day=settings.open_day)
    return datetime.combine(day, time(0), tzinfo=UTC)


# --- cycles -------------------------------------------------------------------------------------


def take_write_lock(session: Session) -> None:
    """On SQLite, make the transaction a writer before it reads anything.

    SQLite cannot upgrade a transaction that has read to a writing one while another connection
    writes: it fails at once ("database is locked") instead of waiting. A transaction whose
    first statement writes waits for the lock (busy_timeout) like on any database. Jobs that
    read then write and may run concurrently (two workers) call this first. PostgreSQL locks
    rows and needs nothing.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(SurveyCycle).where(false()).values(quarter=SurveyCycle.quarter))


def find_cycle(session: Session, quarter: str) -> SurveyCycle | None:
    return session.scalar(select(SurveyCycle).where(SurveyCycle.quarter == quarter))


def get_cycle(session: Session, quarter: str) -> SurveyCycle:
    cycle = find_cycle(session, quarter) if QUARTER.fullmatch(quarter) else None
    if cycle is None:
        raise NotFound(f"survey cycle {quarter}")
    return cycle


def open_cycle(
    session: Session, quarter: str, settings: SurveySettings, now: datetime | None = None
) -> tuple[SurveyCycle, bool]:
    """The quarter's cycle, created if there is none (returns it and whether it is new).

    It opens on the calendar's opening day, or now when opened later than that, and closes
    ``length_days`` after. Two processes opening the same quarter at once get one cycle: the
    unique quarter decides, and the loser reads the winner's row.
    """
    check_quarter(quarter)
    take_write_lock(session)
    now = now or utcnow()
    existing = find_cycle(session, quarter)
    if existing is not None:
        return existing, False
    opens_at = max(nominal_opening(quarter, settings), now)
    questionnaires.load_shipped(session)
    eligible = accounts.survey_contact_ids(session)
    cycle = SurveyCycle(
        quarter=quarter,
        opens_at=opens_at,
        closes_at=opens_at + timedelta(days=settings.length_days),
        reminder_days=list(settings.reminder_days),
        eligible_count=len(eligible),
        opted_out_count=sum(1 for _, opted_out in eligible if opted_out),
    )
    try:
        with session.begin_nested():
            session.add(cycle)
    except IntegrityError:
        found = find_cycle(session, quarter)
        if found is None:
            raise
        return found, False
    record_event(
        session,
        "survey_cycle",
        cycle.quarter,
        "open",
        {
            "opens_at": cycle.opens_at,
            "closes_at": cycle.closes_at,
            "eligible": cycle.eligible_count,
            "opted_out": cycle.opted_out_count,
        },
    )
    return cycle, True


def invited_contact_ids(session: Session, cycle: SurveyCycle) -> set[int]:
    return set(
        session.scalars(select(Invitation.contact_id).where(Invitation.cycle_id == cycle.id))
    )


def dispatch_batches(session: Session, cycle: SurveyCycle) -> list[tuple[int, int]]:
    """(first, last) contact-id ranges of the contacts still to invite, ``BATCH_SIZE`` each."""
    invited = invited_contact_ids(session, cycle)
    pending = [
        contact_id
        for contact_id, opted_out in accounts.survey_contact_ids(session)
        if not opted_out and contact_id not in invited
    ]
    return [
        (chunk[0], chunk[-1])
        for chunk in (pending[i : i + BATCH_SIZE] for i in range(0, len(pending), BATCH_SIZE))
    ]


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> list[Invitation]:
    """Insert invitations, skipping those another run stored; the rows really inserted.

    ``ON CONFLICT DO NOTHING`` on the unique (cycle, contact): a concurrent run's uncommitted
    rows make this one wait, then skip them, so each invitation is inserted (and mailed) once.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Invitation)
        .on_conflict_do_nothing(index_elements=["cycle_id", "contact_id"])
        .returning(Invitation)
    )
    # Rows as parameter sets (compiled once, sent as multi-row pages), returned as entities:
    # no second query to load what was inserted.
    return sorted(session.scalars(stmt, rows), key=lambda invitation: invitation.id)


def dispatch_batch(
    session: Session, cycle_id: int, first_id: int, last_id: int, base_url: str
) -> int:
    """Invite the not-yet-invited, not opted-out contacts with ids first..last; returns how many
    were invited by this call. Running it again, or concurrently, invites nobody twice."""
    take_write_lock(session)
    cycle = session.get(SurveyCycle, cycle_id)
    if cycle is None:
        raise NotFound(f"survey cycle {cycle_id}")
    now = utcnow()
    if not cycle.opens_at <= now < cycle.closes_at:
        return 0  # links would not work yet, or no more
    current = {role.value: questionnaires.current(session, role) for role in RespondentRole}
    contacts = [c for c in accounts.survey_contacts(session, first_id, last_id) if not c.opted_out]
    if not contacts:
        return 0
    rows = [
        {
            "cycle_id": cycle.id,
            "questionnaire_id": current[c.role].id,
            "contact_id": c.contact_id,
            "account_id": c.account_id,
            "respondent_role": RespondentRole(c.role),
            "language": c.language,
            "account_class": c.account_class,
            "email": c.email,
            "created_at": now,
            "reminders_sent": 0,
        }
        for c in contacts
    ]
    invitations = _insert_ignoring_duplicates(session, rows)
    names = {c.contact_id: c.name for c in contacts}
    _send_links(session, [(i, names[i.contact_id]) for i in invitations], "invitation", base_url)
    return len(invitations)


@dataclass(frozen=True)
class CycleStatus:
    cycle: SurveyCycle
    invited: int
    opened: int
    responded: int
    reminded: int
    follow_ups: int

    @property
    def still_to_invite(self) -> int:
        return max(0, self.cycle.eligible_count - self.cycle.opted_out_count - self.invited)


def cycle_status(session: Session, cycle: SurveyCycle) -> CycleStatus:
    counts = session.execute(
        select(
            func.count(Invitation.id),
            func.count(Invitation.opened_at),
            func.count(Invitation.responded_at),
            func.count(Invitation.last_reminded_at),
        ).where(Invitation.cycle_id == cycle.id)
    ).one()
    follow_ups = session.scalar(
        select(func.count(SurveyResponse.id)).where(
            SurveyResponse.cycle_id == cycle.id, SurveyResponse.complaint_id.is_not(None)
        )
    )
    return CycleStatus(cycle, counts[0], counts[1], counts[2], counts[3], follow_ups or 0)


def list_cycles(session: Session) -> list[SurveyCycle]:
    return list(session.scalars(select(SurveyCycle).order_by(SurveyCycle.quarter.desc())))


# --- personal links -----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_links(session: Session, invitations: list[Invitation], purpose: str) -> list[str]:
    """A fresh random token (256 bits) for each invitation, in order; only their hashes are
    stored (in one statement: a dispatch batch adds hundreds)."""
    tokens = [secrets.token_urlsafe(32) for _ in invitations]
    if invitations:
        session.execute(
            insert(SurveyLink),
            [
                {"invitation_id": i.id, "token_hash": hash_token(token), "purpose": purpose}
                for i, token in zip(invitations, tokens, strict=True)
            ],
        )
    return tokens


def find_link(session: Session, token: str, now: datetime | None = None) -> SurveyLink | None:
    """The link of ``token`` if it may still be answered: known, cycle open, not answered.

    Unknown, expired and used tokens all give None: callers answer them alike.
    """
    link = find_any_link(session, token)
    if link is None:
        return None
    invitation = link.invitation
    now = now or utcnow()
    if invitation.responded_at is not None or not (
        invitation.cycle.opens_at <= now < invitation.cycle.closes_at
    ):
        return None
    return link


def find_any_link(session: Session, token: str) -> SurveyLink | None:
    """The link of ``token`` whatever its state (for the opt-out, honoured for good)."""
    if not token or len(token) > 100:
        return None
    return session.scalar(select(SurveyLink).where(SurveyLink.token_hash == hash_token(token)))


def mark_opened(session: Session, invitation: Invitation, now: datetime | None = None) -> None:
    if invitation.opened_at is None:
        invitation.opened_at = now or utcnow()
        session.flush()


def _send_links(
    session: Session,
    invitations: list[tuple[Invitation, str]],
    purpose: str,
    base_url: str,
) -> None:
    """Mail each (invitation, contact name) a new personal link, in the contact's language."""
    tokens = _new_links(session, [invitation for invitation, _ in invitations], purpose)
    # The closing time as the account's people read it, in their own zone.
    account_ids = {invitation.account_id for invitation, _ in invitations}
    zones = {
        brief.id: brief.timezone for brief in accounts.account_briefs(session, ids=account_ids)
    }
    subject_key = "email_subject" if purpose == "invitation" else "reminder_subject"
    emails = []
    for (invitation, name), token in zip(invitations, tokens, strict=True):
        lang = invitation.language
        cycle = invitation.cycle
        url = f"{base_url}/s/{token}"
        context = {
            "w": words(lang),
            "lang": lang,
            "name": name,
            "url": url,
            "optout_url": f"{url}/opt-out",
            "closes": local_time(cycle.closes_at, lang, zones[invitation.account_id]),
            "reminder": purpose != "invitation",
            "quarter": cycle.quarter,
        }
        emails.append(
            OutgoingEmail(
                invitation.email,
                t(lang, subject_key, quarter=cycle.quarter),
                render("survey_email.txt", **context),
                render("survey_email.html", **context),
                dedup_key=f"survey:{invitation.id}:{purpose}",
            )
        )
    queue_emails(session, emails)


def opt_out(session: Session, link: SurveyLink) -> None:
    """The contact of ``link`` wants no more surveys: recorded on the contact (accounts)."""
    accounts.opt_out_contact(session, link.invitation.contact_id)


# --- answering ----------------------------------------------------------------------------------


class AnswersInvalid(Exception):
    """The submitted answers cannot be stored; ``errors`` maps question keys (or ``_form``) to
    messages in the respondent's language."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


class AlreadyAnswered(Exception):
    """The invitation has a response already (a second submission); nothing was stored."""


@dataclass(frozen=True)
class ParsedAnswer:
    key: str
    kind: QuestionKind
    score: int | None = None
    text: str | None = None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_answers(
    definition: dict[str, Any], form: dict[str, str], lang: str
) -> list[ParsedAnswer]:
    """Check submitted form fields (``q_<question id>``) against the questionnaire; raise
    :class:`AnswersInvalid` with every problem at once."""
    asked = questionnaires.questions(definition)
    known = {q.key for q in asked}
    errors: dict[str, str] = {}
    unknown = [k for k in form if k.startswith("q_") and k[2:] not in known]
    if unknown:
        errors["_form"] = t(lang, "error_unknown_question")
    parsed = []
    for q in asked:
        raw = (form.get(f"q_{q.key}") or "").replace("\r\n", "\n").strip()
        if not raw:
            if q.required:
                errors[q.key] = t(lang, "error_required")
            continue
        if q.scale is not None:
            low, high = q.scale
            if not re.fullmatch(r"[0-9]{1,2}", raw) or not low <= int(raw) <= high:
                errors[q.key] = t(lang, "error_range", low=low, high=high)
                continue
            parsed.append(ParsedAnswer(q.key, q.kind, score=int(raw)))
        elif q.kind == QuestionKind.SINGLE_CHOICE:
            if raw not in q.option_ids():
                errors[q.key] = t(lang, "error_option")
                continue
            parsed.append(ParsedAnswer(q.key, q.kind, text=raw))
        else:
            if len(raw) > questionnaires.MAX_TEXT:
                errors[q.key] = t(
                    lang, "error_too_long", max=questionnaires.MAX_TEXT, length=len(raw)
                )
                continue
            parsed.append(ParsedAnswer(q.key, q.kind, text=_CONTROL.sub("", raw)))
    if errors:
        raise AnswersInvalid(errors)
    return parsed


def submit(
    session: Session,
    link: SurveyLink,
    form: dict[str, str],
    lang: str,
    wants_contact: bool,
    now: datetime | None = None,
) -> SurveyResponse:
    """Store the answers of ``link``'s invitation, once; open a follow-up when they call for it.

    Raises :class:`AnswersInvalid` (nothing stored) or :class:`AlreadyAnswered` (a response
    exists: nothing stored, nothing counted).
    """
    invitation = link.invitation
    definition = invitation.questionnaire.definition
    parsed = parse_answers(definition, form, lang)
    now = now or utcnow()
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.responded_at.is_(None))
        .values(responded_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        raise AlreadyAnswered()
    session.refresh(invitation)
    response = SurveyResponse(
        invitation_id=invitation.id,
        cycle_id=invitation.cycle_id,
        questionnaire_id=invitation.questionnaire_id,
        account_id=invitation.account_id,
        contact_id=invitation.contact_id,
        respondent_role=invitation.respondent_role,
        account_class=invitation.account_class,
        language=lang,
        submitted_at=now,
        wants_contact=wants_contact,
        answers=[
            Answer(question_key=a.key, kind=a.kind, score=a.score, text=a.text) for a in parsed
        ],
    )
    session.add(response)
    session.flush()
    _close_the_loop(session, response, definition)
    return response


#: Scores that call for a follow-up: a detractor, or a very dissatisfied rating.
NPS_FOLLOW_UP = 6
CSAT_FOLLOW_UP = 2


def follow_up_reasons(response: SurveyResponse) -> list[str]:
    """Why this response needs the service VP's follow-up (empty: it does not)."""
    reasons = []
    thresholds = {QuestionKind.NPS: NPS_FOLLOW_UP, QuestionKind.CSAT: CSAT_FOLLOW_UP}
    for answer in response.answers:
        limit = thresholds.get(answer.kind)
        if limit is not None and answer.score is not None and answer.score <= limit:
            reasons.append(f"{answer.kind.value.upper()} {answer.score} ({answer.question_key})")
    if response.wants_contact:
        reasons.append("asked to be contacted")
    return reasons


def _severity(response: SurveyResponse) -> str:
    """High for NPS 0-3 or a CSAT of 1, medium for other detractors and CSAT 2 (high when the
    decider gave it), low for a bare request to be contacted."""
    scores = {a.kind: a.score for a in response.answers if a.score is not None}
    worst_csat = min(
        (a.score for a in response.answers if a.kind == QuestionKind.CSAT and a.score is not None),
        default=5,
    )
    nps = scores.get(QuestionKind.NPS, 10)
    if nps <= 3 or worst_csat == 1:
        severity = "high"
    elif nps <= NPS_FOLLOW_UP or worst_csat <= CSAT_FOLLOW_UP:
        severity = "medium"
    else:
        severity = "low"  # only the request to be contacted
    if response.respondent_role == RespondentRole.DECIDER and severity == "medium":
        severity = "high"  # the person who signs off is unhappy
    return severity


def _category(response: SurveyResponse, definition: dict[str, Any]) -> str:
    """The category of the lowest CSAT answer at or below the threshold, else ``service``."""
    categories = {q.key: q.category for q in questionnaires.questions(definition)}
    low = [
        a
        for a in response.answers
        if a.kind == QuestionKind.CSAT and a.score is not None and a.score <= CSAT_FOLLOW_UP
    ]
    if low:
        worst = min(low, key=lambda a: a.score or 0)
        return categories.get(worst.question_key, "other")
    return "service"


def _close_the_loop(session: Session, response: SurveyResponse, definition: dict[str, Any]) -> None:
    reasons = follow_up_reasons(response)
    if not reasons:
        return
    from monitor.complaints.services import open_complaint

    comments = [a.text for a in response.answers if a.kind == QuestionKind.FREE_TEXT and a.text]
    description = (
        f"Survey {response.respondent_role} response #{response.id}: {'; '.join(reasons)}."
        + (f"\n\nComment: {comments[0]}" if comments else "")
    )
    fields = {
        "account_id": response.account_id,
        "channel": "survey",
        "category": _category(response, definition),
        "severity": _severity(response),
        "description": description[:4000],
        "occurred_at": response.submitted_at,
        "origin": ("survey_response", response.id),
    }
    try:
        complaint = open_complaint(session, contact_id=response.contact_id, **fields)
    except FieldError:
        # The contact was deleted or moved since the invitation: the follow-up still opens.
        complaint = open_complaint(session, contact_id=None, **fields)
    response.complaint_id = complaint.id
    session.flush()


# --- reminders ----------------------------------------------------------------------------------


def reminder_level(cycle: SurveyCycle, now: datetime) -> int:
    """How many reminders a non-responder should have had by ``now`` (0, 1 or 2)."""
    if not cycle.opens_at <= now < cycle.closes_at:
        return 0
    elapsed = now - cycle.opens_at
    days = [d for d in cycle.reminder_days[:MAX_REMINDERS] if elapsed >= timedelta(days=d)]
    return len(days)


def due_reminders(session: Session, now: datetime | None = None) -> list[tuple[int, int]]:
    """(invitation id, reminder number) of every reminder due now in open cycles."""
    now = now or utcnow()
    due = []
    for cycle in session.scalars(
        select(SurveyCycle).where(SurveyCycle.opens_at <= now, SurveyCycle.closes_at > now)
    ):
        level = reminder_level(cycle, now)
        if level == 0:
            continue
        ids = session.scalars(
            select(Invitation.id).where(
                Invitation.cycle_id == cycle.id,
                Invitation.responded_at.is_(None),
                Invitation.reminders_sent < level,
            )
        )
        due.extend((invitation_id, level) for invitation_id in ids)
    return due


def send_reminders(
    session: Session, due: Sequence[tuple[int, int]], base_url: str, now: datetime | None = None
) -> int:
    """Send each (invitation id, reminder number) of ``due`` unless that reminder was sent, the
    contact answered or opted out; a cron that missed a day sends one reminder, not two. The
    messages are queued together (delivered in batches). Returns how many were sent."""
    now = now or utcnow()
    by_level: dict[int, list[int]] = {}
    for invitation_id, level in due:
        by_level.setdefault(level, []).append(invitation_id)
    sent = 0
    for level, ids in sorted(by_level.items()):
        claimed = list(
            session.scalars(
                update(Invitation)
                .where(
                    Invitation.id.in_(ids),
                    Invitation.responded_at.is_(None),
                    Invitation.reminders_sent < level,
                )
                .values(reminders_sent=level, last_reminded_at=now)
                .returning(Invitation)
                .execution_options(synchronize_session=False, populate_existing=True)
            )
        )
        # Opted out (or gone) since the invitation: recorded as handled, nobody reminds them.
        names = accounts.reachable_contact_names(session, [i.contact_id for i in claimed])
        remind = sorted((i for i in claimed if i.contact_id in names), key=lambda i: i.id)
        pairs = [(i, names[i.contact_id]) for i in remind]
        _send_links(session, pairs, f"reminder-{level}", base_url)
        sent += len(remind)
    return sent


# --- returns: listing and the managers' digest --------------------------------------------------


def get_response(session: Session, response_id: int) -> SurveyResponse:
    response = session.get(SurveyResponse, response_id)
    if response is None:
        raise NotFound(f"survey response {response_id}")
    return response


def list_responses(
    session: Session,
    *,
    page: int,
    per_page: int,
    quarter: str | None = None,
    account_id: int | None = None,
    respondent_role: str | None = None,
    account_class: str | None = None,
    follow_up: bool | None = None,
    wants_contact: bool | None = None,
    nps_at_most: int | None = None,
    submitted_from: datetime | None = None,
    submitted_before: datetime | None = None,
) -> dict[str, Any]:
    """Responses matching every given filter, newest first."""
    stmt = select(SurveyResponse).order_by(
        SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc()
    )
    if quarter is not None:
        cycle = find_cycle(session, quarter)
        stmt = stmt.where(SurveyResponse.cycle_id == (cycle.id if cycle else -1))
    if account_id is not None:
        stmt = stmt.where(SurveyResponse.account_id == account_id)
    if respondent_role is not None:
        stmt = stmt.where(SurveyResponse.respondent_role == respondent_role)
    if account_class is not None:
        stmt = stmt.where(SurveyResponse.account_class == account_class)
    if follow_up is not None:
        column = SurveyResponse.complaint_id
        stmt = stmt.where(column.is_not(None) if follow_up else column.is_(None))
    if wants_contact is not None:
        stmt = stmt.where(SurveyResponse.wants_contact == wants_contact)
    if nps_at_most is not None:
        stmt = stmt.where(
            SurveyResponse.answers.any(
                and_(Answer.kind == QuestionKind.NPS, Answer.score <= nps_at_most)
            )
        )
    if submitted_from is not None:
        stmt = stmt.where(SurveyResponse.submitted_at >= submitted_from)
    if submitted_before is not None:
        stmt = stmt.where(SurveyResponse.submitted_at < submitted_before)
    return paginate(session, stmt, page, per_page)


def responses_of_day(session: Session, day: date) -> list[SurveyResponse]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return list(
        session.scalars(
            select(SurveyResponse)
            .where(
                SurveyResponse.submitted_at >= start,
                SurveyResponse.submitted_at < start + timedelta(days=1),
            )
            .order_by(SurveyResponse.submitted_at)
            .options(selectinload(SurveyResponse.answers))
        )
    )


def _managers(session: Session) -> Iterator[Any]:
    page = 1
    while True:
        found = staff.list_users(session, page=page, per_page=200, role=Role.MANAGER, active=True)
        yield from found["items"]
        if page * 200 >= found["total"]:
            return
        page += 1


def send_digest(session: Session, day: date, base_url: str) -> int:
    """Email every active manager the returns of ``day`` (UTC); once per manager and day, and
    nothing on a day without returns. Returns the number of messages queued."""
    take_write_lock(session)
    returns = responses_of_day(session, day)
    if not returns:
        return 0
    labels = accounts.account_labels(session, sorted({r.account_id for r in returns}))
    rows = [
        {
            "response": r,
            "account": labels.get(r.account_id, ("?", "?", r.account_class)),
            "nps": next((a.score for a in r.answers if a.kind == QuestionKind.NPS), None),
        }
        for r in returns
    ]
    # the message depends only on the language: rendered once per language, not per manager
    bodies: dict[str, tuple[str, str, str]] = {}
    emails = []
    for manager in _managers(session):
        lang = manager.language if manager.language in ("en", "zh") else "en"
        if lang not in bodies:
            context = {
                "w": words(lang),
                "lang": lang,
                "day": day.isoformat(),
                "rows": rows,
                "link": f"{base_url}/api/v1/surveys/responses",
            }
            bodies[lang] = (
                t(lang, "digest_subject", day=day.isoformat(), count=len(rows)),
                render("survey_digest.txt", **context),
                render("survey_digest.html", **context),
            )
        emails.append(
            OutgoingEmail(
                manager.email,
                *bodies[lang],
                dedup_key=f"survey-digest:{day.isoformat()}:{manager.id}",
            )
        )
    queue_emails(session, emails)
    return len(emails)


# --- accounts: what surveys keep about them -----------------------------------------------------


def _survey_history(session: Session, account_id: int) -> str | None:
    found = session.scalar(
        select(Invitation.id).where(Invitation.account_id == account_id).limit(1)
    )
    return "survey history" if found else None


accounts.register_account_dependent(_survey_history)
