"""Request and response shapes of staff users and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from monitor.api.schemas import (
    Email,
    Input,
    Output,
    PageQuery,
    TimeZone,
    omittable,
    omittable_text,
    text,
)
from monitor.i18n import Language
from monitor.staff.models import Role
from monitor.staff.services import MIN_PASSWORD_LENGTH


class TokenRequest(Input):
    email: Email
    password: str = Field(min_length=1, max_length=1024)
    name: str = text(100, description="What the token is for, e.g. 'laptop'.")


class TokenCreate(Input):
    name: str = text(100)
    expires_at: datetime | None = Field(default=None, description="Optional end of validity.")


class TokenOut(Output):
    id: int
    name: str
    prefix: str = Field(description="First characters of the token, to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself. Shown this once; store it now.")


class TokenList(Output):
    items: list[TokenOut]


class UserOut(Output):
    id: int
    email: str
    name: str
    roles: list[Role]
    active: bool
    timezone: str
    language: Language
    created_at: datetime


class UserCreate(Input):
    email: Email
    name: str = text(200)
    roles: list[Role] = Field(min_length=1, max_length=5)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    timezone: TimeZone = "UTC"
    language: Language = Language.EN


class UserUpdate(Input):
    name: str = omittable_text(200)
    roles: list[Role] = omittable(min_length=1, max_length=5)
    active: bool = omittable()
    timezone: TimeZone = omittable()
    language: Language = omittable()
    password: str = omittable(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class UserQuery(PageQuery):
    role: Role = omittable()
    active: bool = omittable()
