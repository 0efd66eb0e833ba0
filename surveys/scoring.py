"""Scoring: NPS, CSAT %, CES mean and response rates, rolled up by role, account, account class
and quarter, with the method that made each figure.

- NPS = % promoters (9-10) - % detractors (0-6) of those who answered the NPS question.
- CSAT = % of CSAT answers (1-5) that are 4 or 5.
- CES = mean of the effort answers (1-7, 7: very easy).
- Response rate = responded / invited.

Account roll-ups (an account has several respondents in up to three roles):

- ``all_responses``: every answer counted, whoever gave it.
- ``account_average``: each account's own figure (all its answers), then the mean over accounts.
- ``weighted_roles``: per account, each role's figure weighted (decider 0.4, buyer 0.3, user 0.3
  by default) over the roles that answered, weights re-normalised; then the mean over accounts.
- ``waterfall``: per account, the decider's figure if the decider answered, else the buyer's,
  else the user's; then the mean over accounts.

A figure from fewer answers (or accounts) than the configured minimum has no value and the
status ``too_few_answers``. Figures are exact fractions rounded half-up to one decimal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.accounts import services as accounts
from monitor.accounts.models import AccountClass
from monitor.db import page_of
from surveys import services
from surveys.models import Answer, Invitation, QuestionKind, SurveyCycle, SurveyResponse
from surveys.settings import ROLES, SurveySettings

METRICS = ("nps", "csat", "ces")
ACCOUNT_CLASSES = tuple(c.value for c in AccountClass)
METHODS = {
    "all_responses": "every answer counted",
    "account_average": "mean of each account's figure from all its answers",
    "weighted_roles": "mean of each account's role-weighted figure (weights re-normalised over "
    "the roles that answered)",
    "waterfall": "mean of each account's figure from its decider, else buyer, else user",
}
DEFINITIONS = {
    "nps": "% promoters (9-10) - % detractors (0-6) of NPS answers",
    "csat": "% of CSAT answers (1-5) that are 4 or 5",
    "ces": "mean effort answer (1-7, 7: very easy)",
    "response_rate": "% of invited contacts who responded",
}
_KIND = {"nps": QuestionKind.NPS, "csat": QuestionKind.CSAT, "ces": QuestionKind.CES}


def _round(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def raw_value(metric: str, scores: list[int]) -> Fraction | None:
    """The exact figure of ``scores`` (None without answers)."""
    if not scores:
        return None
    n = len(scores)
    if metric == "nps":
        promoters = sum(1 for s in scores if s >= 9)
        detractors = sum(1 for s in scores if s <= 6)
        return Fraction(100 * (promoters - detractors), n)
    if metric == "csat":
        return Fraction(100 * sum(1 for s in scores if s >= 4), n)
    return Fraction(sum(scores), n)


def figure(
    value: Fraction | None, answers: int, minimum: int, method: str, metric: str
) -> dict[str, Any]:
    """One published figure: its value (or why there is none), what it rests on, how made."""
    enough = value is not None and answers >= minimum
    return {
        "value": _round(value) if enough and value is not None else None,
        "answers": answers,
        "status": "ok" if enough else ("no_answers" if answers == 0 else "too_few_answers"),
        "method": method,
        "definition": DEFINITIONS[metric],
    }


@dataclass
class Scores:
    """Answers collected for one group (a role, an account, a class...)."""

    answers: dict[str, list[int]] = field(default_factory=lambda: {m: [] for m in METRICS})
    responded: int = 0

    def add(self, metric: str, score: int) -> None:
        self.answers[metric].append(score)

    def value(self, metric: str) -> Fraction | None:
        return raw_value(metric, self.answers[metric])

    def figures(self, minimum: int, method: str = "all_responses") -> dict[str, Any]:
        return {m: figure(self.value(m), len(self.answers[m]), minimum, method, m) for m in METRICS}


@dataclass
class _Account:
    account_class: str
    invited_roles: set[str] = field(default_factory=set)
    pooled: Scores = field(default_factory=Scores)
    by_role: dict[str, Scores] = field(default_factory=lambda: defaultdict(Scores))


def _collect(
    session: Session, cycle: SurveyCycle, only_account: int | None = None
) -> dict[int, _Account]:
    """The cycle's answers by account and role (of one account, when given)."""
    invited = select(
        Invitation.account_id, Invitation.account_class, Invitation.respondent_role
    ).where(Invitation.cycle_id == cycle.id)
    responses = SurveyResponse.cycle_id == cycle.id
    if only_account is not None:
        invited = invited.where(Invitation.account_id == only_account)
        responses = responses & (SurveyResponse.account_id == only_account)
    accounts_seen: dict[int, _Account] = {}
    for account_id, account_class, role in session.execute(invited.distinct()):
        accounts_seen.setdefault(account_id, _Account(account_class)).invited_roles.add(str(role))
    rows = session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.account_id,
            SurveyResponse.account_class,
            SurveyResponse.respondent_role,
            Answer.kind,
            Answer.score,
        )
        .outerjoin(Answer, (Answer.response_id == SurveyResponse.id) & Answer.score.is_not(None))
        .where(responses)
        .order_by(SurveyResponse.id)
    )
    counted: set[int] = set()
    metric_of = {v: k for k, v in _KIND.items()}
    for response_id, account_id, account_class, role, kind, score in rows:
        account = accounts_seen.setdefault(account_id, _Account(account_class))
        role = str(role)
        if response_id not in counted:
            counted.add(response_id)
            account.pooled.responded += 1
            account.by_role[role].responded += 1
        if kind is not None and score is not None and kind in metric_of:
            account.pooled.add(metric_of[kind], score)
            account.by_role[role].add(metric_of[kind], score)
    return accounts_seen


