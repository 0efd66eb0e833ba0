"""The escalation ladder: overdue accounts climb it, one recorded step per level and cycle.

The levels, their thresholds in days past due and their actions are data: :data:`LADDER`. The
daily job (:func:`receivables.jobs.run_escalation_ladder`) calls :func:`run`, which

1. settles open promises to pay: kept when the payments received since the promise cover it or
   nothing is overdue any more, broken when the promised date plus grace has passed without;
2. places each overdue account at the level its oldest overdue instalment warrants, doing the
   actions of every level it passes (each level once per cycle: the unique step row makes a
   second run, or a second worker racing the first, do nothing);
3. escalates an account whose promise was just broken at once, one level above where it stood
   (or higher, if the days past due warrant it);
4. starts a new cycle for an account that is no longer overdue.

An open promise (until its date plus grace), an open dispute, or a manual hold pauses the climb.
Inactive accounts are left alone. The business date is the UTC date. A credit hold set at L4
stays when the account is paid: lifting it is finance's decision (the credit-hold endpoint).

The L3 formal letter and the statement PDF belong to the PDF reports, which are not built yet:
the letter is recorded as an open task for finance, and the L1 reminder carries the statement as
a table in the email itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.accounts.models import Account, ContactRole
from monitor.accounts.services import (
    contacts_with_roles,
    get_account,
    inactive_account_ids,
    register_account_dependent,
)
from monitor.api.problems import Conflict, FieldError, NotFound
from monitor.audit.context import current_actor
from monitor.db import page_of, utcnow
from monitor.email.services import queue_email
from monitor.i18n import Language
from monitor.staff import services as staff
from monitor.staff.models import Role, StaffUser
from receivables.escalation_models import (
    ActionKind,
    Dispute,
    DisputeState,
    EscalationAction,
    EscalationState,
    EscalationStep,
    PromiseState,
    PromiseToPay,
    StepTrigger,
    TaskState,
)
from receivables.ledger import ZERO, OpenItem, check_amount, open_items
from receivables.ledger import set_credit_hold as ledger_set_credit_hold
from receivables.models import Payment


@dataclass(frozen=True)
class Level:
    """One rung: reached when the oldest overdue instalment is ``days_past_due`` days late."""

    number: int
    days_past_due: int
    name: str
    #: The name in Chinese, for notices to staff who read Chinese.
    name_zh: str
    actions: tuple[ActionKind, ...]


@dataclass(frozen=True)
class LadderPolicy:
    """The ladder's levels (ascending) and the grace a promise to pay gets by default."""

    levels: tuple[Level, ...]
    promise_grace_days: int = 3

    def level(self, number: int) -> Level:
        return self.levels[number - 1]

    @property
    def top(self) -> int:
        return len(self.levels)

    def warranted(self, days_past_due: int) -> int:
        """The highest level whose threshold ``days_past_due`` has reached (0: none)."""
        return max(
            (lv.number for lv in self.levels if days_past_due >= lv.days_past_due), default=0
        )


#: The escalation ladder finance runs (the practice's defaults).
LADDER = LadderPolicy(
    levels=(
        Level(1, 1, "reminder", "付款提醒", (ActionKind.REMINDER_EMAIL,)),
        Level(2, 15, "call", "电话催收", (ActionKind.CALL_TASK,)),
        Level(
            3,
            30,
            "formal letter",
            "正式催款函",
            (ActionKind.FORMAL_LETTER_TASK, ActionKind.NOTIFY_FINANCE),
        ),
        Level(
            4,
            60,
            "senior escalation",
            "高层升级与信用冻结",
            (ActionKind.NOTIFY_MANAGERS, ActionKind.CREDIT_HOLD),
        ),
        Level(
            5,
            90,
            "legal action",
            "法律行动或委托催收",
            (ActionKind.LEGAL_REVIEW_TASK, ActionKind.NOTIFY_MANAGERS),
        ),
    ),
    promise_grace_days=3,
)

#: Who receives the L1 reminder and statement.
STATEMENT_ROLES = (ContactRole.BUYER, ContactRole.FINANCE)


