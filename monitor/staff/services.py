"""Staff accounts, roles, passwords and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from monitor.api.problems import Conflict, FieldError, NotFound
from monitor.audit.services import record_event
from monitor.db import paginate, utcnow
from monitor.staff.models import ApiToken, Role, StaffRole, StaffUser

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
TOKEN_PREFIX = "mon_"
MIN_PASSWORD_LENGTH = 12
#: Writing ``last_used_at`` on every call would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def get_user(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound(f"staff user {user_id}")
    return user


def find_user(session: Session, user_id: int | None) -> StaffUser | None:
    """The staff user with this id (active or not), or None, also for no id: other packages
    turn that into their own field error or leave the person out."""
    return session.get(StaffUser, user_id) if user_id is not None else None


def users_by_id(session: Session, user_ids: Iterable[int | None]) -> dict[int, StaffUser]:
    """The staff users among ``user_ids`` (active or not) by id, in one query; unknown ids and
    None are left out."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    stmt = select(StaffUser).where(StaffUser.id.in_(wanted))
    return {user.id: user for user in session.scalars(stmt)}


def unsaved_user(role: Role, email: str, name: str) -> StaffUser:
    """A user holding only ``role`` that is never stored: whom background readers (the reports)
    read a role's view as."""
    return StaffUser(email=email, name=name, role_rows=[StaffRole(role=role)])


def find_user_by_email(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))


def create_user(
    session: Session,
    email: str,
    name: str,
    roles: Iterable[Role | str],
    password: str | None = None,
    timezone: str = "UTC",
    language: str = "en",
) -> StaffUser:
    """Create a staff user; the email must be new."""
    email = email.strip().lower()
    if find_user_by_email(session, email) is not None:
        raise Conflict(f"a staff user with email {email} exists", field="email")
    user = StaffUser(email=email, name=name, timezone=timezone, language=language, active=True)
    if password is not None:
        user.password_hash = _password_hash(password)
    user.role_rows = [StaffRole(role=Role(r)) for r in sorted(set(roles))]
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: StaffUser,
    *,
    name: str | None = None,
    roles: Iterable[Role | str] | None = None,
    active: bool | None = None,
    timezone: str | None = None,
    language: str | None = None,
) -> StaffUser:
    """Change a staff user's details; role changes are recorded in the user's history."""
    if name is not None:
        user.name = name
    if active is not None:
        user.active = active
    if timezone is not None:
        user.timezone = timezone
    if language is not None:
        user.language = language
    if roles is not None:
        wanted = {Role(r) for r in roles}
        if not wanted:
            raise FieldError("roles", "a staff user needs at least one role")
        before = user.roles
        user.role_rows = [r for r in user.role_rows if r.role in wanted] + [
            StaffRole(role=r) for r in sorted(wanted - {row.role for row in user.role_rows})
        ]
        after = sorted(r.value for r in wanted)
        if before != after:
            record_event(session, "staff_user", user.id, "update", {"roles": [before, after]})
    session.flush()
    return user


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def set_password(session: Session, user: StaffUser, password: str) -> None:
    user.password_hash = _password_hash(password)
    session.flush()


def check_password(user: StaffUser, password: str) -> bool:
    """True when ``password`` is the user's; rehashes nothing (the caller may)."""
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def list_users(
    session: Session,
    *,
    page: int,
    per_page: int,
    role: Role | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    """Staff users by id, optionally only those holding ``role`` or of one active state."""
    stmt = select(StaffUser).order_by(StaffUser.id)
    if role is not None:
        stmt = stmt.where(StaffUser.role_rows.any(StaffRole.role == role))
    if active is not None:
        stmt = stmt.where(StaffUser.active == active)
    return paginate(session, stmt, page, per_page)


def active_user_ids(session: Session, role: Role) -> list[int]:
    """Ids of the active users holding ``role``, ascending (one query: used on hot paths)."""
    stmt = (
        select(StaffUser.id)
        .join(StaffRole, StaffRole.user_id == StaffUser.id)
        .where(StaffRole.role == role, StaffUser.active.is_(True))
        .order_by(StaffUser.id)
    )
    return list(session.scalars(stmt))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StaffUser)) or 0


def create_token(
    session: Session, user: StaffUser, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Issue a personal API token; the plain token is returned here and never again."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plain[: len(TOKEN_PREFIX) + 6],
        token_hash=_hash_token(plain),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, plain


def authenticate_token(session: Session, plain: str) -> StaffUser | None:
    """The active user a token belongs to, or None; records the token's last use."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    # The token, its user and the user's roles in one query: every request starts here.
    token = (
        session.execute(
            select(ApiToken)
            .where(ApiToken.token_hash == _hash_token(plain))
            .options(joinedload(ApiToken.user).joinedload(StaffUser.role_rows))
        )
        .unique()
        .scalar_one_or_none()
    )
    now = utcnow()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token.user


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    )


def get_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id}")
    return token


def revoke_token(session: Session, token: ApiToken) -> ApiToken:
    """Revoke a token for good; revoking twice keeps the first time."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token