def _weighted(account: _Account, metric: str, settings: SurveySettings) -> Fraction | None:
    total, weights = Fraction(0), Fraction(0)
    for role in ROLES:
        scores = account.by_role.get(role)
        if scores is None or len(scores.answers[metric]) < settings.min_account_answers:
            continue
        value = scores.value(metric)
        if value is None:
            continue
        weight = Fraction(settings.role_weights[role])
        total += weight * value
        weights += weight
    return total / weights if weights else None


def _waterfall(
    account: _Account, metric: str, settings: SurveySettings
) -> tuple[Fraction | None, str | None]:
    for role in ROLES:  # decider, buyer, user
        scores = account.by_role.get(role)
        if scores is not None and len(scores.answers[metric]) >= settings.min_account_answers:
            return scores.value(metric), role
    return None, None


def account_scores(account: _Account, settings: SurveySettings) -> dict[str, Any]:
    """One account's figures by every method, and which surveyed roles did not answer."""
    minimum = settings.min_account_answers
    weighted, waterfall = {}, {}
    for m in METRICS:
        answered = sum(len(s.answers[m]) for s in account.by_role.values())
        weighted[m] = figure(
            _weighted(account, m, settings), answered, minimum, "weighted_roles", m
        )
        value, role = _waterfall(account, m, settings)
        n = len(account.by_role[role].answers[m]) if role else 0
        waterfall[m] = {**figure(value, n, minimum, "waterfall", m), "source_role": role}
    return {
        "account_class": account.account_class,
        "responded": account.pooled.responded,
        "roles_answered": [r for r in ROLES if account.by_role.get(r, Scores()).responded],
        "roles_not_answered": [r for r in ROLES if not account.by_role.get(r, Scores()).responded],
        "roles_not_invited": [r for r in ROLES if r not in account.invited_roles],
        "weights": {r: float(settings.role_weights[r]) for r in ROLES},
        "all_responses": account.pooled.figures(minimum),
        "weighted_roles": weighted,
        "waterfall": waterfall,
    }


def _mean_over_accounts(
    values: Iterable[Fraction | None], minimum: int, method: str, metric: str
) -> dict[str, Any]:
    present = [v for v in values if v is not None]
    mean = sum(present, Fraction(0)) / len(present) if present else None
    result = figure(mean, len(present), minimum, method, metric)
    result["accounts"] = result.pop("answers")
    return result


