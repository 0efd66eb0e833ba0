"""RFC 9457 problem details: the one error format of everything under ``/api``."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, json, request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error a client can act on, answered as ``application/problem+json``.

    ``errors`` lists the offending fields as ``{"field", "message", "type"}``.
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if request:
            body["instance"] = request.path
        if self.errors:
            body["errors"] = self.errors
        return body


class FieldError(Problem):
    """One field's value is well-formed but not acceptable (422); ``location`` is where the
    field was (``body``, ``query``), when the caller knows."""

    def __init__(
        self, field: str, message: str, type_: str = "invalid", location: str | None = None
    ) -> None:
        error = {"field": field, "message": message, "type": type_}
        if location is not None:
            error["in"] = location
        super().__init__(422, "Validation failed", f"{field}: {message}", [error])


class Conflict(Problem):
    """The request clashes with what is stored (409)."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        errors = [{"field": field, "message": detail, "type": "conflict"}] if field else None
        super().__init__(409, "Conflict", detail, errors)


class NotFound(Problem):
    def __init__(self, what: str) -> None:
        super().__init__(404, "Not Found", f"{what} not found")


def concurrent_change() -> Problem:
    """The backstop for races between requests: a constraint the services could not check first
    (another transaction committed in between) refused the write."""
    return Problem(409, "Conflict", "The change conflicts with data stored meanwhile; retry.")


def validation_problem(exc: ValidationError, location: str) -> Problem:
    """Turn pydantic's errors into a 422 (or a 400 for JSON that does not parse)."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return Problem(400, "Malformed JSON", "The request body is not valid JSON.")
    fields = []
    for e in errors:
        loc = [str(part) for part in e["loc"]]
        fields.append(
            {
                "field": ".".join(loc) or location,
                "in": location,
                "message": e["msg"],
                "type": e["type"],
            }
        )
    names = ", ".join(sorted({f["field"] for f in fields}))
    return Problem(422, "Validation failed", f"Invalid {location}: {names}", fields)


def problem_response(problem: Problem) -> Response:
    response = current_app.response_class(
        json.dumps(problem.to_dict()), status=problem.status, mimetype=PROBLEM_JSON
    )
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def _is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    """Answer every error under ``/api`` with a problem body; leave other pages to Flask."""

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return problem_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response | HTTPException:
        if not _is_api_request():
            return exc
        headers = {}
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return problem_response(
            Problem(exc.code or 500, exc.name, exc.description, headers=headers)
        )

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Response:
        current_app.logger.warning("integrity error: %s", exc.orig)
        return problem_response(concurrent_change())

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> Response:
        current_app.logger.warning("concurrent update: %s", exc)
        return problem_response(concurrent_change())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if not _is_api_request():
            return current_app.response_class("Internal Server Error", status=500)
        return problem_response(Problem(500, "Internal Server Error"))