def _account_dependents(session: Session, account_id: int) -> str | None:
    escalated = session.scalar(select(exists().where(EscalationState.account_id == account_id)))
    promised = session.scalar(select(exists().where(PromiseToPay.account_id == account_id)))
    return "escalation history" if escalated or promised else None


register_account_dependent(_account_dependents)


# --- where an account stands --------------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    """What is overdue on an account as of a date."""

    days_past_due: int
    overdue_amount: Decimal
    open_amount: Decimal
    currency: str


def overdue_of(items: Iterable[OpenItem], currency: str) -> Overdue:
    items = list(items)
    late = [i for i in items if i.days_past_due > 0 and i.outstanding > 0]
    return Overdue(
        days_past_due=max((i.days_past_due for i in late), default=0),
        overdue_amount=sum((i.outstanding for i in late), ZERO),
        open_amount=sum((i.outstanding for i in items), ZERO),
        currency=currency,
    )


@dataclass(frozen=True)
class Pause:
    #: ``promise_to_pay``, ``dispute`` or ``override``.
    reason: str
    #: Last day of the pause; None while a dispute is open.
    until: date | None
    #: The promise's or dispute's id.
    ref_id: int | None = None


def pause_of(session: Session, account_id: int, as_of: date) -> Pause | None:
    """Why the ladder waits for this account on ``as_of``, if it does (dispute first)."""
    dispute_id = session.scalar(
        select(Dispute.id)
        .where(Dispute.account_id == account_id, Dispute.state == DisputeState.OPEN)
        .order_by(Dispute.id)
        .limit(1)
    )
    if dispute_id is not None:
        return Pause("dispute", None, dispute_id)
    promise = open_promise(session, account_id)
    if promise is not None and as_of <= promise_deadline(promise):
        return Pause("promise_to_pay", promise_deadline(promise), promise.id)
    state = session.get(EscalationState, account_id)
    if state is not None and state.hold_until is not None and as_of <= state.hold_until:
        return Pause("override", state.hold_until)
    return None


@dataclass(frozen=True)
class NextAction:
    level: int
    name: str
    actions: tuple[ActionKind, ...]
    #: The first day the daily job will take it (None: waits for a dispute's resolution).
    due_on: date | None


@dataclass(frozen=True)
class LadderStatus:
    account_id: int
    level: int
    level_name: str | None
    cycle: int
    as_of: date
    days_past_due: int
    overdue_amount: Decimal
    open_amount: Decimal
    currency: str
    pause: Pause | None
    next_action: NextAction | None
    hold_until: date | None
    override_reason: str | None
    last_step: EscalationStep | None = None
    recent_steps: list[EscalationStep] = field(default_factory=list)


def status(
    session: Session, account_id: int, as_of: date, policy: LadderPolicy = LADDER
) -> LadderStatus:
    """The account's level, why it waits, and the next action with the date it is due."""
    account = get_account(session, account_id)
    state = session.get(EscalationState, account.id)
    level = state.level if state else 0
    overdue = overdue_of(open_items(session, account.id, as_of), account.currency)
    pause = pause_of(session, account.id, as_of)
    steps = list(
        session.scalars(
            select(EscalationStep)
            .where(EscalationStep.account_id == account.id)
            .order_by(EscalationStep.id.desc())
            .limit(20)
        )
    )
    return LadderStatus(
        account_id=account.id,
        level=level,
        level_name=policy.level(level).name if level else None,
        cycle=state.cycle if state else 1,
        as_of=as_of,
        days_past_due=overdue.days_past_due,
        overdue_amount=overdue.overdue_amount,
        open_amount=overdue.open_amount,
        currency=account.currency,
        pause=pause,
        next_action=_next_action(level, overdue, pause, as_of, policy),
        hold_until=state.hold_until if state else None,
        override_reason=state.override_reason if state else None,
        last_step=steps[0] if steps else None,
        recent_steps=steps,
    )


