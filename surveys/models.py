"""Tables of surveys: questionnaires (versioned), quarterly cycles, invitations and the links
sent for them, responses and their answers.

Accounts and contacts are referred to by plain id and a snapshot of what the survey needs
(role, language, account class as they were when invited): a survey keeps what it asked whom,
even when the contact changes later.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.db import Base, str_enum, utcnow
from monitor.i18n import Language


class RespondentRole(enum.StrEnum):
    """The contact roles that answer the survey, each with its own questionnaire."""

    USER = "user"
    BUYER = "buyer"
    DECIDER = "decider"


class QuestionKind(enum.StrEnum):
    #: 0 to 10, "how likely are you to recommend…".
    NPS = "nps"
    #: Satisfaction rating 1 to 5.
    CSAT = "csat"
    #: Customer effort 1 to 7, agreement with "... made it easy" (7: very easy).
    CES = "ces"
    SINGLE_CHOICE = "single_choice"
    FREE_TEXT = "free_text"


class Questionnaire(Base):
    """One version of a role's questionnaire. Versions are never changed once stored: a changed
    definition becomes the next version, and answers keep pointing at the one they answered."""

    __tablename__ = "survey_questionnaires"
    __table_args__ = (UniqueConstraint("role", "version", name="uq_survey_questionnaires_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who answers it.
    role: Mapped[RespondentRole] = mapped_column(str_enum(RespondentRole, "respondent_role"))
    #: 1, 2, ... per role.
    version: Mapped[int]
    #: SHA-256 of the definition: loading the same data again adds no version.
    content_hash: Mapped[str] = mapped_column(String(64))
    #: Titles, intro texts and questions in every language (see ``surveys/data/*.toml``).
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyCycle(Base):
    """The survey of one quarter."""

    __tablename__ = "survey_cycles"
    __table_args__ = (CheckConstraint("closes_at > opens_at", name="closes_after_opening"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``2026-Q4``; one cycle per quarter.
    quarter: Mapped[str] = mapped_column(String(7), unique=True)
    #: When invitations went out (links work from then on).
    opens_at: Mapped[datetime]
    #: When the links expire and the results are final.
    closes_at: Mapped[datetime]
    #: Days after opening on which non-responders are reminded, e.g. ``[7, 14]``.
    reminder_days: Mapped[list[Any]] = mapped_column(default=list)
    #: Users, buyers and deciders of active accounts when the cycle opened.
    eligible_count: Mapped[int] = mapped_column(default=0)
    #: Of those, how many had opted out (not invited).
    opted_out_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    """One contact asked to answer one cycle. The unique (cycle, contact) pair is what makes a
    dispatch that runs twice, or on two workers at once, invite nobody twice."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        UniqueConstraint("cycle_id", "contact_id", name="uq_survey_invitations_cycle_contact"),
        Index("ix_survey_invitations_cycle_responded", "cycle_id", "responded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("survey_cycles.id", ondelete="CASCADE"))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("survey_questionnaires.id"))
    #: The contact (accounts), by id.
    contact_id: Mapped[int] = mapped_column(index=True)
    account_id: Mapped[int] = mapped_column(index=True)
    #: The contact's role, language and the account's class when invited.
    respondent_role: Mapped[RespondentRole] = mapped_column(
        str_enum(RespondentRole, "respondent_role")
    )
    language: Mapped[Language] = mapped_column(str_enum(Language, "survey_language"))
    account_class: Mapped[str] = mapped_column(String(1))
    #: Where the invitation went.
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: First time the survey page was opened with one of its links.
    opened_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    #: Reminders sent so far (at most one per configured reminder day).
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None]

    cycle: Mapped[SurveyCycle] = relationship(lazy="joined")
    questionnaire: Mapped[Questionnaire] = relationship()


class SurveyLink(Base):
    """A personal link sent for an invitation (the invitation, and each reminder). Only the
    SHA-256 of its random token is kept, so the stored data cannot answer anyone's survey."""

    __tablename__ = "survey_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``invitation`` or ``reminder-1``, ``reminder-2``.
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invitation: Mapped[Invitation] = relationship(lazy="joined")


class SurveyResponse(Base):
    """A submitted questionnaire: at most one per invitation."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("ix_survey_responses_cycle_role", "cycle_id", "respondent_role"),
        Index("ix_survey_responses_submitted_at", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"), unique=True
    )
    cycle_id: Mapped[int] = mapped_column(ForeignKey("survey_cycles.id", ondelete="CASCADE"))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("survey_questionnaires.id"))
    account_id: Mapped[int] = mapped_column(index=True)
    contact_id: Mapped[int] = mapped_column(index=True)
    respondent_role: Mapped[RespondentRole] = mapped_column(
        str_enum(RespondentRole, "respondent_role")
    )
    account_class: Mapped[str] = mapped_column(String(1))
    #: The language the page was answered in.
    language: Mapped[Language] = mapped_column(str_enum(Language, "survey_language"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The respondent ticked "please contact me".
    wants_contact: Mapped[bool] = mapped_column(default=False)
    #: The follow-up complaint this response opened (complaints), by id.
    complaint_id: Mapped[int | None]

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", order_by="Answer.id", passive_deletes=True
    )


class Answer(Base):
    """One question's answer. ``kind`` is copied from the questionnaire so scoring needs no
    definition lookup."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question_key", name="uq_survey_answers_question"),
        Index("ix_survey_answers_kind", "kind", "response_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    #: The question's id in the questionnaire version answered.
    question_key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind, "question_kind"))
    #: NPS, CSAT and CES scores.
    score: Mapped[int | None]
    #: A single choice's option id, or free text.
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
