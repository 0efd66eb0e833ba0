"""The OpenAPI document and docs page, and schemathesis over the whole spec.

Schemathesis generates valid and invalid requests from the same document that the validation
models produce, and checks every answer: no server error, statuses and bodies as documented.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from monitor.api.spec import OPERATIONS

#: Examples per operation and mode: enough to hit every field, bounded for the suite's time.
EXAMPLES = 30


def test_document_is_openapi_31_and_lists_every_operation(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    operations = {(method, path) for path, methods in spec["paths"].items() for method in methods}
    assert len(operations) == len(OPERATIONS)
    create = spec["paths"]["/api/v1/accounts"]["post"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = spec["components"]["schemas"][schema_name.rsplit("/", 1)[1]]
    assert body["additionalProperties"] is False
    assert "CNY" in body["properties"]["currency"]["enum"]
    assert create["x-roles"] == ["admin", "finance", "manager"]


def test_docs_page_is_generated_from_the_document(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "/api/v1/accounts/{account_id}/history" in html
    assert "Create an account" in html and "Roles: admin, finance, manager" in html


#: 422 error types a schema cannot rule out: a referenced row that does not exist (an owner id,
#: say: no schema can know which ids exist), a value judged against stored data or today's date
#: (a currency other than the account's, a date past "a year from today"), and an uploaded file
#: whose content is not a valid spreadsheet (the schema of a file is "bytes").
_BEYOND_THE_SCHEMA = {
    "not_found",
    "wrong_currency",
    "out_of_range",
    "unreadable_file",
    "invalid_row",
}


def valid_data_accepted_unless_a_reference_is_missing(ctx, response, case):
    """Schemathesis's positive-data check, except for the 422s in ``_BEYOND_THE_SCHEMA``."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code in (400, 415):
        raise AssertionError(f"schema-valid request refused: {response.text}")
    if response.status_code == 422:
        errors = response.json().get("errors") or []
        if not errors or any(e["type"] not in _BEYOND_THE_SCHEMA for e in errors):
            raise AssertionError(f"schema-valid request refused: {response.text}")
    return None


def _model_refuses(model, data) -> bool:
    try:
        model.model_validate(data if data is not None else {})
    except ValidationError:
        return True
    return False


def invalid_data_rejected(ctx, response, case):
    """Schemathesis's negative-data check, minus the Authorization header: the test always
    sends the admin's token, so a mutated header never reaches the app. A request whose query,
    body or path is really invalid must still be refused."""
    if case.meta is None or case.meta.generation.mode.is_positive or response.status_code >= 400:
        return None
    negative = {
        str(location.value)
        for location, info in case.meta.components.items()
        if info.mode.is_negative
    }
    declared = next(
        (
            o
            for o in OPERATIONS
            if o.method == case.method.lower() and _same_path(o.rule, case.path)
        ),
        None,
    )
    invalid = "path" in negative
    if declared is not None:
        if "query" in negative and declared.query is not None:
            # judge what went over the wire (values the URL cannot carry are dropped there)
            sent = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
            repeated = any(len(values) > 1 for values in sent.values())
            flat = {key: values[0] for key, values in sent.items()}
            invalid |= repeated or _model_refuses(declared.query, flat)
        if "body" in negative and declared.body is not None:
            invalid |= _model_refuses(declared.body, case.body)
    if invalid:
        raise AssertionError(f"invalid request accepted ({sorted(negative)}): {response.text}")
    return None


def _same_path(rule: str, path: str) -> bool:
    """``/api/v1/accounts/<id:account_id>`` (Flask) is ``/api/v1/accounts/{account_id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule) == path


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_description(app, auth, mode):
    """Every operation, as admin (who may call everything), with valid and with invalid data."""
    headers = auth("admin")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(
                app=app,
                headers=headers,
                excluded_checks=[positive_data_acceptance, negative_data_rejection],
                additional_checks=[
                    valid_data_accepted_unless_a_reference_is_missing,
                    invalid_data_rejected,
                ],
            )

        try:
            check()
        except Exception as exc:  # collect all, report together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
