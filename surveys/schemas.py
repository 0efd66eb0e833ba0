"""Request and response shapes of the surveys API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from monitor.accounts.models import AccountClass
from monitor.api.schemas import MAX_ID, Output, PageQuery, omittable
from monitor.i18n import Language
from surveys.models import QuestionKind, RespondentRole

QUARTER_PATTERN = r"^20[0-9]{2}-Q[1-4]$"
Status = Literal["ok", "too_few_answers", "no_answers"]


class CycleOut(Output):
    quarter: str
    opens_at: datetime
    closes_at: datetime
    reminder_days: list[int]
    eligible: int = Field(description="Users, buyers and deciders of active accounts at opening.")
    opted_out: int = Field(description="Of those, opted out: not invited.")
    invited: int
    still_to_invite: int = Field(description="Invitations the dispatch has still to create.")
    opened: int
    responded: int
    reminded: int
    follow_ups: int = Field(description="Responses that opened a complaint.")


class QuestionOut(Output):
    id: str
    kind: QuestionKind
    required: bool
    category: str
    text: dict[str, str]
    options: list[dict[str, str]] = []


class QuestionnaireOut(Output):
    id: int
    role: RespondentRole
    version: int
    created_at: datetime
    title: dict[str, str]
    questions: list[QuestionOut]


class QuestionnaireList(Output):
    items: list[QuestionnaireOut]


class AnswerOut(Output):
    question_key: str
    kind: QuestionKind
    score: int | None
    text: str | None


class ResponseOut(Output):
    id: int
    quarter: str
    account_id: int
    contact_id: int
    respondent_role: RespondentRole
    account_class: str
    language: Language
    questionnaire_id: int
    submitted_at: datetime
    wants_contact: bool
    complaint_id: int | None = Field(description="The follow-up complaint it opened, if any.")
    answers: list[AnswerOut]


class ResponsePage(Output):
    items: list[ResponseOut]
    page: int
    per_page: int
    total: int


class ResponseQuery(PageQuery):
    quarter: str = omittable(pattern=QUARTER_PATTERN, description="e.g. 2026-Q4")
    account_id: int = omittable(ge=1, le=MAX_ID)
    respondent_role: RespondentRole = omittable()
    account_class: AccountClass = omittable()
    follow_up: bool = omittable(description="Only responses that opened a complaint (or not).")
    wants_contact: bool = omittable()
    nps_at_most: int = omittable(ge=0, le=10, description="Only NPS answers up to this score.")
    submitted_from: AwareDatetime = omittable()
    submitted_before: AwareDatetime = omittable()


class Figure(Output):
    value: float | None = Field(description="Null when there are too few answers.")
    answers: int
    status: Status
    method: str
    definition: str


class AccountFigure(Output):
    value: float | None
    accounts: int = Field(description="Accounts with a figure, over which the mean is taken.")
    status: Status
    method: str
    definition: str


class Rate(Output):
    value: float | None
    responded: int
    invited: int
    status: Status
    method: str
    definition: str


class Scores(Output):
    nps: Figure
    csat: Figure
    ces: Figure


class GroupScores(Scores):
    response_rate: Rate


class AccountRollup(Output):
    nps: AccountFigure
    csat: AccountFigure
    ces: AccountFigure


class Rollups(Output):
    all_responses: Scores
    account_average: AccountRollup
    weighted_roles: AccountRollup
    waterfall: AccountRollup


class MetricChange(Output):
    nps: float | None
    csat: float | None
    ces: float | None


class Change(Output):
    response_rate: float | None
    overall: MetricChange
    by_role: dict[str, MetricChange]
    by_account_class: dict[str, MetricChange]


class CycleResults(Output):
    quarter: str
    opens_at: datetime
    closes_at: datetime
    min_answers: int
    methods: dict[str, str]
    response_rate: Rate
    overall: Rollups
    by_role: dict[str, GroupScores]
    by_account_class: dict[str, GroupScores]
    accounts: int
    previous_quarter: str
    change: Change | None = Field(description="Points against the previous quarter's cycle.")


class WaterfallFigure(Figure):
    source_role: RespondentRole | None


class WaterfallScores(Output):
    nps: WaterfallFigure
    csat: WaterfallFigure
    ces: WaterfallFigure


class AccountScores(Output):
    account_class: str
    responded: int
    roles_answered: list[RespondentRole]
    roles_not_answered: list[RespondentRole]
    roles_not_invited: list[RespondentRole]
    weights: dict[str, float]
    all_responses: Scores
    weighted_roles: Scores
    waterfall: WaterfallScores


class AccountResult(AccountScores):
    account_id: int
    code: str
    name: str


class AccountResultPage(Output):
    items: list[AccountResult]
    page: int
    per_page: int
    total: int


class AccountResultQuery(PageQuery):
    missing_role: RespondentRole = omittable(description="Only accounts where it did not answer.")


class TrendChange(Output):
    response_rate: float | None
    nps: float | None
    csat: float | None
    ces: float | None


class TrendQuarter(AccountScores):
    quarter: str
    response_rate: Rate
    change: TrendChange | None


class AccountTrend(Output):
    account_id: int
    quarters: list[TrendQuarter]


class CoverageItem(Output):
    account_id: int
    code: str
    name: str
    account_class: str
    no_contact: list[RespondentRole]
    not_answered: list[RespondentRole]


class Coverage(Output):
    quarter: str
    summary: dict[str, int]
    items: list[CoverageItem]
    page: int
    per_page: int
    total: int


class CycleList(Output):
    items: list[CycleOut]
