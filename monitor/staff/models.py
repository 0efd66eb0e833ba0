"""Staff users, roles and API tokens."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.audit.services import Audited
from monitor.db import Base, str_enum, utcnow


class Role(enum.StrEnum):
    """What a staff member does; a user may hold several."""

    AGENT = "agent"
    FINANCE = "finance"
    MANAGER = "manager"
    EXECUTIVE = "executive"
    ADMIN = "admin"


class StaffUser(Audited, Base):
    __tablename__ = "staff_users"
    __audit_name__ = "staff_user"
    __audit_exclude__ = frozenset({"password_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login and address for notifications; stored lower-case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: Display name, any script.
    name: Mapped[str] = mapped_column(String(200))
    #: argon2id hash; null for users who only use tokens.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: Inactive users cannot authenticate and get no work assigned.
    active: Mapped[bool] = mapped_column(default=True)
    #: IANA zone used to show times to this user.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: ``en`` or ``zh``.
    language: Mapped[str] = mapped_column(String(2), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    role_rows: Mapped[list[StaffRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> list[str]:
        return sorted(r.role.value for r in self.role_rows)


@dataclass(frozen=True)
class Principal:
    """Whom a request acts for: the token's user as plain values, read with the token in one
    query of columns (every request starts there; loading the token, the user and the roles as
    ORM objects cost about half a millisecond more).

    Whoever decides what a person may see or do reads ``id``, ``email`` and ``roles``, which a
    :class:`StaffUser` has as well."""

    id: int
    email: str
    name: str
    #: Sorted, as :attr:`StaffUser.roles`.
    roles: list[str]


#: A person asking: a request's principal, or a user loaded (background work reads as one).
Staff: TypeAlias = "Principal | StaffUser"


class StaffRole(Base):
    __tablename__ = "staff_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    #: One of :class:`Role`.
    role: Mapped[Role] = mapped_column(str_enum(Role, "staff_role"), primary_key=True)

    user: Mapped[StaffUser] = relationship(back_populates="role_rows")


class ApiToken(Audited, Base):
    __tablename__ = "api_tokens"
    __audit_name__ = "api_token"
    __audit_exclude__ = frozenset({"token_hash", "last_used_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    #: What the owner calls it ("laptop", "reporting script").
    name: Mapped[str] = mapped_column(String(100))
    #: The first characters of the token, shown so the owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 of the whole token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Last authenticated use, updated at most once a minute.
    last_used_at: Mapped[datetime | None]
    #: Optional end of validity.
    expires_at: Mapped[datetime | None]
    #: Set when revoked; a revoked token never authenticates again.
    revoked_at: Mapped[datetime | None]

    user: Mapped[StaffUser] = relationship(lazy="joined")