def overview(
    session: Session,
    as_of: date,
    *,
    page: int,
    per_page: int,
    level: int | None = None,
    policy: LadderPolicy = LADDER,
) -> dict[str, Any]:
    """One page of the accounts that are overdue or escalated on ``as_of``, most days past due
    first (optionally only those at ``level``), each with its :func:`status`."""
    from receivables.aging import overdue_accounts

    days = {row.account_id: row.days_past_due for row in overdue_accounts(session, as_of)}
    levels = {
        row[0]: row[1]
        for row in session.execute(
            select(EscalationState.account_id, EscalationState.level).where(
                EscalationState.level > 0
            )
        )
    }
    ids = set(days) | set(levels)
    if level is not None:
        ids = {i for i in ids if levels.get(i, 0) == level}
    ordered = sorted(ids, key=lambda i: (-days.get(i, 0), i))
    chosen = page_of(ordered, page, per_page)
    return chosen | {"items": [status(session, i, as_of, policy) for i in chosen["items"]]}


def _next_action(
    level: int, overdue: Overdue, pause: Pause | None, as_of: date, policy: LadderPolicy
) -> NextAction | None:
    if level >= policy.top or overdue.overdue_amount <= 0:
        return None
    following = policy.level(level + 1)
    due_on: date | None = as_of + timedelta(
        days=max(0, following.days_past_due - overdue.days_past_due)
    )
    if pause is not None:
        due_on = None if pause.until is None else max(due_on, pause.until + timedelta(days=1))
    return NextAction(following.number, following.name, following.actions, due_on)


# --- the daily run ------------------------------------------------------------------------------


@dataclass
class LadderRun:
    """What one run did."""

    as_of: date
    #: Accounts moved up at least one level.
    escalated: int = 0
    #: Steps recorded (one per level passed).
    steps: int = 0
    #: Accounts that waited (promise, dispute, hold).
    paused: int = 0
    #: Accounts back to current (new cycle).
    cleared: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    #: Accounts another run had already handled (a concurrent worker).
    skipped: int = 0

    def __str__(self) -> str:
        return (
            f"as of {self.as_of}: {self.escalated} escalated ({self.steps} steps), "
            f"{self.paused} paused, {self.cleared} cleared, promises {self.promises_kept} kept / "
            f"{self.promises_broken} broken, {self.skipped} skipped"
        )


def run(session: Session, as_of: date, policy: LadderPolicy = LADDER) -> LadderRun:
    """Move every account to where it belongs on the ladder on ``as_of``; safe to run twice."""
    from receivables.aging import overdue_accounts  # aging is heavier; load it when needed

    result = LadderRun(as_of)
    overdue = {
        row.account_id: Overdue(
            row.days_past_due, row.overdue_amount, row.open_amount, row.currency
        )
        for row in overdue_accounts(session, as_of)
    }
    broken = _settle_promises(session, as_of, overdue, result)
    escalated = set(
        session.scalars(select(EscalationState.account_id).where(EscalationState.level > 0))
    )
    # Inactive accounts keep their history but are not dunned.
    inactive = inactive_account_ids(session)
    for account_id in sorted((set(overdue) | escalated) - inactive):
        try:
            with session.begin_nested():
                _advance(
                    session,
                    account_id,
                    overdue.get(account_id),
                    account_id in broken,
                    as_of,
                    policy,
                    result,
                )
        except IntegrityError:
            # Another run placed this account first (unique step or state row): it acted.
            result.skipped += 1
    return result


