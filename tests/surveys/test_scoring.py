"""Scoring against hand-computed figures (ties at 6/7/9, missing roles, too few answers).

The fixture, 2026-Q4 (min_answers 2, min_account_answers 1, weights decider .4 buyer .3 user .3):

| account | class | decider         | buyer                     | users                     |
| ------- | ----- | --------------- | ------------------------- | ------------------------- |
| 1       | A     | NPS 9, CSAT 5 4 | NPS 7, CSAT 3 4 2, CES 6  | NPS 6, CSAT 4 4 5, CES 7; |
|         |       |                 |                           | a second user: no answer  |
| 2       | B     | (no contact)    | NPS 10, CSAT 5 5 4, CES 5 | NPS 6, CSAT 4 4 4         |
| 3       | A     | invited, silent | (no contact)              | NPS 9, CSAT 3 3 3         |
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from surveys import scoring, services
from tests.surveys.conftest import link_of, open_and_dispatch

D = Decimal


def answer(session, email: str, lang: str = "en", wants_contact: bool = False, **scores: int):
    link = services.find_link(session, link_of(session, email))
    assert link is not None, email
    form = {f"q_{key}": str(value) for key, value in scores.items()}
    return services.submit(session, link, form, lang, wants_contact)


@pytest.fixture
def settings(configure_surveys):
    return configure_surveys(survey_min_answers=2)


@pytest.fixture
def q4_answers(session, make_account, open_q4, settings):
    make_account("A", [("decider", "en"), ("buyer", "en"), ("user", "en"), ("user", "zh")])
    make_account("B", [("buyer", "en"), ("user", "zh")])
    make_account("A", [("decider", "en"), ("user", "en")])
    opened = open_q4()
    assert opened.invited == 8
    answer(session, "decider0@sv1.example.cn", recommend=9, value=5, partnership=4)
    answer(
        session,
        "buyer1@sv1.example.cn",
        recommend=7,
        delivery=3,
        price=4,
        invoicing=2,
        ordering_effort=6,
    )
    answer(
        session,
        "user2@sv1.example.cn",
        recommend=6,
        quality=4,
        reliability=4,
        support_responsiveness=5,
        support_effort=7,
    )
    answer(
        session,
        "buyer0@sv2.example.cn",
        recommend=10,
        delivery=5,
        price=5,
        invoicing=4,
        ordering_effort=5,
    )
    answer(
        session,
        "user1@sv2.example.cn",
        "zh",
        recommend=6,
        quality=4,
        reliability=4,
        support_responsiveness=4,
    )
    answer(
        session,
        "user1@sv3.example.cn",
        recommend=9,
        quality=3,
        reliability=3,
        support_responsiveness=3,
    )
    return opened.cycle


def values(figures: dict) -> dict:
    return {m: figures[m]["value"] for m in ("nps", "csat", "ces")}


def test_overall_every_answer_counted(session, q4_answers, settings):
    results = scoring.cycle_results(session, q4_answers, settings)
    # NPS 9 7 6 10 6 9: promoters 3 (9, 10, 9), detractors 2 (6, 6), 7 passive → 1/6
    # CSAT 17 answers, 12 of them 4 or 5; CES 6 7 5
    assert values(results["overall"]["all_responses"]) == {
        "nps": D("16.7"),
        "csat": D("70.6"),
        "ces": D("6.0"),
    }
    assert results["overall"]["all_responses"]["nps"]["answers"] == 6
    assert results["overall"]["all_responses"]["nps"]["method"] == "all_responses"
    assert results["response_rate"]["value"] == D("75.0")
    assert (results["response_rate"]["responded"], results["response_rate"]["invited"]) == (6, 8)


def test_by_role_with_too_few_answers(session, q4_answers, settings):
    by_role = scoring.cycle_results(session, q4_answers, settings)["by_role"]
    decider, buyer, user = by_role["decider"], by_role["buyer"], by_role["user"]
    assert decider["nps"]["value"] is None and decider["nps"]["status"] == "too_few_answers"
    assert decider["csat"]["value"] == D("100.0")
    assert decider["ces"]["status"] == "no_answers"
    assert decider["response_rate"]["value"] == D("50.0")
    assert values(buyer) == {"nps": D("50.0"), "csat": D("66.7"), "ces": D("5.5")}
    assert buyer["response_rate"]["value"] == D("100.0")
    # users: NPS 6 6 9 → (1 - 2) / 3; the one CES answer is too few
    assert values(user) == {"nps": D("-33.3"), "csat": D("66.7"), "ces": None}
    assert user["ces"]["status"] == "too_few_answers"
    assert user["response_rate"]["value"] == D("75.0")


def test_by_account_class(session, q4_answers, settings):
    by_class = scoring.cycle_results(session, q4_answers, settings)["by_account_class"]
    assert values(by_class["A"]) == {"nps": D("25.0"), "csat": D("54.5"), "ces": D("6.5")}
    assert by_class["A"]["response_rate"]["value"] == D("66.7")
    assert values(by_class["B"]) == {"nps": D("0.0"), "csat": D("100.0"), "ces": None}
    assert by_class["C"]["response_rate"]["status"] == "no_answers"


def test_account_roll_ups_by_every_method(session, q4_answers, settings):
    overall = scoring.cycle_results(session, q4_answers, settings)["overall"]
    # weighted: accounts NPS 10, 0, 100; CSAT 80, 100, 0; CES 6.5, 5 (half up: 5.75 → 5.8)
    assert values(overall["weighted_roles"]) == {
        "nps": D("36.7"),
        "csat": D("60.0"),
        "ces": D("5.8"),
    }
    assert overall["weighted_roles"]["ces"]["accounts"] == 2
    # waterfall: decider, else buyer, else user
    assert values(overall["waterfall"]) == {"nps": D("100.0"), "csat": D("66.7"), "ces": D("5.5")}
    # each account's own figure from all its answers: NPS 0, 0, 100; CSAT 75, 100, 0
    assert values(overall["account_average"]) == {
        "nps": D("33.3"),
        "csat": D("58.3"),
        "ces": D("5.8"),
    }
    assert {overall[m]["nps"]["method"] for m in overall} == set(scoring.METHODS)


def test_account_scores_name_the_roles_that_did_not_answer(session, q4_answers, settings):
    page = scoring.account_results(session, q4_answers, settings, 1, 50)
    first, second, third = page["items"]
    assert values(first["weighted_roles"]) == {"nps": D("10.0"), "csat": D("80.0"), "ces": D("6.5")}
    assert first["roles_not_answered"] == []
    assert values(second["weighted_roles"]) == {
        "nps": D("0.0"),
        "csat": D("100.0"),
        "ces": D("5.0"),
    }
    assert second["roles_not_answered"] == ["decider"]
    assert second["roles_not_invited"] == ["decider"]
    assert third["roles_not_answered"] == ["decider", "buyer"]
    assert third["roles_not_invited"] == ["buyer"]
    assert third["waterfall"]["nps"]["source_role"] == "user"
    assert third["weighted_roles"]["ces"]["status"] == "no_answers"
    only_silent_deciders = scoring.account_results(
        session, q4_answers, settings, 1, 50, missing_role="decider"
    )
    assert [i["account_id"] for i in only_silent_deciders["items"]] == [
        second["account_id"],
        third["account_id"],
    ]


def test_role_weights_are_configurable(session, q4_answers, settings):
    buyers_only = replace(
        settings, role_weights={"decider": D("0"), "buyer": D("1"), "user": D("0")}
    )
    first = scoring.account_results(session, q4_answers, buyers_only, 1, 1)["items"][0]
    assert first["weighted_roles"]["nps"]["value"] == D("0.0")  # the buyer's 7: passive


def test_coverage_lists_missing_contacts_and_silent_roles(session, q4_answers, make_account):
    make_account("C", [("finance", "en")])  # active, but nobody to survey
    found = scoring.coverage(session, q4_answers, 1, 50)
    gaps = {item["code"]: (item["no_contact"], item["not_answered"]) for item in found["items"]}
    assert gaps == {
        "SV-0002": (["decider"], []),
        "SV-0003": (["buyer"], ["decider"]),
        "SV-0004": (["decider", "buyer", "user"], []),
    }
    assert found["summary"]["no_decider"] == 2 and found["summary"]["decider_not_answered"] == 1


def test_quarter_over_quarter_change(session, make_account, survey_settings, settings, app, q4):
    account = make_account("A", [("decider", "en"), ("user", "en")])
    q4.move_to("2026-07-01T09:00:00+00:00")
    open_and_dispatch(session, "2026-Q3", settings)
    answer(session, "decider0@sv1.example.cn", recommend=10, value=5, partnership=5)
    answer(
        session,
        "user1@sv1.example.cn",
        recommend=9,
        quality=5,
        reliability=5,
        support_responsiveness=5,
    )
    q4.move_to("2026-10-01T09:00:00+00:00")
    cycle = open_and_dispatch(session, "2026-Q4", settings).cycle
    answer(session, "decider0@sv1.example.cn", recommend=6, value=2, partnership=3)

    results = scoring.cycle_results(session, cycle, settings)
    assert results["previous_quarter"] == "2026-Q3"
    # Q3: NPS 100 from 2 answers; Q4: one answer, too few → no change can be stated
    assert results["change"]["overall"]["nps"] is None
    assert results["change"]["response_rate"] == D("-50.0")  # 100% → 50%
    trend = scoring.account_trend(session, account.id, settings)
    assert [q["quarter"] for q in trend["quarters"]] == ["2026-Q3", "2026-Q4"]
    # the account's weighted NPS: Q3 (.4·100 + .3·100)/.7 = 100; Q4 decider only: -100
    assert trend["quarters"][0]["weighted_roles"]["nps"]["value"] == D("100.0")
    assert trend["quarters"][1]["weighted_roles"]["nps"]["value"] == D("-100.0")
    assert trend["quarters"][1]["change"]["nps"] == D("-200.0")
    assert trend["quarters"][1]["roles_not_answered"] == ["buyer", "user"]


@pytest.mark.parametrize(
    ("metric", "scores", "expected"),
    [
        ("nps", [6], -100),
        ("nps", [7], 0),
        ("nps", [8], 0),
        ("nps", [9], 100),
        ("nps", [0, 10], 0),
        ("csat", [3], 0),
        ("csat", [4], 100),
        ("csat", [1, 2, 3, 4, 5], 40),
        ("ces", [1, 7], 4),
    ],
)
def test_thresholds(metric, scores, expected):
    assert scoring.raw_value(metric, scores) == expected
