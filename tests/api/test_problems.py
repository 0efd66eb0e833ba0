"""Every error under /api is an RFC 9457 problem body; bad input names its field."""

from __future__ import annotations

import pytest


@pytest.fixture
def admin(auth):
    return auth("admin")


def _is_problem(response, status):
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["title"]
    return body


def test_unknown_route_is_a_404_problem(client, admin):
    body = _is_problem(client.get("/api/v1/nothing-here", headers=admin), 404)
    assert body["instance"] == "/api/v1/nothing-here"


def test_wrong_method_is_a_405_problem_with_allow(client, admin):
    response = client.put("/api/v1/accounts", headers=admin)
    _is_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_a_400_problem(client, admin):
    response = client.post(
        "/api/v1/accounts", data="{not json", content_type="application/json", headers=admin
    )
    body = _is_problem(response, 400)
    assert body["title"] == "Malformed JSON"


def test_body_that_is_not_json_is_415(client, admin):
    response = client.post("/api/v1/accounts", data="code=x", headers=admin)
    _is_problem(response, 415)


def test_missing_record_is_a_404_problem(client, admin):
    body = _is_problem(client.get("/api/v1/accounts/424242", headers=admin), 404)
    assert "424242" in body["detail"]


def test_bad_query_parameter_names_the_field(client, admin):
    body = _is_problem(client.get("/api/v1/accounts?per_page=0", headers=admin), 422)
    assert body["errors"][0]["field"] == "per_page" and body["errors"][0]["in"] == "query"
    body = _is_problem(client.get("/api/v1/accounts?colour=red", headers=admin), 422)
    assert body["errors"][0]["field"] == "colour"


def test_missing_required_fields_are_all_named(client, admin):
    body = _is_problem(client.post("/api/v1/accounts", json={}, headers=admin), 422)
    named = {e["field"] for e in body["errors"]}
    assert {"code", "name", "account_class", "account_type", "currency", "timezone"} <= named


def test_pages_outside_the_api_keep_plain_errors(client):
    response = client.get("/not-api")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")


def test_health(client):
    assert client.get("/api/health").json == {"status": "ok"}
