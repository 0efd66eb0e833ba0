"""Key accounts and contacts: create, change, find, and the rule about deleting."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, Select, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from monitor.accounts.models import Account, AccountClass, AccountType, Contact, ContactRole
from monitor.api.problems import Conflict, FieldError, NotFound
from monitor.db import paginate
from monitor.staff.models import StaffUser

#: Checks other packages register: does anything of theirs refer to this account?
#: Each takes (session, account_id) and returns a short description, or None.
_account_dependents: list[Callable[[Session, int], str | None]] = []


def register_account_dependent(check: Callable[[Session, int], str | None]) -> None:
    """Let another package veto deleting an account that its rows refer to."""
    _account_dependents.append(check)


def _contacts_of(session: Session, account_id: int) -> str | None:
    found = session.scalar(select(exists().where(Contact.account_id == account_id)))
    return "contacts" if found else None


register_account_dependent(_contacts_of)


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is None:
        return
    owner = session.get(StaffUser, owner_id)
    if owner is None or not owner.active:
        raise FieldError("owner_id", f"no active staff user with id {owner_id}", "not_found")


def _check_code_free(session: Session, code: str, account_id: int | None = None) -> None:
    stmt = select(Account.id).where(Account.code == code)
    if account_id is not None:
        stmt = stmt.where(Account.id != account_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"account code {code} is already used", field="code")


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id}")
    return account


def create_account(session: Session, **fields: Any) -> Account:
    """Create an account; the code is upper-cased and must be new."""
    fields["code"] = fields["code"].upper()
    _check_code_free(session, fields["code"])
    _check_owner(session, fields.get("owner_id"))
    account = Account(**fields)
    session.add(account)
    session.flush()
    return account


def update_account(session: Session, account: Account, **changes: Any) -> Account:
    """Apply the given fields; an unchanged value records nothing."""
    if "code" in changes:
        changes["code"] = changes["code"].upper()
        _check_code_free(session, changes["code"], account.id)
    if "owner_id" in changes:
        _check_owner(session, changes["owner_id"])
    for key, value in changes.items():
        setattr(account, key, value)
    session.flush()
    return account


def delete_account(session: Session, account: Account) -> None:
    """Delete an account that nothing refers to yet (one created by mistake).

    An account with contacts, invoices, complaints or survey history is kept for the record:
    deactivate it instead.
    """
    reasons = [r for check in _account_dependents if (r := check(session, account.id))]
    if reasons:
        raise Conflict(
            f"account {account.code} has {', '.join(reasons)}; deactivate it instead "
            '(PATCH {"active": false})'
        )
    session.delete(account)
    session.flush()


def list_accounts(
    session: Session,
    *,
    page: int,
    per_page: int,
    q: str | None = None,
    account_class: AccountClass | None = None,
    account_type: AccountType | None = None,
    active: bool | None = None,
    owner_id: int | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """Accounts matching every given filter, by code; ``q`` searches code and name."""
    stmt = select(Account).order_by(Account.code)
    if q:
        needle = q.lower()
        stmt = stmt.where(
            or_(
                func.lower(Account.code).contains(needle), func.lower(Account.name).contains(needle)
            )
        )
    if account_class is not None:
        stmt = stmt.where(Account.account_class == account_class)
    if account_type is not None:
        stmt = stmt.where(Account.account_type == account_type)
    if active is not None:
        stmt = stmt.where(Account.active == active)
    if owner_id is not None:
        stmt = stmt.where(Account.owner_id == owner_id)
    if currency is not None:
        stmt = stmt.where(Account.currency == currency)
    return paginate(session, stmt, page, per_page)


def get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id}")
    return contact


def _check_email_free(
    session: Session, account_id: int, email: str, contact_id: int | None = None
) -> None:
    stmt = select(Contact.id).where(Contact.account_id == account_id, Contact.email == email)
    if contact_id is not None:
        stmt = stmt.where(Contact.id != contact_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"the account already has a contact with email {email}", field="email")


def create_contact(session: Session, account: Account, **fields: Any) -> Contact:
    """Add a person at an account; one contact per email address per account."""
    fields["email"] = fields["email"].lower()
    _check_email_free(session, account.id, fields["email"])
    contact = Contact(account_id=account.id, **fields)
    session.add(contact)
    session.flush()
    return contact


def update_contact(session: Session, contact: Contact, **changes: Any) -> Contact:
    if "email" in changes:
        changes["email"] = changes["email"].lower()
        _check_email_free(session, contact.account_id, changes["email"], contact.id)
    for key, value in changes.items():
        setattr(contact, key, value)
    session.flush()
    return contact


def delete_contact(session: Session, contact: Contact) -> None:
    session.delete(contact)
    session.flush()


def list_contacts(
    session: Session,
    *,
    page: int,
    per_page: int,
    account_id: int | None = None,
    q: str | None = None,
    role: ContactRole | None = None,
    language: str | None = None,
    opted_out: bool | None = None,
) -> dict[str, Any]:
    """Contacts matching every given filter; ``q`` searches name and email."""
    stmt = select(Contact).order_by(Contact.account_id, Contact.id)
    if account_id is not None:
        stmt = stmt.where(Contact.account_id == account_id)
    if q:
        needle = q.lower()
        stmt = stmt.where(
            or_(func.lower(Contact.name).contains(needle), Contact.email.contains(needle))
        )
    if role is not None:
        stmt = stmt.where(Contact.role == role)
    if language is not None:
        stmt = stmt.where(Contact.language == language)
    if opted_out is not None:
        stmt = stmt.where(Contact.opted_out == opted_out)
    return paginate(session, stmt, page, per_page)


# --- for complaints -----------------------------------------------------------------------------


def owned_account_ids(owner_id: int | BindParameter[int]) -> Select[tuple[int]]:
    """A subquery of the ids of the accounts ``owner_id`` manages, for filtering other lists."""
    return select(Account.id).where(Account.owner_id == owner_id)


# --- for receivables (read-only views of accounts and contacts that collections need) ----------


def find_account(session: Session, account_id: int) -> Account | None:
    """The account with this id, or None (receivables turns that into a field error)."""
    return session.get(Account, account_id)


def inactive_account_ids(session: Session) -> set[int]:
    """Ids of the accounts marked inactive (kept with their history, no longer worked)."""
    return set(session.scalars(select(Account.id).where(Account.active.is_(False))))


class AccountBrief(NamedTuple):
    """What other packages show of an account next to their figures and messages."""

    id: int
    code: str
    name: str
    currency: str
    account_class: AccountClass
    owner_id: int | None
    credit_limit: Decimal
    active: bool
    #: IANA zone in which the account's people read times.
    timezone: str


# Built once, for the hot paths (the complaint intake): a statement object keeps its cache key,
# so running it again skips building and keying it.
_BRIEF_COLUMNS = [getattr(Account, name) for name in AccountBrief._fields]
_BRIEF = select(*_BRIEF_COLUMNS).where(Account.id == bindparam("id"))


def find_brief(session: Session, account_id: int) -> AccountBrief | None:
    """The brief of the account with this id, or None, in one query of plain columns."""
    # On the session's connection: a plain row, without the ORM's execution machinery.
    row = session.connection().execute(_BRIEF, {"id": account_id}).first()
    return AccountBrief(*row) if row is not None else None


def account_briefs(
    session: Session,
    *,
    ids: Collection[int] | None = None,
    account_class: AccountClass | None = None,
    owner_id: int | None = None,
) -> list[AccountBrief]:
    """Accounts among ``ids`` (all when None) matching the filters, ordered by code."""
    stmt = select(*_BRIEF_COLUMNS).order_by(Account.code)
    if ids is not None:
        stmt = stmt.where(Account.id.in_(list(ids)))
    if account_class is not None:
        stmt = stmt.where(Account.account_class == account_class)
    if owner_id is not None:
        stmt = stmt.where(Account.owner_id == owner_id)
    return [AccountBrief(*row) for row in session.execute(stmt)]


def contacts_with_roles(
    session: Session, account_id: int, roles: Collection[ContactRole]
) -> list[Contact]:
    """The account's contacts holding one of ``roles``, by id (statements go to buyers and
    finance contacts; the survey opt-out does not cover them)."""
    stmt = (
        select(Contact)
        .where(Contact.account_id == account_id, Contact.role.in_(list(roles)))
        .order_by(Contact.id)
    )
    return list(session.scalars(stmt))


def account_ids_by_code(session: Session, codes: Collection[str]) -> dict[str, int]:
    """Upper-case code → id of the accounts among ``codes`` (compared upper-case)."""
    wanted = sorted({code.upper() for code in codes})
    if not wanted:
        return {}
    rows = session.execute(select(Account.code, Account.id).where(Account.code.in_(wanted)))
    return {row[0]: row[1] for row in rows}


# --- for surveys (who is invited, opt-outs) ------------------------------------------------------


#: Contact roles that answer the quarterly survey.
SURVEYED_ROLES = (ContactRole.USER, ContactRole.BUYER, ContactRole.DECIDER)


@dataclass(frozen=True)
class SurveyContact:
    """What surveys need to invite one person (a snapshot: the survey keeps it as sent)."""

    contact_id: int
    account_id: int
    account_class: str
    role: str
    language: str
    email: str
    name: str
    opted_out: bool


def _surveyable(*columns: Any) -> Select[Any]:
    """``columns`` of the users, buyers and deciders of active accounts."""
    return (
        select(*columns)
        .join(Account, Account.id == Contact.account_id)
        .where(Account.active.is_(True), Contact.role.in_(SURVEYED_ROLES))
    )


def survey_contacts(session: Session, first_id: int, last_id: int) -> list[SurveyContact]:
    """Users, buyers and deciders of active accounts (opted-out ones flagged) whose contact id
    is from ``first_id`` to ``last_id``, by id."""
    stmt = (
        _surveyable(
            Contact.id,
            Contact.account_id,
            Account.account_class,
            Contact.role,
            Contact.language,
            Contact.email,
            Contact.name,
            Contact.opted_out,
        )
        .where(Contact.id.between(first_id, last_id))
        .order_by(Contact.id)
    )
    return [
        SurveyContact(
            contact_id=row[0],
            account_id=row[1],
            account_class=str(row[2]),
            role=str(row[3]),
            language=str(row[4]),
            email=row[5],
            name=row[6],
            opted_out=row[7],
        )
        for row in session.execute(stmt)
    ]


def survey_contact_ids(session: Session) -> list[tuple[int, bool]]:
    """(contact id, opted out) of every user, buyer and decider of an active account, by id."""
    stmt = _surveyable(Contact.id, Contact.opted_out).order_by(Contact.id)
    return [(row[0], row[1]) for row in session.execute(stmt)]


def reachable_contact_names(session: Session, contact_ids: list[int]) -> dict[int, str]:
    """The names of those of ``contact_ids`` that may still be surveyed: not opted out, not
    deleted, at an active account (one query for a batch of reminders)."""
    rows = session.execute(
        select(Contact.id, Contact.name)
        .join(Account, Account.id == Contact.account_id)
        .where(
            Contact.id.in_(contact_ids),
            Contact.opted_out.is_(False),
            Account.active.is_(True),
        )
    )
    return {contact_id: name for contact_id, name in rows}


def opt_out_contact(session: Session, contact_id: int) -> bool:
    """Record that the contact wants no more surveys; False when they had opted out already."""
    contact = get_contact(session, contact_id)
    if contact.opted_out:
        return False
    contact.opted_out = True
    session.flush()
    return True


def surveyed_role_coverage(session: Session) -> list[tuple[int, str, str, str, set[str]]]:
    """(account id, code, name, class, surveyed roles it has a reachable contact for) of every
    active account."""
    accounts = {
        row[0]: (row[0], row[1], row[2], str(row[3]), set[str]())
        for row in session.execute(
            select(Account.id, Account.code, Account.name, Account.account_class)
            .where(Account.active.is_(True))
            .order_by(Account.code)
        )
    }
    reachable = select(Contact.account_id, Contact.role).where(
        Contact.role.in_(SURVEYED_ROLES), Contact.opted_out.is_(False)
    )
    for account_id, role in session.execute(reachable.distinct()):
        if account_id in accounts:
            accounts[account_id][4].add(str(role))
    return list(accounts.values())


def account_labels(session: Session, account_ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """(code, name, class) of each of ``account_ids`` that exists."""
    return {
        brief.id: (brief.code, brief.name, str(brief.account_class))
        for brief in account_briefs(session, ids=account_ids)
    }
