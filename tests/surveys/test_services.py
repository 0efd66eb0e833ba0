"""Questionnaire versions, dispatch exactly once, the closed loop, reminders and the digest."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from sqlalchemy import func, select

from monitor import jobs
from monitor.accounts.services import get_contact, update_contact
from monitor.complaints.services import get_complaint
from monitor.email import services as email_services
from monitor.email.jobs import deliver_email_batch
from monitor.email.models import OutboxMessage
from surveys import questionnaires, services
from surveys.models import Invitation, Questionnaire, SurveyLink, SurveyResponse
from tests.surveys.conftest import link_of, mailed_links
from tests.surveys.test_scoring import answer


def count(session, column) -> int:
    return session.scalar(select(func.count(column)))


# --- questionnaires -----------------------------------------------------------------------------


def test_shipped_questionnaires_load_once_per_version(session):
    first = questionnaires.load_shipped(session)
    assert {role: (q.version, new) for role, (q, new) in first.items()} == {
        "user": (1, True),
        "buyer": (1, True),
        "decider": (1, True),
    }
    again = questionnaires.load_shipped(session)
    assert all(not new for _, new in again.values())
    assert count(session, Questionnaire.id) == 3


def test_every_role_gets_fitting_questions_in_both_languages():
    shipped = questionnaires.shipped_definitions()
    keys = {role: [q["id"] for q in d["questions"]] for role, d in shipped.items()}
    assert {"quality", "reliability", "support_responsiveness"} <= set(keys["user"])
    assert {"delivery", "price", "ordering_effort", "invoicing"} <= set(keys["buyer"])
    assert {"value", "partnership", "recommend"} <= set(keys["decider"])
    kinds = {q["kind"] for d in shipped.values() for q in d["questions"]}
    assert kinds == {"nps", "csat", "ces", "single_choice", "free_text"}
    for definition in shipped.values():
        for q in definition["questions"]:
            assert q["text"]["en"] and q["text"]["zh"]


def test_editing_a_questionnaire_makes_a_new_version_and_old_answers_keep_theirs(
    session, make_account, open_q4
):
    make_account("A", [("decider", "en")])
    open_q4()
    response = answer(session, "decider0@sv1.example.cn", recommend=9, value=4, partnership=4)
    old = response.questionnaire_id
    edited = copy.deepcopy(questionnaires.shipped_definitions()["decider"])
    edited["questions"] = [q for q in edited["questions"] if q["id"] != "partnership"]
    edited["questions"][0]["text"]["en"] = "Is our value for money right?"
    newer, created = questionnaires.store_version(session, edited)
    assert created and newer.version == 2 and newer.id != old
    assert questionnaires.current(session, "decider").id == newer.id
    stored = session.get(Questionnaire, old)
    assert [q["id"] for q in stored.definition["questions"]][:2] == ["value", "partnership"]
    assert {a.question_key for a in response.answers} >= {"partnership"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["questions"][0].update(kind="stars"), "kind one of"),
        (lambda d: d["questions"][0]["text"].pop("zh"), "a text in each of en, zh"),
        (lambda d: d["questions"].append(dict(d["questions"][0])), "is used twice"),
        (lambda d: d["questions"][0].update(category="weather"), "category one of"),
        (lambda d: d.update(role="finance"), "role: one of"),
    ],
)
def test_a_broken_definition_is_refused_with_where(change, message):
    definition = copy.deepcopy(questionnaires.shipped_definitions()["decider"])
    change(definition)
    with pytest.raises(questionnaires.DefinitionError, match=message):
        questionnaires.check_definition(definition)


# --- dispatch -----------------------------------------------------------------------------------


def test_one_invitation_per_surveyed_contact_of_active_accounts(session, make_account, open_q4):
    make_account("A", [("decider", "zh"), ("buyer", "en"), ("user", "en"), ("finance", "en")])
    make_account("B", [("user", "en", True), ("other", "en")])  # opted out: skipped, counted
    make_account("C", [("user", "en")], active=False)
    opened = open_q4()
    assert opened.invited == 3
    assert (opened.cycle.eligible_count, opened.cycle.opted_out_count) == (4, 1)
    assert sorted(mailed_links(session)) == [
        "buyer1@sv1.example.cn",
        "decider0@sv1.example.cn",
        "user2@sv1.example.cn",
    ]
    cycle = opened.cycle
    assert cycle.quarter == "2026-Q4" and (cycle.closes_at - cycle.opens_at).days == 21


def test_the_invitation_email_is_localised_with_text_and_html_and_an_opt_out_link(
    session, make_account, open_q4
):
    make_account("A", [("decider", "zh")])
    open_q4()
    message = session.scalars(select(OutboxMessage)).one()
    token = link_of(session, "decider0@sv1.example.cn")
    assert message.subject == "我们做得如何？2026-Q4 满意度调查"
    assert "尊敬的Decider 1-0：" in message.text_body
    assert f"http://monitor.test/s/{token}/opt-out" in message.text_body
    assert f'href="http://monitor.test/s/{token}"' in message.html_body
    assert '<html lang="zh-CN">' in message.html_body
    # closes 21 days after opening (09:00 UTC), shown in the account's zone
    assert "2026年10月22日 17:00 (Asia/Shanghai)" in message.text_body


def test_dispatching_again_invites_and_mails_nobody_twice(session, make_account, open_q4):
    make_account("A", [("decider", "en"), ("user", "en")])
    assert open_q4().invited == 2
    again = open_q4()
    assert again.invited == 0
    cycle = again.cycle
    assert services.dispatch_batch(session, cycle.id, 1, 2**31 - 1, "http://monitor.test") == 0
    assert count(session, Invitation.id) == 2
    assert count(session, OutboxMessage.id) == 2
    assert count(session, SurveyLink.id) == 2


def test_a_dispatch_queues_its_emails_at_once_and_their_delivery_in_batches_at_commit(
    session, make_account, open_q4, with_redis, monkeypatch
):
    monkeypatch.setattr(email_services, "DELIVERY_BATCH", 2)
    make_account("A", [("decider", "zh"), ("buyer", "en"), ("user", "en")])
    make_account("B", [("decider", "en"), ("user", "zh")])
    queue = jobs.queue()

    assert open_q4().invited == 5
    assert queue.count == 0  # nothing before the commit
    session.commit()

    batches = queue.jobs
    assert all(job.func is deliver_email_batch for job in batches)
    assert [len(job.args[0]) for job in batches] == [2, 2, 1]
    invitations = session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.dedup_key.like("survey:%:invitation"))
    ).all()
    assert sorted(i for job in batches for i in job.args[0]) == sorted(invitations)

    assert open_q4().invited == 0
    session.commit()
    assert len(queue.jobs) == 3  # nothing queued twice


def test_a_contact_added_later_is_invited_by_the_next_run(session, make_account, open_q4):
    account = make_account("A", [("decider", "en")])
    open_q4()
    from monitor.accounts.services import create_contact

    create_contact(
        session, account, name="Late", email="late@sv1.example.cn", role="user", language="en"
    )
    assert open_q4().invited == 1
    assert count(session, Invitation.id) == 2


def test_a_closed_cycle_dispatches_nothing(session, make_account, open_q4, q4):
    make_account("A", [("decider", "en")])
    cycle = open_q4().cycle
    q4.move_to("2026-10-22T09:00:00+00:00")
    make_account("A", [("decider", "en")])
    for first, last in services.dispatch_batches(session, cycle):
        assert services.dispatch_batch(session, cycle.id, first, last, "http://x") == 0


# --- the closed loop ----------------------------------------------------------------------------


def test_a_detractor_opens_a_follow_up_linked_both_ways(session, make_account, open_q4):
    make_account("A", [("decider", "zh")])
    open_q4()
    response = answer(
        session,
        "decider0@sv1.example.cn",
        "zh",
        recommend=3,
        value=2,
        partnership=4,
        comment="交货延误三次",
    )
    assert response.complaint_id is not None
    complaint = get_complaint(session, response.complaint_id)
    assert (complaint.origin_kind, complaint.origin_id) == ("survey_response", response.id)
    assert complaint.channel == "survey"
    assert complaint.account_id == response.account_id
    assert complaint.contact_id == response.contact_id
    assert complaint.severity == "high"
    assert complaint.category == "contract"  # the value-for-money question scored 2
    assert "NPS 3" in complaint.description and "交货延误三次" in complaint.description


@pytest.mark.parametrize(
    ("scores", "wants_contact", "opens", "severity"),
    [
        ({"recommend": 6}, False, True, "medium"),  # 6 is a detractor
        ({"recommend": 7}, False, False, None),  # 7 is passive
        ({"recommend": 9, "quality": 2}, False, True, "medium"),  # any CSAT ≤ 2
        ({"recommend": 9, "quality": 3}, False, False, None),
        ({"recommend": 10}, True, True, "low"),  # "please contact me"
        ({"recommend": 0, "quality": 1}, False, True, "high"),
    ],
)
def test_what_opens_a_follow_up(
    session, make_account, open_q4, scores, wants_contact, opens, severity
):
    make_account("B", [("user", "en")])
    open_q4()
    form = {"quality": 4, "reliability": 4, "support_responsiveness": 4, **scores}
    response = answer(session, "user0@sv1.example.cn", wants_contact=wants_contact, **form)
    assert (response.complaint_id is not None) == opens
    if opens:
        assert get_complaint(session, response.complaint_id).severity == severity


# --- answering rules ----------------------------------------------------------------------------


def test_a_second_submission_counts_nothing(session, make_account, open_q4):
    make_account("A", [("decider", "en")])
    open_q4()
    token = link_of(session, "decider0@sv1.example.cn")
    link = services.find_link(session, token)
    services.submit(
        session, link, {"q_recommend": "9", "q_value": "4", "q_partnership": "4"}, "en", False
    )
    with pytest.raises(services.AlreadyAnswered):
        services.submit(
            session, link, {"q_recommend": "0", "q_value": "1", "q_partnership": "1"}, "en", False
        )
    assert count(session, SurveyResponse.id) == 1
    assert services.find_link(session, token) is None


# --- reminders ----------------------------------------------------------------------------------


def test_reminders_on_day_7_and_14_to_non_responders_only_at_most_twice(
    session, make_account, open_q4, q4
):
    make_account("A", [("decider", "en"), ("user", "en"), ("buyer", "en")])
    open_q4()
    answer(session, "decider0@sv1.example.cn", recommend=9, value=4, partnership=4)

    def remind() -> int:
        return services.send_reminders(
            session, services.due_reminders(session), "http://monitor.test"
        )

    q4.move_to("2026-10-07T09:00:00+00:00")
    assert remind() == 0  # day 6
    q4.move_to("2026-10-08T09:00:00+00:00")
    assert remind() == 2  # day 7: user and buyer
    assert remind() == 0  # the same day again: nothing twice
    # the user answers with the reminder's link; the first link still works too
    first, second = mailed_links(session)["user1@sv1.example.cn"]
    assert first != second
    link = services.find_link(session, second)
    services.submit(
        session,
        link,
        {
            "q_recommend": "8",
            "q_quality": "4",
            "q_reliability": "4",
            "q_support_responsiveness": "4",
        },
        "en",
        False,
    )
    q4.move_to("2026-10-15T09:00:00+00:00")
    assert remind() == 1  # day 14: only the buyer
    q4.move_to("2026-10-20T09:00:00+00:00")
    assert remind() == 0  # at most twice
    assert len(mailed_links(session)["buyer2@sv1.example.cn"]) == 3
    subjects = session.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.recipient == "buyer2@sv1.example.cn")
    ).all()
    assert subjects[1:] == ["Reminder: satisfaction survey 2026-Q4"] * 2


def test_the_reminders_of_a_run_are_delivered_as_one_batch(
    session, make_account, open_q4, q4, with_redis
):
    make_account("A", [("decider", "en"), ("buyer", "en"), ("user", "zh")])
    open_q4()
    session.commit()
    queue = jobs.queue()
    queue.empty()  # the invitations' delivery
    q4.move_to("2026-10-08T09:00:00+00:00")

    due = services.due_reminders(session)
    assert services.send_reminders(session, due, "http://monitor.test") == 3
    session.commit()

    [job] = queue.jobs
    reminders = session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.dedup_key.like("survey:%:reminder-1"))
    ).all()
    assert job.func is deliver_email_batch
    assert len(reminders) == 3 and sorted(job.args[0]) == sorted(reminders)


def test_a_missed_reminder_day_sends_one_reminder_not_two(session, make_account, open_q4, q4):
    make_account("A", [("user", "en")])
    open_q4()
    q4.move_to("2026-10-16T09:00:00+00:00")
    due = services.due_reminders(session)
    assert [level for _, level in due] == [2]
    assert services.send_reminders(session, due, "http://monitor.test") == 1
    assert services.due_reminders(session) == []
    assert len(mailed_links(session)["user0@sv1.example.cn"]) == 2


def test_no_reminder_to_a_contact_who_opted_out(session, make_account, open_q4, q4):
    make_account("A", [("user", "en")])
    open_q4()
    invitation = session.scalars(select(Invitation)).one()
    update_contact(session, get_contact(session, invitation.contact_id), opted_out=True)
    q4.move_to("2026-10-08T09:00:00+00:00")
    due = services.due_reminders(session)
    assert len(due) == 1
    assert services.send_reminders(session, due, "http://monitor.test") == 0
    assert len(mailed_links(session)["user0@sv1.example.cn"]) == 1


# --- the managers' digest -----------------------------------------------------------------------


def test_daily_digest_to_every_manager_once(session, make_account, open_q4, make_staff, q4):
    manager, _ = make_staff("manager")
    make_staff("finance")
    make_account("A", [("decider", "en"), ("user", "en")])
    open_q4()
    answer(session, "decider0@sv1.example.cn", recommend=2, value=3, partnership=3)
    q4.move_to("2026-10-02T06:00:00+00:00")
    assert services.send_digest(session, date(2026, 10, 1), "http://monitor.test") == 1
    assert services.send_digest(session, date(2026, 10, 1), "http://monitor.test") == 1
    [digest] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == manager.email)
    ).all()
    assert digest.subject == "Survey returns of 2026-10-01: 1 new"
    assert "SV-0001" in digest.text_body and "NPS 2" in digest.text_body
    assert "follow-up opened" in digest.text_body
    assert services.send_digest(session, date(2026, 10, 2), "http://monitor.test") == 0


# --- the daily cycle job, in-process (no Redis) -------------------------------------------------


def test_daily_job_opens_the_quarter_on_its_day_only_within_its_window(
    session, make_account, survey_settings, q4
):
    from surveys.jobs import open_survey_cycle

    make_account("A", [("decider", "en"), ("user", "zh")])
    session.commit()
    q4.move_to("2026-09-30T05:00:00+00:00")  # Q3's window closed on 22 July
    assert open_survey_cycle() == (
        "2026-Q3: window missed; open it with `flask surveys open-cycle`"
    )
    q4.move_to("2026-10-01T05:00:00+00:00")
    assert open_survey_cycle() == "2026-Q4: 1 dispatch batch(es) enqueued"
    assert count(session, Invitation.id) == 2
    assert open_survey_cycle() == "2026-Q4: 0 dispatch batch(es) enqueued"
    assert count(session, OutboxMessage.id) == 2


def test_daily_job_waits_for_a_later_opening_day(session, configure_surveys, q4):
    from surveys.jobs import open_survey_cycle

    configure_surveys(survey_open_day=5)
    assert open_survey_cycle() == "2026-Q4: opens on 2026-10-05"
