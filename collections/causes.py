"""Causes of overdue debt: finance tags accounts, and the breakdown shows where money is stuck.

The breakdown counts only accounts overdue on the as-of date. An account tagged with several
causes counts under each of them, so the causes' rows may add up to more than the total, which
is given separately (``total`` rows, and ``untagged`` for overdue accounts with no cause yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from monitor.accounts.services import get_account, register_account_dependent
from monitor.api.problems import FieldError
from monitor.audit.context import current_actor
from receivables.escalation_models import OverdueCause, OverdueCauseTag
from receivables.ledger import ZERO


def _causes_of(session: Session, account_id: int) -> str | None:
    found = session.scalar(select(exists().where(OverdueCauseTag.account_id == account_id)))
    return "overdue causes" if found else None


register_account_dependent(_causes_of)


def causes_of(session: Session, account_id: int) -> list[OverdueCauseTag]:
    get_account(session, account_id)
    return list(
        session.scalars(
            select(OverdueCauseTag)
            .where(OverdueCauseTag.account_id == account_id)
            .order_by(OverdueCauseTag.cause)
        )
    )


def set_causes(
    session: Session, account_id: int, causes: Sequence[tuple[OverdueCause | str, str | None]]
) -> list[OverdueCauseTag]:
    """Make the account's causes exactly ``causes`` ((cause, note) pairs); an empty list clears
    them. Causes kept keep their tagging date; a changed note is recorded in the audit trail."""
    wanted: dict[OverdueCause, str | None] = {}
    for index, (cause, note) in enumerate(causes):
        cause = OverdueCause(cause)
        if cause in wanted:
            raise FieldError(f"causes.{index}.cause", f"{cause.value} is given twice", "duplicate")
        wanted[cause] = note
    current = {tag.cause: tag for tag in causes_of(session, account_id)}
    for cause, tag in current.items():
        if cause not in wanted:
            session.delete(tag)
    for cause, note in wanted.items():
        tag = current.get(cause)
        if tag is None:
            session.add(
                OverdueCauseTag(
                    account_id=account_id, cause=cause, note=note, tagged_by=current_actor().label
                )
            )
        elif tag.note != note:
            tag.note = note
    session.flush()
    return causes_of(session, account_id)


@dataclass(frozen=True)
class CauseRow:
    #: A cause, ``untagged`` or ``total``.
    cause: str
    currency: str
    accounts: int
    overdue_amount: Decimal
    open_amount: Decimal


def breakdown(session: Session, as_of: date) -> list[CauseRow]:
    """Overdue accounts and amounts by cause and currency on ``as_of`` (see the module doc)."""
    from receivables.aging import overdue_accounts

    overdue = overdue_accounts(session, as_of)
    ids = [row.account_id for row in overdue]
    tags: dict[int, list[str]] = {}
    if ids:
        stmt = select(OverdueCauseTag.account_id, OverdueCauseTag.cause).where(
            OverdueCauseTag.account_id.in_(ids)
        )
        for account_id, cause in session.execute(stmt):
            tags.setdefault(account_id, []).append(OverdueCause(cause).value)
    sums: dict[tuple[str, str], list] = {}
    for row in overdue:
        for cause in [*tags.get(row.account_id, ["untagged"]), "total"]:
            entry = sums.setdefault((cause, row.currency), [0, ZERO, ZERO])
            entry[0] += 1
            entry[1] += row.overdue_amount
            entry[2] += row.open_amount
    order = {cause.value: i for i, cause in enumerate(OverdueCause)} | {
        "untagged": len(OverdueCause),
        "total": len(OverdueCause) + 1,
    }
    return [
        CauseRow(cause, currency, n, overdue_amount, open_amount)
        for (cause, currency), (n, overdue_amount, open_amount) in sorted(
            sums.items(), key=lambda item: (order[item[0][0]], item[0][1])
        )
    ]
