"""Key accounts and the people at them."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.audit.services import Audited
from monitor.db import Base, str_enum, utcnow
from monitor.i18n import Language


class AccountClass(enum.StrEnum):
    """A/B/C by yearly revenue: A is the top tier."""

    A = "A"
    B = "B"
    C = "C"


class AccountType(enum.StrEnum):
    FIRST_PURCHASE = "first_purchase"
    REPEAT = "repeat"
    GROWING = "growing"
    DECLINING = "declining"
    ONE_OFF_BULK = "one_off_bulk"
    OPINION_LEADER = "opinion_leader"
    UNSTABLE = "unstable"


class CreditRating(enum.StrEnum):
    """The overall grade finance gives after the 5C review."""

    AAA = "AAA"
    AA = "AA"
    A = "A"
    BBB = "BBB"
    BB = "BB"
    B = "B"
    CCC = "CCC"
    CC = "CC"
    C = "C"
    D = "D"


#: The five Cs of credit, each scored 1 (weak) to 5 (strong).
FIVE_CS = ("capital", "character", "capacity", "collateral", "conditions")


class ContactRole(enum.StrEnum):
    USER = "user"
    BUYER = "buyer"
    DECIDER = "decider"
    FINANCE = "finance"
    OTHER = "other"


class Attitude(enum.StrEnum):
    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    OPPONENT = "opponent"


def _score_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN 1 AND 5", name=f"{column}_1_to_5")


class Account(Audited, Base):
    __tablename__ = "accounts"
    __audit_name__ = "account"
    __table_args__ = (
        CheckConstraint("credit_limit >= 0", name="credit_limit_not_negative"),
        *(_score_check(f"credit_{c}") for c in FIVE_CS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The customer number finance and sales quote; unique, upper-case.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    #: Legal or trading name, any script (Chinese included).
    name: Mapped[str] = mapped_column(String(200), index=True)
    #: A/B/C by yearly revenue.
    account_class: Mapped[AccountClass] = mapped_column(str_enum(AccountClass, "account_class"))
    #: Where the relationship stands (first purchase, repeat, growing, ...).
    account_type: Mapped[AccountType] = mapped_column(str_enum(AccountType, "account_type"))
    #: Overall credit grade; null until finance has reviewed the account.
    credit_rating: Mapped[CreditRating | None] = mapped_column(
        str_enum(CreditRating, "credit_rating")
    )
    #: 5C view, each 1 to 5.
    credit_capital: Mapped[int | None]
    credit_character: Mapped[int | None]
    credit_capacity: Mapped[int | None]
    credit_collateral: Mapped[int | None]
    credit_conditions: Mapped[int | None]
    #: Most the account may owe at once, in its currency.
    credit_limit: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    #: ISO 4217 code of invoices and statements.
    currency: Mapped[str] = mapped_column(String(3))
    #: The account manager.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    #: IANA zone in which the account's times are shown.
    timezone: Mapped[str] = mapped_column(String(64))
    #: Inactive accounts are kept with their history but not surveyed or dunned.
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="account", order_by="Contact.id", passive_deletes=True
    )


class Contact(Audited, Base):
    __tablename__ = "contacts"
    __audit_name__ = "contact"
    __table_args__ = (
        UniqueConstraint("account_id", "email", name="uq_contacts_account_email"),
        Index("ix_contacts_account_role", "account_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    #: Full name, any script.
    name: Mapped[str] = mapped_column(String(200))
    #: Where surveys and statements go; stored lower-case.
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    #: user, buyer, decider (the three surveyed roles), finance or other.
    role: Mapped[ContactRole] = mapped_column(str_enum(ContactRole, "contact_role"))
    #: Language of the emails and survey pages sent to this person.
    language: Mapped[Language] = mapped_column(str_enum(Language, "contact_language"))
    #: Supporter, neutral or opponent of the relationship.
    attitude: Mapped[Attitude] = mapped_column(
        str_enum(Attitude, "contact_attitude"), default=Attitude.NEUTRAL
    )
    #: The contact asked not to receive surveys; honoured everywhere.
    opted_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship(back_populates="contacts")
