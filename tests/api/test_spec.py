"""The OpenAPI document and docs page, and schemathesis over the whole spec.

Schemathesis generates valid and invalid requests from the same document that the validation
models produce, and checks every answer: no server error, statuses and bodies as documented.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

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


def valid_data_accepted_unless_a_reference_is_missing(ctx, response, case):
    """Schemathesis's positive-data check, except that a 422 for a referenced row that does not
    exist (an owner id, say: no schema can know which ids exist) is a right answer."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code in (400, 415):
        raise AssertionError(f"schema-valid request refused: {response.text}")
    if response.status_code == 422:
        errors = response.json().get("errors") or []
        if not errors or any(e["type"] != "not_found" for e in errors):
            raise AssertionError(f"schema-valid request refused: {response.text}")
    return None


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
                excluded_checks=[positive_data_acceptance],
                additional_checks=[valid_data_accepted_unless_a_reference_is_missing],
            )

        try:
            check()
        except Exception as exc:  # collect all, report together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