def _settle_promises(
    session: Session, as_of: date, overdue: dict[int, Overdue], result: LadderRun
) -> set[int]:
    """Mark open promises kept or broken; returns the accounts whose promise broke now."""
    settled: dict[PromiseState, list[int]] = {PromiseState.KEPT: [], PromiseState.BROKEN: []}
    promises = session.execute(
        select(PromiseToPay, received_since_made())
        .where(PromiseToPay.state == PromiseState.OPEN)
        .order_by(PromiseToPay.id)
    )
    for promise, received in promises:
        if promise.account_id not in overdue or received >= promise.amount:
            settled[PromiseState.KEPT].append(promise.id)
        elif as_of > promise_deadline(promise):
            settled[PromiseState.BROKEN].append(promise.id)
    broken: set[int] = set()
    for outcome, promise_ids in settled.items():
        if not promise_ids:
            continue
        # Conditional: of two runs at once, only the one that flips a promise acts on it. The
        # flipped ones come back, and "fetch" updates those already loaded in the session.
        flipped = session.scalars(
            update(PromiseToPay)
            .where(PromiseToPay.id.in_(promise_ids), PromiseToPay.state == PromiseState.OPEN)
            .values(state=outcome, resolved_at=utcnow())
            .returning(PromiseToPay.account_id)
            .execution_options(synchronize_session="fetch")
        ).all()
        if outcome is PromiseState.KEPT:
            result.promises_kept += len(flipped)
        else:
            result.promises_broken += len(flipped)
            broken.update(flipped)
    return broken


def _advance(
    session: Session,
    account_id: int,
    overdue: Overdue | None,
    broken_promise: bool,
    as_of: date,
    policy: LadderPolicy,
    result: LadderRun,
) -> None:
    if overdue is None or overdue.overdue_amount <= 0:
        state = _state(session, account_id)
        if state.level > 0:
            account = get_account(session, account_id)
            state.cycle += 1
            _record_step(
                session,
                state,
                0,
                StepTrigger.CLEARED,
                as_of,
                Overdue(0, ZERO, ZERO, account.currency),
                note=None,
            )
            state.level = 0
            state.hold_until = None
            session.flush()
            result.cleared += 1
        return
    pause = pause_of(session, account_id, as_of)
    if pause is not None:
        result.paused += 1
        return
    state = _state(session, account_id)
    target = policy.warranted(overdue.days_past_due)
    trigger = StepTrigger.DAYS_PAST_DUE
    note = None
    if broken_promise:
        target = min(policy.top, max(target, state.level + 1))
        trigger = StepTrigger.BROKEN_PROMISE
        note = "promise to pay broken"
    if target <= state.level:
        return
    result.steps += _climb(session, state, target, trigger, as_of, overdue, note, policy)
    result.escalated += 1


def _state(session: Session, account_id: int) -> EscalationState:
    state = session.get(EscalationState, account_id, with_for_update=True, populate_existing=True)
    if state is None:
        state = EscalationState(account_id=account_id, level=0, cycle=1)
        session.add(state)
        session.flush()  # a racing run's insert of the same account fails here
    return state


def _climb(
    session: Session,
    state: EscalationState,
    target: int,
    trigger: StepTrigger,
    as_of: date,
    overdue: Overdue,
    note: str | None,
    policy: LadderPolicy,
) -> int:
    """Record a step and do the actions of every level from above the current one to
    ``target``; returns the number of steps."""
    steps = 0
    for number in range(state.level + 1, target + 1):
        step = _record_step(session, state, number, trigger, as_of, overdue, note)
        for kind in policy.level(number).actions:
            _ACTIONS[kind](session, step, overdue, policy.level(number))
        state.level = number
        steps += 1
    session.flush()
    return steps


def _record_step(
    session: Session,
    state: EscalationState,
    level: int,
    trigger: StepTrigger,
    as_of: date,
    overdue: Overdue,
    note: str | None,
) -> EscalationStep:
    actor = current_actor()
    step = EscalationStep(
        account_id=state.account_id,
        cycle=state.cycle,
        level=level,
        from_level=state.level,
        trigger=trigger,
        as_of=as_of,
        days_past_due=overdue.days_past_due,
        overdue_amount=overdue.overdue_amount,
        currency=overdue.currency,
        note=note,
        actor_kind=actor.kind,
        actor_label=actor.label,
        actor_staff_id=actor.staff_id,
    )
    session.add(step)
    session.flush()  # the unique (account, cycle, level) refuses a second run here
    return step


# --- actions ------------------------------------------------------------------------------------

#: What a level does: (session, the step, what is overdue, the level) → records an action.
Action = Callable[[Session, EscalationStep, Overdue, Level], None]

