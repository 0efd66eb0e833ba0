"""Staff accounts, roles, passwords and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ScalarSelect, String, bindparam, cast, func, select, update
from sqlalchemy.orm import Session

from monitor.api.problems import Conflict, FieldError, NotFound
from monitor.audit.services import record_event
from monitor.db import paginate, utcnow
from monitor.staff.models import ApiToken, Principal, Role, Staff, StaffRole, StaffUser

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


def active_user_ids_column(role: Role) -> ScalarSelect[str | None]:
    """The ids of the active users holding ``role`` as one column, comma-separated in no given
    order (null for none), to read beside other columns in one statement on hot paths;
    :func:`parse_ids` reads it."""
    return (
        select(func.aggregate_strings(cast(StaffUser.id, String), ","))
        .select_from(StaffUser)
        .join(StaffRole, StaffRole.user_id == StaffUser.id)
        .where(StaffRole.role == role, StaffUser.active.is_(True))
        .scalar_subquery()
    )


def parse_ids(column: str | None) -> list[int]:
    """The ids :func:`active_user_ids_column` gave, ascending."""
    return sorted(int(part) for part in column.split(",")) if column else []


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StaffUser)) or 0


def create_token(
    session: Session, user: Staff, name: str, expires_at: datetime | None = None
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


# The token, its user and the user's roles (a row per role) in one query of plain columns:
# every request starts here. Built once: a statement object keeps its cache key, so running it
# again skips building and keying it.
_TOKEN = (
    select(
        ApiToken.id,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        StaffUser.id,
        StaffUser.email,
        StaffUser.name,
        StaffUser.active,
        StaffRole.role,
    )
    .join(StaffUser, StaffUser.id == ApiToken.user_id)
    .outerjoin(StaffRole, StaffRole.user_id == StaffUser.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def authenticate_token(session: Session, plain: str) -> Principal | None:
    """Whom an active token of an active user acts for, or None; records the token's last use
    (at most once a minute)."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    # On the session's connection: plain rows, without the ORM's execution machinery.
    rows = session.connection().execute(_TOKEN, {"token_hash": _hash_token(plain)}).all()
    if not rows:
        return None
    token_id, revoked_at, expires_at, last_used_at, user_id, email, name, active, _ = rows[0]
    now = utcnow()
    if revoked_at is not None or not active or (expires_at is not None and expires_at <= now):
        return None
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    roles = sorted(row.role.value for row in rows if row.role is not None)
    return Principal(id=user_id, email=email, name=name, roles=roles)


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
