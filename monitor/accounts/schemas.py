"""Request and response shapes of the accounts API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from monitor.accounts.models import AccountClass, AccountType, Attitude, ContactRole, CreditRating
from monitor.api.schemas import (
    MAX_ID,
    Currency,
    Email,
    Id,
    Input,
    NonNegativeMoney,
    Output,
    PageQuery,
    TimeZone,
    integer,
    omittable,
    omittable_text,
    text,
)
from monitor.i18n import Language

AccountCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$",
        description="Customer number: letters, digits, '_', '.', '-'; stored upper-case.",
    ),
]
Score = integer(1, 5)
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ()\-]{1,37}[0-9)]$")]


class _Clearable(Input):
    """The fields that may be null: the credit review (grade, 5C scores) and the owner."""

    credit_rating: CreditRating | None = None
    credit_capital: Score | None = None
    credit_character: Score | None = None
    credit_capacity: Score | None = None
    credit_collateral: Score | None = None
    credit_conditions: Score | None = None
    owner_id: Id | None = Field(default=None, description="Account manager (staff user).")


class AccountCreate(_Clearable):
    code: AccountCode
    name: str = text(200, description="Any script, Chinese included.")
    account_class: AccountClass
    account_type: AccountType
    currency: Currency
    timezone: TimeZone
    credit_limit: NonNegativeMoney = Decimal("0.00")
    active: bool = True


class AccountUpdate(_Clearable):
    """Only the fields given change; nullable fields may be cleared with null."""

    code: AccountCode = omittable()
    name: str = omittable_text(200)
    account_class: AccountClass = omittable()
    account_type: AccountType = omittable()
    currency: Currency = omittable()
    timezone: TimeZone = omittable()
    credit_limit: NonNegativeMoney = omittable()
    active: bool = omittable()


class AccountOut(Output):
    id: int
    code: str
    name: str
    account_class: AccountClass
    account_type: AccountType
    currency: str
    timezone: str
    credit_limit: Decimal
    credit_rating: CreditRating | None
    credit_capital: int | None
    credit_character: int | None
    credit_capacity: int | None
    credit_collateral: int | None
    credit_conditions: int | None
    owner_id: int | None
    active: bool
    created_at: datetime
    updated_at: datetime


class AccountQuery(PageQuery):
    q: str = omittable_text(100, description="Search in code and name.")
    account_class: AccountClass = omittable()
    account_type: AccountType = omittable()
    active: bool = omittable()
    owner_id: int = omittable(ge=1, le=MAX_ID)
    currency: Currency = omittable()


class ContactCreate(Input):
    name: str = text(200)
    email: Email
    phone: Phone | None = None
    role: ContactRole
    language: Language
    attitude: Attitude = Attitude.NEUTRAL
    opted_out: bool = False


class ContactUpdate(Input):
    name: str = omittable_text(200)
    email: Email = omittable()
    phone: Phone | None = None
    role: ContactRole = omittable()
    language: Language = omittable()
    attitude: Attitude = omittable()
    opted_out: bool = omittable()


class ContactOut(Output):
    id: int
    account_id: int
    name: str
    email: str
    phone: str | None
    role: ContactRole
    language: Language
    attitude: Attitude
    opted_out: bool
    created_at: datetime
    updated_at: datetime


class ContactQuery(PageQuery):
    q: str = omittable_text(100, description="Search in name and email.")
    account_id: int = omittable(ge=1, le=MAX_ID)
    role: ContactRole = omittable()
    language: Language = omittable()
    opted_out: bool = omittable()
