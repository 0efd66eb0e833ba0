"""Operations: one declaration per endpoint that both validates requests and describes the API.

Every JSON endpoint is declared with :func:`operation`, naming its pydantic models. The same
models parse the request (strictly: unknown fields and wrong types are refused) and serialise the
response, and :func:`openapi_document` turns them into the OpenAPI 3.1 description, so the
document cannot drift from what the code accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from werkzeug.routing import BaseConverter

from monitor.api.problems import FieldError, NotFound, Problem, validation_problem
from monitor.api.schemas import MAX_ID, ProblemDetails
from monitor.policy import POLICY, PUBLIC

_PATH_ARG = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")
_CONVERTER_SCHEMAS = {
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "int": {"type": "integer", "minimum": 0},
    "string": {"type": "string"},
    None: {"type": "string"},
}


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one endpoint."""

    endpoint: str
    rule: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    description: str
    #: The multipart field carrying an uploaded file, for upload endpoints.
    upload: str | None = None


#: Every declared operation, in declaration order.
OPERATIONS: list[Operation] = []


def operation(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    upload: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a JSON endpoint on ``bp``.

    The view receives the path arguments, plus ``body=`` and ``query=`` (validated models) when
    declared. It returns an object the ``response`` model can read (ORM rows included), or
    ``None`` for 204. ``upload`` names the ``multipart/form-data`` field of an endpoint that
    takes a file (the view reads it from ``request.files``); the document describes it.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(**path_args: Any) -> Response:
            for name, value in path_args.items():
                if isinstance(value, int) and not 1 <= value <= MAX_ID:
                    raise NotFound(f"{name.removesuffix('_id')} {value}")
            kwargs: dict[str, Any] = {}
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            result = view(**path_args, **kwargs)
            if response is None:
                return current_app.response_class(status=status)
            # Serialised to JSON by pydantic-core directly: no intermediate dicts in Python.
            payload = response.model_validate(result).model_dump_json()
            return current_app.response_class(payload, status=status, mimetype="application/json")

        bp.add_url_rule(rule, view.__name__, wrapper, methods=[method])
        full_rule = (bp.url_prefix or "") + rule
        OPERATIONS.append(
            Operation(
                endpoint=f"{bp.name}.{view.__name__}",
                rule=full_rule,
                method=method.lower(),
                summary=summary,
                tag=bp.name,
                body=body,
                query=query,
                response=response,
                status=status,
                errors=errors,
                description=(view.__doc__ or "").strip(),
                upload=upload,
            )
        )
        return wrapper

    return decorator


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body, validated strictly against ``model``."""
    if not request.is_json:
        raise Problem(415, "Unsupported Media Type", "Send the body as application/json.")
    try:
        return model.model_validate_json(request.get_data(), strict=True)
    except ValidationError as exc:
        raise validation_problem(exc, "body") from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string, validated against ``model`` (strings are converted as usual)."""
    raw: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        if len(values) > 1:
            raise FieldError(key, "given more than once", "repeated", location="query")
        raw[key] = values[0]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_problem(exc, "query") from None


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for match in _PATH_ARG.finditer(rule):
        parameters.append(
            {
                "name": match["name"],
                "in": "path",
                "required": True,
                "schema": dict(_CONVERTER_SCHEMAS.get(match["converter"], {"type": "string"})),
            }
        )
    return _PATH_ARG.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def _query_parameters(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


_ERROR_TITLES = {
    400: "Malformed request",
    401: "No valid credentials",
    403: "The caller's roles may not do this",
    404: "Not found",
    409: "Conflicts with stored data",
    415: "Body is not JSON",
    422: "Validation failed; `errors` names the fields",
    429: "Too many requests",
}


def openapi_document(title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared operation."""
    models: list[tuple[type[BaseModel], str]] = []
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    models.append((ProblemDetails, "serialization"))
    key_map, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = dict(top.get("$defs", {}))
    problem_ref = key_map[(ProblemDetails, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path, parameters = _openapi_path(op.rule)
        if op.query is not None:
            parameters += _query_parameters(op.query, components)
        roles = POLICY.get(op.endpoint)
        entry: dict[str, Any] = {
            "operationId": op.endpoint.replace(".", "_"),
            "summary": op.summary,
            "tags": [op.tag],
            "responses": {},
        }
        if op.description:
            entry["description"] = op.description
        if roles is PUBLIC:
            entry["security"] = []
        elif roles is not None:
            entry["x-roles"] = sorted(roles)
            entry["description"] = (
                entry.get("description", "") + f"\n\nRoles: {', '.join(sorted(roles))}."
            ).strip()
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": key_map[(op.body, "validation")]}},
            }
        if op.upload is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": [op.upload],
                            "properties": {op.upload: {"type": "string", "format": "binary"}},
                        }
                    }
                },
            }
        ok: dict[str, Any] = {"description": "Success"}
        if op.response is not None:
            ok["content"] = {
                "application/json": {"schema": key_map[(op.response, "serialization")]}
            }
        entry["responses"][str(op.status)] = ok
        codes = set(op.errors)
        if roles is not PUBLIC:
            codes |= {401, 403}
        if op.body is not None or op.upload is not None:
            codes |= {400, 415, 422}
        if op.query is not None:
            codes.add(422)
        if any(p["in"] == "path" for p in parameters):
            codes.add(404)
        for code in sorted(codes):
            entry["responses"][str(code)] = {
                "description": _ERROR_TITLES.get(code, "Error"),
                "content": {"application/problem+json": {"schema": problem_ref}},
            }
        paths.setdefault(path, {})[op.method] = entry

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Key-account satisfaction and receivables monitoring. Authenticate with a "
                "personal API token: `Authorization: Bearer <token>`. Errors are "
                "`application/problem+json` (RFC 9457)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


class IdConverter(BaseConverter):
    """``<id:name>``: a row id. Any integer matches the route, so that an id that cannot exist
    (0, negative, beyond 32 bits) is answered 404 by the view's wrapper rather than by a routing
    miss that werkzeug may report as 405."""

    regex = r"-?\d{1,20}"
    weight = 50

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]
