"""HTTP API of staff users and personal API tokens."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from monitor.api.problems import NotFound, Problem
from monitor.api.schemas import Page
from monitor.api.spec import operation
from monitor.audit.schemas import History
from monitor.audit.services import entity_history
from monitor.auth import current_user, request_session
from monitor.ratelimit import RateLimiter
from monitor.staff import services
from monitor.staff.schemas import (
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserOut,
    UserQuery,
    UserUpdate,
)

bp = Blueprint("staff", __name__, url_prefix="/api/v1")

#: Password attempts allowed (count, window in seconds): per client address, and per email so
#: that guesses spread over many addresses still stop.
LOGIN_PER_ADDRESS = (20, 60)
LOGIN_PER_EMAIL = (10, 900)


def _login_limiters() -> tuple[RateLimiter, RateLimiter]:
    return current_app.extensions.setdefault(  # type: ignore[no-any-return]
        "staff.login_limiters",
        (
            RateLimiter("login-address", *LOGIN_PER_ADDRESS),
            RateLimiter("login-email", *LOGIN_PER_EMAIL),
        ),
    )


@operation(
    bp,
    "/auth/token",
    "POST",
    summary="Exchange email and password for an API token",
    body=TokenRequest,
    response=TokenCreated,
    status=201,
    errors=(401, 429),
)
def issue_token(body: TokenRequest) -> dict:
    """For staff who have a password; the token is shown once. At most 20 attempts a minute
    from one address and 10 per quarter hour for one email, then 429 with `Retry-After`."""
    by_address, by_email = _login_limiters()
    by_address.check(request.remote_addr or "unknown")
    by_email.check(body.email)
    session = request_session()
    user = services.find_user_by_email(session, body.email)
    if user is None or not user.active or not services.check_password(user, body.password):
        raise Problem(401, "Unauthorized", "Unknown email or wrong password.")
    token, plain = services.create_token(session, user, body.name)
    return _created(token, plain)


@operation(bp, "/me", "GET", summary="Who am I", response=UserOut)
def me() -> object:
    return services.get_user(request_session(), current_user().id)


@operation(bp, "/me/tokens", "GET", summary="My API tokens", response=TokenList)
def list_my_tokens() -> dict:
    return {"items": services.list_tokens(request_session(), current_user().id)}


@operation(
    bp,
    "/me/tokens",
    "POST",
    summary="Create an API token",
    body=TokenCreate,
    response=TokenCreated,
    status=201,
)
def create_my_token(body: TokenCreate) -> dict:
    token, plain = services.create_token(
        request_session(), current_user(), body.name, body.expires_at
    )
    return _created(token, plain)


@operation(
    bp,
    "/me/tokens/<id:token_id>",
    "DELETE",
    summary="Revoke one of my API tokens",
    response=TokenOut,
)
def revoke_my_token(token_id: int) -> object:
    session = request_session()
    token = services.get_token(session, token_id)
    if token.user_id != current_user().id:
        raise NotFound(f"token {token_id}")
    return services.revoke_token(session, token)


@operation(bp, "/users", "GET", summary="List staff users", query=UserQuery, response=Page[UserOut])
def list_users(query: UserQuery) -> dict:
    return services.list_users(request_session(), **query.model_dump(exclude_none=True))


@operation(
    bp,
    "/users",
    "POST",
    summary="Create a staff user",
    body=UserCreate,
    response=UserOut,
    status=201,
    errors=(409,),
)
def create_user(body: UserCreate) -> object:
    return services.create_user(request_session(), **body.model_dump())


@operation(bp, "/users/<id:user_id>", "GET", summary="Read a staff user", response=UserOut)
def get_user(user_id: int) -> object:
    return services.get_user(request_session(), user_id)


@operation(
    bp,
    "/users/<id:user_id>",
    "PATCH",
    summary="Change a staff user",
    body=UserUpdate,
    response=UserOut,
)
def update_user(user_id: int, body: UserUpdate) -> object:
    """Deactivating a user stops all of their tokens from working."""
    session = request_session()
    user = services.get_user(session, user_id)
    changes = body.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    if password is not None:
        services.set_password(session, user, password)
    return services.update_user(session, user, **changes)


@operation(
    bp,
    "/users/<id:user_id>/history",
    "GET",
    summary="A staff user's audit trail",
    response=History,
)
def user_history(user_id: int) -> dict:
    session = request_session()
    services.get_user(session, user_id)
    return entity_history(session, "staff_user", user_id)


def _created(token: object, plain: str) -> dict:
    return {**TokenOut.model_validate(token).model_dump(), "token": plain}
