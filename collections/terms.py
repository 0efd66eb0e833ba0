"""Payment terms: templates, the effective-dated terms of each account, and the schedule they give.

An invoice's schedule comes from the terms in force on its issue date: the account's terms with
the latest ``effective_from`` on or before that date, or :data:`DEFAULT_TERMS` when the account
has none yet.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.api.problems import Conflict, FieldError, NotFound
from receivables.models import AccountTerms, DueBasis, PaymentTermTemplate

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class InstalmentRule:
    """One instalment of a template: ``percent`` of the invoice due ``days`` after ``basis``."""

    percent: Decimal
    days: int
    basis: DueBasis = DueBasis.INVOICE_DATE

    def due_date(self, issue_date: date) -> date:
        start = issue_date
        if self.basis is DueBasis.MONTH_END:
            start = issue_date.replace(
                day=calendar.monthrange(issue_date.year, issue_date.month)[1]
            )
        return start + timedelta(days=self.days)


@dataclass(frozen=True)
class Terms:
    """Terms as data: the advance share due at invoicing, then the instalments."""

    advance_percent: Decimal
    instalments: tuple[InstalmentRule, ...]
    #: The stored template these come from (None for the default terms).
    template_id: int | None = None

    @classmethod
    def of(cls, template: PaymentTermTemplate) -> Terms:
        return cls(
            advance_percent=Decimal(template.advance_percent),
            instalments=tuple(
                InstalmentRule(Decimal(r["percent"]), int(r["days"]), DueBasis(r["basis"]))
                for r in template.instalments
            ),
            template_id=template.id,
        )

    def schedule(self, issue_date: date, amount: Decimal) -> list[tuple[date, Decimal]]:
        """Due dates and amounts, in due order, adding up exactly to ``amount``.

        Every share but the last is rounded down to the cent and the rounding remainder goes to
        the last, so no share is negative; shares that round to nothing are dropped.
        """
        shares: list[tuple[date, Decimal]] = []
        if self.advance_percent > 0:
            shares.append((issue_date, self.advance_percent))
        shares += [(rule.due_date(issue_date), rule.percent) for rule in self.instalments]
        shares.sort(key=lambda share: share[0])
        schedule: list[tuple[date, Decimal]] = []
        allotted = Decimal("0.00")
        for index, (due, percent) in enumerate(shares):
            if index == len(shares) - 1:
                part = amount - allotted
            else:
                part = (amount * percent / HUNDRED).quantize(CENT, rounding=ROUND_DOWN)
            allotted += part
            if part > 0:
                schedule.append((due, part))
        return schedule


#: Terms of an account that has none recorded: net 30 days from the invoice date.
DEFAULT_TERMS = Terms(Decimal("0"), (InstalmentRule(HUNDRED, 30),))


def percents_from_shares(advance_percent: Decimal, shares: list[Decimal]) -> list[Decimal]:
    """Split what the advance leaves (100 - advance) in proportion to ``shares``, to the
    hundredth of a percent, the remainder to the last: the result adds up exactly."""
    left = HUNDRED - advance_percent
    total = sum(shares, Decimal(0))
    percents = [(left * share / total).quantize(CENT, rounding=ROUND_DOWN) for share in shares]
    percents[-1] = left - sum(percents[:-1], Decimal(0))
    return percents


def check_shares(advance_percent: Decimal, instalments: list[dict[str, Any]]) -> None:
    """Refuse templates whose shares do not add up to exactly 100 %."""
    if not instalments and advance_percent != HUNDRED:
        raise FieldError("instalments", "give at least one instalment after the advance")
    total = advance_percent + sum((Decimal(str(r["percent"])) for r in instalments), Decimal(0))
    if total != HUNDRED:
        raise FieldError(
            "instalments",
            f"advance and instalment percentages add up to {total}, not 100",
            "shares_not_100",
        )


def create_template(
    session: Session,
    *,
    code: str,
    name: str,
    advance_percent: Decimal = Decimal("0"),
    instalments: list[dict[str, Any]],
) -> PaymentTermTemplate:
    """Create a terms template; the code is upper-cased and must be new."""
    code = code.upper()
    check_shares(advance_percent, instalments)
    if session.scalar(select(PaymentTermTemplate.id).where(PaymentTermTemplate.code == code)):
        raise Conflict(f"terms template {code} exists already", field="code")
    template = PaymentTermTemplate(
        code=code,
        name=name,
        advance_percent=Decimal(advance_percent).quantize(CENT),
        instalments=[
            {"percent": f"{Decimal(str(r['percent'])):.2f}", "days": r["days"], "basis": r["basis"]}
            for r in instalments
        ],
    )
    session.add(template)
    session.flush()
    return template


def get_template(session: Session, template_id: int) -> PaymentTermTemplate:
    template = session.get(PaymentTermTemplate, template_id)
    if template is None:
        raise NotFound(f"terms template {template_id}")
    return template


def list_templates(session: Session) -> list[PaymentTermTemplate]:
    return list(session.scalars(select(PaymentTermTemplate).order_by(PaymentTermTemplate.code)))


def set_account_terms(
    session: Session,
    account_id: int,
    *,
    template_id: int,
    effective_from: date,
    note: str | None = None,
) -> AccountTerms:
    """Put ``template_id`` in force for the account's invoices dated ``effective_from`` on.

    Invoices already issued keep their schedules. Terms starting on a date that already has
    terms replace them (a correction), which the audit trail records.
    """
    if session.get(PaymentTermTemplate, template_id) is None:
        raise FieldError("template_id", f"no terms template with id {template_id}", "not_found")
    terms = session.scalar(
        select(AccountTerms).where(
            AccountTerms.account_id == account_id, AccountTerms.effective_from == effective_from
        )
    )
    if terms is None:
        terms = AccountTerms(account_id=account_id, effective_from=effective_from)
        session.add(terms)
    terms.template_id = template_id
    terms.note = note
    session.flush()
    return terms


def account_terms(session: Session, account_id: int) -> list[AccountTerms]:
    """The account's terms, newest first."""
    return list(
        session.scalars(
            select(AccountTerms)
            .where(AccountTerms.account_id == account_id)
            .order_by(AccountTerms.effective_from.desc())
        )
    )


def terms_in_force(session: Session, account_id: int, on: date) -> Terms:
    """The terms deciding the schedule of an invoice of ``account_id`` dated ``on``."""
    template = session.scalar(
        select(PaymentTermTemplate)
        .join(AccountTerms, AccountTerms.template_id == PaymentTermTemplate.id)
        .where(AccountTerms.account_id == account_id, AccountTerms.effective_from <= on)
        .order_by(AccountTerms.effective_from.desc())
        .limit(1)
    )
    return DEFAULT_TERMS if template is None else Terms.of(template)


def longest_term_days(session: Session) -> int:
    """The most days any terms put between an invoice's date and an instalment's due date.

    Instalments come only from terms (:func:`receivables.ledger.create_invoice`), so an invoice
    dated on or before a day has nothing due later than that day plus this; aging uses it to
    bound the part of the ledger it reads.
    """
    longest = max(rule.due_date(date.min) - date.min for rule in DEFAULT_TERMS.instalments).days
    for template in list_templates(session):
        for rule in Terms.of(template).instalments:
            # month end + N: at most 30 days from the invoice date to the month end
            longest = max(longest, rule.days + (30 if rule.basis is DueBasis.MONTH_END else 0))
    return longest
