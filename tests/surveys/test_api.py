"""The surveys API: returns visible at once to managers, results to executives too, filters,
and errors that name the field."""

from __future__ import annotations

import pytest

from tests.surveys.test_scoring import answer

API = "/api/v1"


@pytest.fixture
def answered(session, make_account, open_q4):
    first = make_account("A", [("decider", "zh"), ("user", "en")])
    second = make_account("B", [("buyer", "en")])
    open_q4()
    detractor = answer(
        session, "decider0@sv1.example.cn", "zh", recommend=2, value=3, partnership=3
    )
    promoter = answer(
        session,
        "buyer0@sv2.example.cn",
        recommend=10,
        delivery=5,
        price=4,
        invoicing=5,
        ordering_effort=6,
    )
    session.commit()
    return {"first": first, "second": second, "detractor": detractor, "promoter": promoter}


def test_a_response_is_visible_to_managers_at_once_with_its_answers(client, auth, answered):
    page = client.get(f"{API}/surveys/responses", headers=auth("manager"))
    assert page.status_code == 200
    body = page.json
    assert body["total"] == 2
    newest = body["items"][0]
    assert newest["quarter"] == "2026-Q4"
    detractor = next(i for i in body["items"] if i["id"] == answered["detractor"].id)
    assert detractor["respondent_role"] == "decider" and detractor["language"] == "zh"
    assert detractor["complaint_id"] == answered["detractor"].complaint_id is not None
    assert {a["question_key"]: a["score"] for a in detractor["answers"]}["recommend"] == 2
    one = client.get(f"{API}/surveys/responses/{detractor['id']}", headers=auth("manager"))
    assert one.status_code == 200 and one.json == detractor


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("respondent_role=decider", ["detractor"]),
        ("account_class=B", ["promoter"]),
        ("follow_up=true", ["detractor"]),
        ("follow_up=false", ["promoter"]),
        ("nps_at_most=6", ["detractor"]),
        ("quarter=2026-Q4&per_page=1&page=2", ["detractor"]),
        ("quarter=2026-Q3", []),
        (
            "submitted_from=2026-10-01T09:00:00Z&submitted_before=2026-10-02T00:00:00Z",
            ["promoter", "detractor"],
        ),
    ],
)
def test_listing_filters(client, auth, answered, query, expected):
    page = client.get(f"{API}/surveys/responses?{query}", headers=auth("manager"))
    assert page.status_code == 200, page.json
    assert [i["id"] for i in page.json["items"]] == [answered[k].id for k in expected]


def test_listing_by_account(client, auth, answered):
    account = answered["second"].id
    page = client.get(f"{API}/surveys/responses?account_id={account}", headers=auth("admin"))
    assert [i["account_id"] for i in page.json["items"]] == [account]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("nps_at_most=11", "nps_at_most"),
        ("quarter=2026Q4", "quarter"),
        ("respondent_role=finance", "respondent_role"),
        ("submitted_from=2026-10-01T09:00:00", "submitted_from"),  # no time zone
        ("colour=red", "colour"),
    ],
)
def test_bad_filters_are_422_naming_the_field(client, auth, answered, query, field):
    bad = client.get(f"{API}/surveys/responses?{query}", headers=auth("manager"))
    assert bad.status_code == 422
    assert bad.content_type == "application/problem+json"
    assert field in {e["field"] for e in bad.json["errors"]}


def test_returns_are_for_managers_results_also_for_executives(client, auth, answered):
    executive, agent, finance = auth("executive"), auth("agent"), auth("finance")
    assert client.get(f"{API}/surveys/responses", headers=executive).status_code == 403
    assert client.get(f"{API}/surveys/responses", headers=finance).status_code == 403
    for url in (
        "/surveys/cycles",
        "/surveys/cycles/2026-Q4",
        "/surveys/cycles/2026-Q4/results",
        "/surveys/cycles/2026-Q4/accounts",
        "/surveys/cycles/2026-Q4/coverage",
        f"/accounts/{answered['first'].id}/satisfaction",
    ):
        assert client.get(API + url, headers=executive).status_code == 200, url
        assert client.get(API + url, headers=agent).status_code == 403, url


def test_cycle_and_results_endpoints(client, auth, answered):
    headers = auth("manager")
    cycle = client.get(f"{API}/surveys/cycles/2026-Q4", headers=headers).json
    assert (cycle["invited"], cycle["responded"], cycle["follow_ups"]) == (3, 2, 1)
    assert cycle["still_to_invite"] == 0
    results = client.get(f"{API}/surveys/cycles/2026-Q4/results", headers=headers).json
    assert results["response_rate"]["value"] == pytest.approx(66.7)
    assert results["overall"]["all_responses"]["nps"]["status"] == "too_few_answers"
    assert results["overall"]["all_responses"]["nps"]["value"] is None
    assert results["by_role"]["buyer"]["response_rate"]["value"] == 100.0
    accounts = client.get(f"{API}/surveys/cycles/2026-Q4/accounts", headers=headers).json
    first = accounts["items"][0]
    assert first["roles_not_answered"] == ["buyer", "user"]
    assert first["weighted_roles"]["nps"]["value"] == -100.0
    coverage = client.get(f"{API}/surveys/cycles/2026-Q4/coverage", headers=headers).json
    assert coverage["summary"]["user_not_answered"] == 1
    trend = client.get(f"{API}/accounts/{answered['first'].id}/satisfaction", headers=headers)
    assert [q["quarter"] for q in trend.json["quarters"]] == ["2026-Q4"]


@pytest.mark.parametrize("quarter", ["2026-Q3", "2026-Q5", "x", "2026-q4"])
def test_unknown_cycle_is_404_problem(client, auth, answered, quarter):
    missing = client.get(f"{API}/surveys/cycles/{quarter}/results", headers=auth("manager"))
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"


def test_current_questionnaires(client, auth, answered):
    body = client.get(f"{API}/surveys/questionnaires", headers=auth("admin")).json
    assert [q["role"] for q in body["items"]] == ["user", "buyer", "decider"]
    decider = body["items"][2]
    assert decider["questions"][0]["text"]["zh"] == "您对我们提供的性价比是否满意？"