def _rate(responded: int, invited: int) -> dict[str, Any]:
    """Responded / invited: any number of invitations gives a rate (none: no rate)."""
    value = Fraction(100 * responded, invited) if invited else None
    result = figure(value, invited, 1, "all_responses", "response_rate")
    result.pop("answers")
    return {**result, "responded": responded, "invited": invited}


def _invited_counts(
    session: Session, cycle: SurveyCycle, column: Any
) -> dict[str, tuple[int, int]]:
    rows = session.execute(
        select(column, func.count(Invitation.id), func.count(Invitation.responded_at))
        .where(Invitation.cycle_id == cycle.id)
        .group_by(column)
    )
    return {str(key): (invited, responded) for key, invited, responded in rows}


def cycle_results(
    session: Session, cycle: SurveyCycle, settings: SurveySettings, with_previous: bool = True
) -> dict[str, Any]:
    """The cycle's figures overall, by role and by account class, by every roll-up method, and
    their change from the previous quarter's cycle."""
    collected = _collect(session, cycle)
    minimum = settings.min_answers
    overall, by_role, by_class = Scores(), defaultdict(Scores), defaultdict(Scores)
    for account in collected.values():
        for m in METRICS:
            overall.answers[m] += account.pooled.answers[m]
            by_class[account.account_class].answers[m] += account.pooled.answers[m]
            for role, scores in account.by_role.items():
                by_role[role].answers[m] += scores.answers[m]
        overall.responded += account.pooled.responded
    role_counts = _invited_counts(session, cycle, Invitation.respondent_role)
    class_counts = _invited_counts(session, cycle, Invitation.account_class)
    invited = sum(c[0] for c in role_counts.values())
    responded = sum(c[1] for c in role_counts.values())

    rollups: dict[str, Any] = {"all_responses": overall.figures(minimum)}
    for method, pick in (
        ("account_average", lambda a, m: a.pooled.value(m)),
        ("weighted_roles", lambda a, m: _weighted(a, m, settings)),
        ("waterfall", lambda a, m: _waterfall(a, m, settings)[0]),
    ):
        rollups[method] = {
            m: _mean_over_accounts((pick(a, m) for a in collected.values()), minimum, method, m)
            for m in METRICS
        }
    result: dict[str, Any] = {
        "quarter": cycle.quarter,
        "opens_at": cycle.opens_at,
        "closes_at": cycle.closes_at,
        "min_answers": minimum,
        "methods": METHODS,
        "response_rate": _rate(responded, invited),
        "overall": rollups,
        "by_role": {
            role: {
                "response_rate": _rate(*reversed(role_counts.get(role, (0, 0)))),
                **by_role[role].figures(minimum),
            }
            for role in ROLES
        },
        "by_account_class": {
            cls: {
                "response_rate": _rate(*reversed(class_counts.get(cls, (0, 0)))),
                **by_class[cls].figures(minimum),
            }
            for cls in ACCOUNT_CLASSES
        },
        "accounts": len(collected),
        "previous_quarter": services.previous_quarter(cycle.quarter),
        "change": None,
    }
    previous = services.find_cycle(session, result["previous_quarter"]) if with_previous else None
    if previous is not None:
        before = cycle_results(session, previous, settings, with_previous=False)
        result["change"] = _change(result, before)
    return result


def _difference(now: dict[str, Any], before: dict[str, Any]) -> Decimal | None:
    if now.get("value") is None or before.get("value") is None:
        return None
    return now["value"] - before["value"]


