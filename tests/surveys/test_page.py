"""The public page through the app: links, the form, validation, one submission, opt-out."""

from __future__ import annotations

import logging
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from monitor.accounts.services import get_contact
from surveys.models import Answer, Invitation, SurveyLink, SurveyResponse
from tests.surveys.conftest import link_of, mailed_links

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page) -> str:
    return CSRF.search(page.get_data(as_text=True))[1]


def complete_answers(**override: str) -> dict[str, str]:
    """A valid decider questionnaire (value, partnership, recommend)."""
    answers = {"q_value": "4", "q_partnership": "5", "q_recommend": "9", "q_renewal": "probably"}
    answers.update(override)
    return {k: v for k, v in answers.items() if v is not None}


@pytest.fixture
def decider_token(session, make_account, open_q4):
    make_account("A", [("decider", "zh"), ("user", "en")])
    open_q4()
    return link_of(session, "decider0@sv1.example.cn")


def stored_responses(session) -> int:
    return session.scalar(select(func.count(SurveyResponse.id)))


def test_the_token_is_random_and_only_its_hash_is_stored(session, decider_token):
    [link] = session.scalars(select(SurveyLink)).all()[:1]
    assert len(decider_token) == 43  # 32 random bytes
    assert decider_token not in (link.token_hash, str(link.id))
    hashes = list(session.scalars(select(SurveyLink.token_hash)))
    assert all(decider_token not in h for h in hashes)


def test_page_in_the_contacts_language_with_a_switch(client, session, decider_token):
    page = client.get(f"/s/{decider_token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "您对我们提供的性价比是否满意？" in html
    assert 'name="viewport"' in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert '<a href="?lang=en"' in html
    english = client.get(f"/s/{decider_token}?lang=en").get_data(as_text=True)
    assert "How satisfied are you with the value for money we provide?" in english
    # every input has a label: radios are inside theirs, textareas have label[for]
    assert english.count("<textarea") == len(re.findall(r'<label class="label" for="q_', english))
    invitation = session.scalars(select(Invitation).where(Invitation.opened_at.is_not(None))).one()
    assert invitation.respondent_role == "decider"
    # the closing time as the account's people read it, in the account's zone
    closes = invitation.cycle.closes_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{closes:%Y-%m-%d %H:%M} (Asia/Shanghai)" in english
    assert f"{closes.month}月{closes.day}日 {closes:%H:%M} (Asia/Shanghai)" in html


def test_a_valid_submission_is_stored_once_and_the_link_then_refused(
    client, session, decider_token
):
    page = client.get(f"/s/{decider_token}")
    answers = complete_answers(q_comment="交货很准时 👍")
    done = client.post(
        f"/s/{decider_token}", data={**answers, "csrf_token": csrf_of(page), "lang": "zh"}
    )
    assert done.status_code == 200
    assert "谢谢您" in done.get_data(as_text=True)
    response = session.scalars(select(SurveyResponse)).one()
    assert response.language == "zh" and response.respondent_role == "decider"
    assert {a.question_key: (a.score, a.text) for a in response.answers} == {
        "value": (4, None),
        "partnership": (5, None),
        "recommend": (9, None),
        "renewal": (None, "probably"),
        "comment": (None, "交货很准时 👍"),
    }
    assert response.complaint_id is None  # a promoter, nothing low
    invitation = session.get(Invitation, response.invitation_id)
    assert invitation.opened_at is not None
    assert invitation.responded_at == response.submitted_at

    again = client.post(
        f"/s/{decider_token}", data={**answers, "csrf_token": csrf_of(page), "lang": "zh"}
    )
    assert again.status_code == 404
    assert "此问卷链接无法使用" in again.get_data(as_text=True)
    assert stored_responses(session) == 1
    assert client.get(f"/s/{decider_token}").status_code == 404


def test_unknown_and_used_links_get_the_same_page(client, session, decider_token):
    page = client.get(f"/s/{decider_token}")
    client.post(f"/s/{decider_token}", data={**complete_answers(), "csrf_token": csrf_of(page)})
    used = client.get(f"/s/{decider_token}?lang=en")
    unknown = client.get("/s/" + "A" * 43 + "?lang=en")
    garbage = client.get("/s/%00%ff'<script>?lang=en")
    assert used.status_code == unknown.status_code == garbage.status_code == 404
    assert used.get_data() == unknown.get_data() == garbage.get_data()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"q_recommend": "11"}, "recommend", "Please choose a value from 0 to 10."),
        ({"q_value": "0"}, "value", "Please choose a value from 1 to 5."),
        ({"q_value": "4.5"}, "value", "Please choose a value from 1 to 5."),
        ({"q_partnership": None}, "partnership", "Please answer this question."),
        ({"q_renewal": "maybe"}, "renewal", "Please choose one of the options."),
        ({"q_comment": "x" * 2001}, "comment", "Please shorten your answer to 2000 characters"),
        ({"q_bogus": "5"}, "_form", "questions that are not in this survey"),
    ],
)
def test_invalid_answers_re_render_with_messages_keeping_what_was_typed(
    client, session, decider_token, changes, field, message
):
    page = client.get(f"/s/{decider_token}?lang=en")
    answers = complete_answers(**{"q_comment": "Keep this text & <this>", **changes})
    bad = client.post(
        f"/s/{decider_token}", data={**answers, "csrf_token": csrf_of(page), "lang": "en"}
    )
    html = unescape(bad.get_data(as_text=True))
    assert bad.status_code == 422
    assert message in html
    if field != "_form":
        assert f'aria-describedby="q_{field}-error"' in html
    assert answers["q_comment"] in html  # what was typed is kept (escaped in the page)
    if field != "value":
        assert 'name="q_value" value="4" checked' in html
    assert stored_responses(session) == 0
    assert session.scalar(select(func.count(Answer.id))) == 0


