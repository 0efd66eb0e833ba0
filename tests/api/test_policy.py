"""The route-policy table covers every route, and every route answers every role as declared.

New endpoints are covered automatically: a route without a policy entry fails here, and each
entry is checked by calling the route as every role (and with no token at all).
"""

from __future__ import annotations

import pytest
from flask import Flask

from monitor.policy import ALL_STAFF, POLICY, PUBLIC

ROLES = sorted(ALL_STAFF)
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every route, path arguments filled with an unknown id."""
    routes = []
    for rule in app.url_map.iter_rules():
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<id:{argument}>", "999999").replace(f"<{argument}>", "x")
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            routes.append((rule.endpoint, method, url))
    return routes


def test_every_route_has_a_policy(app):
    missing = sorted({endpoint for endpoint, _, _ in _routes(app) if endpoint not in POLICY})
    assert missing == [], f"routes without a policy entry in monitor/policy.py: {missing}"


def test_every_policy_entry_names_a_route(app):
    endpoints = {endpoint for endpoint, _, _ in _routes(app)}
    assert sorted(set(POLICY) - endpoints) == []


def test_every_route_answers_every_role_as_declared(app, client, auth):
    headers = {role: auth(role) for role in ROLES}
    checked = 0
    for endpoint, method, url in _routes(app):
        allowed = POLICY[endpoint]
        body = {} if method in ("POST", "PATCH", "PUT") else None
        anonymous = client.open(url, method=method, json=body)
        if allowed is PUBLIC:
            assert anonymous.status_code not in (401, 403), (endpoint, anonymous.status_code)
        else:
            assert anonymous.status_code == 401, (endpoint, method, anonymous.status_code)
            assert anonymous.content_type == "application/problem+json"
        for role in ROLES:
            response = client.open(url, method=method, json=body, headers=headers[role])
            may = allowed is PUBLIC or role in allowed
            if may:
                assert response.status_code not in (401, 403), (
                    endpoint,
                    method,
                    role,
                    response.json,
                )
            else:
                assert response.status_code == 403, (endpoint, method, role, response.status_code)
                assert response.json["title"] == "Forbidden"
            checked += 1
    assert checked >= len(ROLES) * 20


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer mon_nope", "Basic abc", "Token x"])
def test_missing_or_bad_credentials_are_401_with_challenge(client, header):
    response = client.get("/api/v1/accounts", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.content_type == "application/problem+json"