def _change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Quarter-over-quarter change (points) of the headline figures (every answer counted)."""
    return {
        "response_rate": _difference(now["response_rate"], before["response_rate"]),
        "overall": {
            m: _difference(
                now["overall"]["all_responses"][m], before["overall"]["all_responses"][m]
            )
            for m in METRICS
        },
        "by_role": {
            r: {m: _difference(now["by_role"][r][m], before["by_role"][r][m]) for m in METRICS}
            for r in ROLES
        },
        "by_account_class": {
            c: {
                m: _difference(now["by_account_class"][c][m], before["by_account_class"][c][m])
                for m in METRICS
            }
            for c in ACCOUNT_CLASSES
        },
    }


def account_results(
    session: Session,
    cycle: SurveyCycle,
    settings: SurveySettings,
    page: int,
    per_page: int,
    missing_role: str | None = None,
) -> dict[str, Any]:
    """A page of per-account figures of the cycle, by account id."""
    collected = _collect(session, cycle)
    ids = sorted(collected)
    items = []
    for account_id in ids:
        scores = account_scores(collected[account_id], settings)
        if missing_role is not None and missing_role not in scores["roles_not_answered"]:
            continue
        items.append((account_id, scores))
    chosen = page_of(items, page, per_page)
    labels = accounts.account_labels(session, [aid for aid, _ in chosen["items"]])
    return chosen | {
        "items": [
            {
                "account_id": aid,
                "code": labels.get(aid, ("", "", ""))[0],
                "name": labels.get(aid, ("", "", ""))[1],
                **scores,
            }
            for aid, scores in chosen["items"]
        ]
    }


def account_trend(session: Session, account_id: int, settings: SurveySettings) -> dict[str, Any]:
    """One account's figures in every cycle it was surveyed in, oldest first, with the change
    from the cycle before."""
    quarters = []
    previous: dict[str, Any] | None = None
    for cycle in reversed(services.list_cycles(session)):
        account = _collect(session, cycle, account_id).get(account_id)
        if account is None:
            continue
        invited = (
            session.scalar(
                select(func.count(Invitation.id)).where(
                    Invitation.cycle_id == cycle.id, Invitation.account_id == account_id
                )
            )
            or 0
        )
        scores = account_scores(account, settings)
        entry = {
            "quarter": cycle.quarter,
            "response_rate": _rate(account.pooled.responded, invited),
            **scores,
            "change": None,
        }
        if previous is not None:
            entry["change"] = {
                "response_rate": _difference(entry["response_rate"], previous["response_rate"]),
                **{
                    m: _difference(entry["weighted_roles"][m], previous["weighted_roles"][m])
                    for m in METRICS
                },
            }
        quarters.append(entry)
        previous = entry
    return {"account_id": account_id, "quarters": quarters}


def coverage(session: Session, cycle: SurveyCycle, page: int, per_page: int) -> dict[str, Any]:
    """Accounts of the cycle with a surveyed role missing: no (reachable) contact for it, or
    contacts who did not answer. Active accounts nobody was invited at are listed too."""
    collected = _collect(session, cycle)
    uninvited = {
        account_id: (code, name, cls)
        for account_id, code, name, cls, roles in accounts.surveyed_role_coverage(session)
        if account_id not in collected
    }
    gaps = []
    for account_id, account in sorted(collected.items()):
        no_contact = [r for r in ROLES if r not in account.invited_roles]
        not_answered = [
            r
            for r in ROLES
            if r in account.invited_roles and not account.by_role.get(r, Scores()).responded
        ]
        if no_contact or not_answered:
            gaps.append((account_id, account.account_class, no_contact, not_answered))
    for account_id, (_, _, cls) in sorted(uninvited.items()):
        gaps.append((account_id, cls, list(ROLES), []))
    gaps.sort()
    chosen = page_of(gaps, page, per_page)
    labels = accounts.account_labels(session, [g[0] for g in chosen["items"]])
    summary = {f"no_{r}": sum(1 for g in gaps if r in g[2]) for r in ROLES} | {
        f"{r}_not_answered": sum(1 for g in gaps if r in g[3]) for r in ROLES
    }
    return {
        "quarter": cycle.quarter,
        "summary": summary,
        **chosen,
        "items": [
            {
                "account_id": aid,
                "code": labels.get(aid, ("", "", ""))[0],
                "name": labels.get(aid, ("", "", ""))[1],
                "account_class": cls,
                "no_contact": no_contact,
                "not_answered": not_answered,
            }
            for aid, cls, no_contact, not_answered in chosen["items"]
        ],
    }
