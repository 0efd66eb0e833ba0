"""The request boundary: the database session, who is calling, and whether they may.

Every request gets at most one session, committed when the response is a success and rolled
back otherwise. Authorisation is decided from the policy table (:mod:`monitor.policy`) before
the view runs, so a view cannot forget it and an unknown endpoint is refused by default.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.api.problems import Problem, concurrent_change, problem_response
from monitor.audit.context import Actor, set_actor
from monitor.jobs import database
from monitor.policy import POLICY, PUBLIC
from monitor.staff.models import Principal
from monitor.staff.services import authenticate_token


def request_session() -> Session:
    """This request's session (created on first use)."""
    if "db_session" not in g:
        g.db_session = database().session()
    return g.db_session


def current_user() -> Principal:
    """Whom the request acts for (views behind a non-public policy always have one)."""
    return g.staff_user


def has_role(*roles: str) -> bool:
    user = g.get("staff_user")
    return user is not None and bool(set(user.roles) & set(roles))


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="monitor"'}
    )


def _authorise() -> None:
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let the 404/405 handler answer
        return
    allowed = POLICY.get(endpoint)
    if allowed is PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send a personal API token as 'Authorization: Bearer <token>'.")
    user = authenticate_token(request_session(), token.strip())
    if user is None:
        raise _unauthorized("The token is unknown, revoked or expired, or its user is inactive.")
    g.staff_user = user
    set_actor(Actor("staff", user.email, user.id))
    if allowed is None or not set(user.roles) & allowed:
        # No declared policy means nobody: a forgotten entry fails closed.
        raise Problem(403, "Forbidden", f"Your roles ({', '.join(user.roles)}) may not do this.")


def _finish(response: Response) -> Response:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    except IntegrityError:
        session.rollback()
        current_app.logger.warning("integrity error at commit", exc_info=True)
        response = problem_response(concurrent_change())
    finally:
        session.close()
    return response


def _teardown(_exc: BaseException | None) -> None:
    # after_request does not run when a view raises past the error handlers
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    app.before_request(_authorise)
    app.after_request(_finish)
    app.teardown_request(_teardown)