_templates = Environment(
    loader=PackageLoader("receivables", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

_STATEMENT_SUBJECT = {
    Language.EN: "Statement of account {code}: {amount} {currency} overdue",
    Language.ZH: "对账单 {code}：逾期款项 {amount} {currency}",
}

_NOTICE_SUBJECT = {
    Language.EN: "[Receivables] {code} {name}: escalation level {level} ({level_name})",
    Language.ZH: "【应收账款】{code} {name}：催收升级至第 {level} 级（{level_name}）",
}


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def render_statement(
    account: Account, contact_name: str, language: str, items: list[OpenItem], as_of: date
) -> tuple[str, str, str]:
    """(subject, text, html) of the reminder with the statement of open items, in ``language``."""
    lang = Language(language) if language in Language.__members__.values() else Language.EN
    overdue = overdue_of(items, account.currency)
    context = {
        "account": account,
        "contact_name": contact_name,
        "as_of": as_of,
        "items": items,
        "overdue": overdue,
        "money": money,
    }
    subject = _STATEMENT_SUBJECT[lang].format(
        code=account.code, amount=money(overdue.overdue_amount), currency=account.currency
    )
    text = _templates.get_template(f"statement_email_{lang.value}.txt").render(context)
    html = _templates.get_template(f"statement_email_{lang.value}.html").render(context)
    return subject, text, html


def _remind(session: Session, step: EscalationStep, overdue: Overdue, rung: Level) -> None:
    account = get_account(session, step.account_id)
    items = open_items(session, account.id, step.as_of)
    recipients = []
    for contact in contacts_with_roles(session, account.id, STATEMENT_ROLES):
        subject, text, html = render_statement(
            account, contact.name, str(contact.language), items, step.as_of
        )
        key = f"ladder-step-{step.id}-contact-{contact.id}"
        queue_email(
            session,
            contact.email,
            subject,
            text,
            html,
            attachments=[_letter(session, step, str(contact.language), "reminder", key)],
            dedup_key=key,
        )
        recipients.append(contact.email)
    if recipients:
        _record_action(
            session,
            step,
            ActionKind.REMINDER_EMAIL,
            f"reminder with statement of {len(items)} open item(s) sent to "
            + ", ".join(recipients),
            {"recipients": recipients},
        )
    else:
        # Nobody to remind is itself work for finance: find the buyer or finance contact.
        _record_action(
            session,
            step,
            ActionKind.REMINDER_EMAIL,
            "no buyer or finance contact on file: reminder not sent; add a contact and remind",
            {"recipients": []},
            task=True,
        )


def _call_task(session: Session, step: EscalationStep, overdue: Overdue, rung: Level) -> None:
    account = get_account(session, step.account_id)
    owner = staff.find_user(session, account.owner_id)
    if owner is not None and not owner.active:
        owner = None
    who = owner.email if owner else "finance (the account has no active owner)"
    _record_action(
        session,
        step,
        ActionKind.CALL_TASK,
        f"call the customer about {money(overdue.overdue_amount)} {overdue.currency} "
        f"overdue ({overdue.days_past_due} days): task for {who}",
        {},
        task=True,
        assignee=owner,
    )
    if owner is not None:
        _notify(session, step, rung, ActionKind.CALL_TASK, [owner], overdue, account)


def _letter(session: Session, step: EscalationStep, language: str, variant: str, key: str) -> Any:
    """The statement PDF (``reminder`` or ``formal_letter``) as an email attachment."""
    # Imported here: the reports read the ladder, so a module-level import would be circular.
    from monitor.reports.services import statement_attachment

    return statement_attachment(session, step.account_id, step.as_of, language, variant, key)


#: Subject and body of the email carrying the formal demand letter, per language.
_LETTER_EMAIL = {
    Language.EN: (
        "Formal notice of overdue payment: {code}",
        "Dear {name},\n\nplease find attached our formal notice about the overdue balance of "
        "account {code}, {amount} {currency}. We ask you to settle it or to contact us within "
        "7 days.\n",
    ),
    Language.ZH: (
        "逾期付款正式通知：{code}",
        "尊敬的{name}：\n\n附件为贵方账户 {code} 逾期款项（{amount} {currency}）的正式催款函。"
        "请于 7 日内付清或与我们联系。\n",
    ),
}


def _formal_letter(session: Session, step: EscalationStep, overdue: Overdue, rung: Level) -> None:
    account = get_account(session, step.account_id)
    recipients = []
    for contact in contacts_with_roles(session, account.id, STATEMENT_ROLES):
        lang = Language(contact.language)
        subject, body = _LETTER_EMAIL[lang]
        values = {
            "code": account.code,
            "name": contact.name,
            "amount": money(overdue.overdue_amount),
            "currency": overdue.currency,
        }
        key = f"ladder-step-{step.id}-letter-{contact.id}"
        queue_email(
            session,
            contact.email,
            subject.format(**values),
            body.format(**values),
            attachments=[_letter(session, step, lang.value, "formal_letter", key)],
            dedup_key=key,
        )
        recipients.append(contact.email)
    sent = f"emailed to {', '.join(recipients)}" if recipients else "no contact to email it to"
    _record_action(
        session,
        step,
        ActionKind.FORMAL_LETTER_TASK,
        f"formal demand letter (PDF) {sent}; send the signed copy by registered post and record "
        "its reference when completing this task",
        {"recipients": recipients},
        task=True,
    )


def _notify_role(role: Role, kind: ActionKind) -> Action:
    def notify(session: Session, step: EscalationStep, overdue: Overdue, rung: Level) -> None:
        account = get_account(session, step.account_id)
        users = staff.list_users(session, page=1, per_page=200, role=role, active=True)["items"]
        sent = _notify(session, step, rung, kind, users, overdue, account)
        summary = (
            f"{role.value} staff notified: {', '.join(sent)}"
            if sent
            else f"no active {role.value} staff to notify"
        )
        _record_action(session, step, kind, summary, {"recipients": sent})

    return notify


def _credit_hold(session: Session, step: EscalationStep, overdue: Overdue, rung: Level) -> None:
    reason = (
        f"escalation level {step.level}: {money(overdue.overdue_amount)} {overdue.currency} "
        f"overdue, oldest {overdue.days_past_due} days"
    )
    ledger_set_credit_hold(session, step.account_id, True, reason)
    _record_action(session, step, ActionKind.CREDIT_HOLD, f"credit hold set ({reason})", {})


def _legal_review(session: Session, step: EscalationStep, overdue: Overdue, rung: Level) -> None:
    _record_action(
        session,
        step,
        ActionKind.LEGAL_REVIEW_TASK,
        f"recommend legal action or a collection agency for {money(overdue.overdue_amount)} "
        f"{overdue.currency} overdue {overdue.days_past_due} days: decide and record the outcome",
        {},
        task=True,
    )


_ACTIONS: dict[ActionKind, Action] = {
    ActionKind.REMINDER_EMAIL: _remind,
    ActionKind.CALL_TASK: _call_task,
    ActionKind.FORMAL_LETTER_TASK: _formal_letter,
    ActionKind.NOTIFY_FINANCE: _notify_role(Role.FINANCE, ActionKind.NOTIFY_FINANCE),
    ActionKind.NOTIFY_MANAGERS: _notify_role(Role.MANAGER, ActionKind.NOTIFY_MANAGERS),
    ActionKind.CREDIT_HOLD: _credit_hold,
    ActionKind.LEGAL_REVIEW_TASK: _legal_review,
}


def _notify(
    session: Session,
    step: EscalationStep,
    rung: Level,
    kind: ActionKind,
    users: Iterable[StaffUser],
    overdue: Overdue,
    account: Account,
) -> list[str]:
    sent = []
    for user in users:
        lang = Language.ZH if user.language == Language.ZH else Language.EN
        level_name = rung.name_zh if lang is Language.ZH else rung.name
        context = {
            "account": account,
            "step": step,
            "level_name": level_name,
            "overdue": overdue,
            "kind": kind.value,
            "user": user,
            "money": money,
        }
        queue_email(
            session,
            user.email,
            _NOTICE_SUBJECT[lang].format(
                code=account.code, name=account.name, level=step.level, level_name=level_name
            ),
            _templates.get_template(f"ladder_notice_{lang.value}.txt").render(context),
            dedup_key=f"ladder-step-{step.id}-{kind.value}-staff-{user.id}",
        )
        sent.append(user.email)
    return sent


def _record_action(
    session: Session,
    step: EscalationStep,
    kind: ActionKind,
    summary: str,
    detail: dict[str, Any],
    *,
    task: bool = False,
    assignee: StaffUser | None = None,
) -> EscalationAction:
    action = EscalationAction(
        step_id=step.id,
        account_id=step.account_id,
        kind=kind,
        summary=summary[:500],
        detail=detail,
        task_state=TaskState.OPEN if task else None,
        assignee_id=assignee.id if assignee else None,
    )
    session.add(action)
    session.flush()
    return action


# --- manual override ----------------------------------------------------------------------------


def override(
    session: Session,
    account_id: int,
    *,
    level: int,
    reason: str,
    hold_until: date | None,
    as_of: date,
    policy: LadderPolicy = LADDER,
) -> LadderStatus:
    """Set the account's level by hand, with a reason (kept on the step and in the audit trail).

    Raising it does the actions of every level passed, as the job would. Lowering it starts a
    new cycle at that level, so the levels above act again if the account climbs back.
    ``hold_until`` keeps the job from moving the account before that date (inclusive);
    without it the next daily run places the account by its days past due again.
    """
    account = get_account(session, account_id)
    if not 0 <= level <= policy.top:
        raise FieldError("level", f"must be between 0 and {policy.top}", "out_of_range")
    if hold_until is not None and not as_of <= hold_until <= as_of + timedelta(days=366):
        raise FieldError("hold_until", "must be from today to a year ahead", "out_of_range")
    state = _state(session, account.id)
    overdue = overdue_of(open_items(session, account.id, as_of), account.currency)
    if level == state.level and (hold_until, reason) == (state.hold_until, state.override_reason):
        raise Conflict(f"account {account.code} is already at level {level} with this hold")
    if level > state.level:
        _climb(session, state, level, StepTrigger.OVERRIDE, as_of, overdue, reason, policy)
    elif level < state.level:
        state.cycle += 1
        _record_step(session, state, level, StepTrigger.OVERRIDE, as_of, overdue, reason)
        state.level = level
    state.hold_until = hold_until
    state.override_reason = reason
    session.flush()
    return status(session, account.id, as_of, policy)


# --- promises to pay ----------------------------------------------------------------------------


def promise_deadline(promise: PromiseToPay) -> date:
    """The last day the ladder waits for a promise."""
    return promise.promised_date + timedelta(days=promise.grace_days)


def open_promise(session: Session, account_id: int) -> PromiseToPay | None:
    return session.scalar(
        select(PromiseToPay).where(
            PromiseToPay.account_id == account_id, PromiseToPay.state == PromiseState.OPEN
        )
    )


def received_since_made() -> Any:
    """Per promise (a correlated subquery of :class:`PromiseToPay` rows): the payments, not
    reversed, received from the day the promise was made."""
    return (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(
            Payment.account_id == PromiseToPay.account_id,
            Payment.paid_on >= PromiseToPay.made_on,
            Payment.reversed_on.is_(None),
        )
        .scalar_subquery()
    )


def make_promise(
    session: Session,
    account_id: int,
    *,
    amount: Decimal,
    promised_date: date,
    as_of: date,
    currency: str | None = None,
    grace_days: int | None = None,
    note: str | None = None,
    policy: LadderPolicy = LADDER,
) -> PromiseToPay:
    """Record a promise to pay; the ladder waits until ``promised_date`` plus grace.

    One open promise per account (a new date replaces nothing: cancel the old one first).
    """
    account = get_account(session, account_id)
    amount = check_amount(amount)
    if currency is not None and currency != account.currency:
        raise FieldError(
            "currency",
            f"account {account.code} is invoiced in {account.currency}, not {currency}",
            "wrong_currency",
        )
    if not as_of <= promised_date <= as_of + timedelta(days=366):
        raise FieldError("promised_date", "must be from today to a year ahead", "out_of_range")
    existing = open_promise(session, account.id)
    if existing is not None:
        raise Conflict(
            f"account {account.code} has an open promise (id {existing.id}) to pay by "
            f"{existing.promised_date}; cancel it first",
            field="promised_date",
        )
    promise = PromiseToPay(
        account_id=account.id,
        amount=amount,
        currency=account.currency,
        promised_date=promised_date,
        grace_days=policy.promise_grace_days if grace_days is None else grace_days,
        made_on=as_of,
        note=note,
        state=PromiseState.OPEN,
        created_by=current_actor().label,
    )
    session.add(promise)
    session.flush()
    return promise


def get_promise(session: Session, promise_id: int) -> PromiseToPay:
    promise = session.get(PromiseToPay, promise_id)
    if promise is None:
        raise NotFound(f"promise {promise_id}")
    return promise


def cancel_promise(session: Session, promise: PromiseToPay) -> PromiseToPay:
    """Withdraw an open promise (entered by mistake, replaced by a new date)."""
    if promise.state is not PromiseState.OPEN:
        raise Conflict(f"promise {promise.id} is {promise.state.value}, not open")
    promise.state = PromiseState.CANCELLED
    promise.resolved_at = utcnow()
    session.flush()
    return promise


def promises_of(session: Session, account_id: int) -> list[PromiseToPay]:
    get_account(session, account_id)
    return list(
        session.scalars(
            select(PromiseToPay)
            .where(PromiseToPay.account_id == account_id)
            .order_by(PromiseToPay.id.desc())
        )
    )


def broken_promises(session: Session, account_ids: list[int]) -> list[PromiseToPay]:
    """The broken promises of ``account_ids``, in that order of accounts, newest first within
    each (one query for a whole report)."""
    position = {account_id: index for index, account_id in enumerate(account_ids)}
    found = session.scalars(
        select(PromiseToPay).where(
            PromiseToPay.account_id.in_(account_ids), PromiseToPay.state == PromiseState.BROKEN
        )
    )
    return sorted(found, key=lambda p: (position[p.account_id], -p.id))


# --- tasks and history --------------------------------------------------------------------------


def get_action(session: Session, action_id: int) -> EscalationAction:
    action = session.get(EscalationAction, action_id)
    if action is None:
        raise NotFound(f"collection task {action_id}")
    return action


def complete_task(session: Session, action: EscalationAction, note: str) -> EscalationAction:
    """Close a call, letter or legal-review task with what was done."""
    if action.task_state is None:
        raise NotFound(f"collection task {action.id}")
    if action.task_state is TaskState.DONE:
        raise Conflict(f"task {action.id} was completed at {action.completed_at:%Y-%m-%d %H:%M}")
    action.task_state = TaskState.DONE
    action.completed_at = utcnow()
    action.completed_by = current_actor().label
    action.completion_note = note
    session.flush()
    return action


def tasks(
    session: Session,
    *,
    state: TaskState | None = None,
    assignee_id: int | None = None,
    account_id: int | None = None,
) -> Any:
    """A select of collection tasks, oldest first, for pagination."""
    stmt = (
        select(EscalationAction)
        .where(EscalationAction.task_state.is_not(None))
        .order_by(EscalationAction.id)
    )
    if state is not None:
        stmt = stmt.where(EscalationAction.task_state == state)
    if assignee_id is not None:
        stmt = stmt.where(EscalationAction.assignee_id == assignee_id)
    if account_id is not None:
        stmt = stmt.where(EscalationAction.account_id == account_id)
    return stmt


def steps_of(session: Session, account_id: int) -> Any:
    """A select of an account's steps, newest first, for pagination."""
    get_account(session, account_id)
    return (
        select(EscalationStep)
        .where(EscalationStep.account_id == account_id)
        .order_by(EscalationStep.id.desc())
    )