@pytest.mark.parametrize("token", ["", "forged", "stale"])
def test_a_forged_or_missing_csrf_token_stores_nothing(client, session, decider_token, token, app):
    if token == "stale":
        from itsdangerous import URLSafeTimedSerializer

        token = URLSafeTimedSerializer("another-secret", salt="survey-form").dumps("x")
    bad = client.post(
        f"/s/{decider_token}", data={**complete_answers(), "csrf_token": token, "lang": "en"}
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "This form has expired or was not sent from this page" in html
    assert 'value="9" checked' in html  # answers kept for sending again
    assert stored_responses(session) == 0


def test_csrf_token_of_another_link_is_refused(client, session, make_account, open_q4):
    make_account("B", [("decider", "en"), ("buyer", "en")])
    open_q4()
    decider, buyer = (
        link_of(session, "decider0@sv1.example.cn"),
        link_of(session, "buyer1@sv1.example.cn"),
    )
    other = csrf_of(client.get(f"/s/{buyer}"))
    bad = client.post(f"/s/{decider}", data={**complete_answers(), "csrf_token": other})
    assert bad.status_code == 400 and stored_responses(session) == 0


def test_expired_link_is_refused_like_an_unknown_one(client, session, decider_token, q4):
    q4.move_to("2026-10-22T09:00:00+00:00")  # 21 days later: closed
    assert client.get(f"/s/{decider_token}").status_code == 404


def test_opt_out_link_asks_first_and_is_honoured(client, session, decider_token):
    links = mailed_links(session)
    assert links  # the mail carries the opt-out link too
    confirm = client.get(f"/s/{decider_token}/opt-out")
    assert confirm.status_code == 200 and "不再接收满意度调查" in confirm.get_data(as_text=True)
    invitation = session.scalars(
        select(Invitation).where(Invitation.email == "decider0@sv1.example.cn")
    ).one()
    assert get_contact(session, invitation.contact_id).opted_out is False  # GET changed nothing
    done = client.post(f"/s/{decider_token}/opt-out", data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 200
    session.expire_all()
    assert get_contact(session, invitation.contact_id).opted_out is True


def test_the_page_is_rate_limited_per_client(client, decider_token, configure_surveys):
    configure_surveys(survey_page_rate="3/60")
    statuses = [client.get(f"/s/{decider_token}").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    limited = client.get(f"/s/{decider_token}")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_the_token_never_reaches_the_logs(decider_token):
    from surveys.public import MASK

    line = f"GET /s/{decider_token}?lang=en HTTP/1.1"
    werkzeug = logging.LogRecord(
        "werkzeug", logging.INFO, "x", 1, '%s - - "%s" %s', ("127.0.0.1", line, "200"), None
    )
    # gunicorn's access log passes a mapping of atoms
    gunicorn = logging.LogRecord("gunicorn.access", logging.INFO, "x", 1, "%(r)s %(U)s", (), None)
    gunicorn.args = {"r": line, "U": f"/s/{decider_token}"}
    error = logging.LogRecord(
        "monitor", logging.ERROR, "x", 1, f"unhandled error on POST /s/{decider_token}", (), None
    )
    for record in (werkzeug, gunicorn, error):
        assert MASK.filter(record)
        assert decider_token not in record.getMessage()
        assert "/s/***" in record.getMessage()
    for name in ("werkzeug", "gunicorn.access", "monitor"):
        assert MASK in logging.getLogger(name).filters


def test_an_oversized_form_is_refused_with_a_page_and_stores_nothing(
    client, session, decider_token
):
    page = client.get(f"/s/{decider_token}")
    huge = complete_answers(q_comment="长" * 600_000)  # beyond what any form may carry
    refused = client.post(
        f"/s/{decider_token}",
        data={**huge, "csrf_token": csrf_of(page)},
        headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert refused.status_code == 413
    assert "您的回答过长" in refused.get_data(as_text=True)
    assert stored_responses(session) == 0
