"""Request and response shapes of the receivables API."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    RootModel,
    WithJsonSchema,
)

from monitor.accounts.models import AccountClass
from monitor.api.schemas import (
    MAX_ID,
    Currency,
    Id,
    Input,
    NonNegativeMoney,
    Output,
    PageQuery,
    Query,
    integer,
    omittable,
    omittable_text,
    text,
)
from receivables.models import AdjustmentKind, DueBasis, PaymentMethod, PostingKind

Money = NonNegativeMoney
_POSITIVE_MONEY = re.compile(r"^([1-9][0-9]{0,15}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")


def _positive_money(value: object) -> Decimal:
    if not isinstance(value, str) or not _POSITIVE_MONEY.fullmatch(value):
        raise ValueError(
            'an amount above zero as a string with at most two decimals, e.g. "1200.50"'
        )
    return Decimal(value)


#: An amount above zero: what an invoice, a payment, a credit note or an allocation carries.
PositiveMoney = Annotated[
    Decimal,
    PlainValidator(_positive_money),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _POSITIVE_MONEY.pattern,
            "description": 'Amount above zero, to the cent, as a string: "1200.50".',
        }
    ),
]
_DATE = re.compile(
    r"^(19|20)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9])|(0[13-9]|1[0-2])-30"
    r"|(0[13578]|1[02])-31)$"
)


def _business_date(value: object) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("a date from 1900 to 2099 as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a day of the calendar") from None


#: A bookkeeping date, 1900 to 2099 (so that due dates years ahead can always be computed).
BusinessDate = Annotated[
    date,
    PlainValidator(_business_date),
    PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": _DATE.pattern,
            "description": "YYYY-MM-DD, 1900 to 2099.",
        }
    ),
]
DocumentNumber = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_./\-]{0,39}$",
        description="As printed: letters, digits, '_', '.', '/', '-'.",
    ),
]
Reference = Annotated[str, text(100, description="The bank's or payer's reference.")]
_ADVANCE = re.compile(r"^([0-9]{1,2}(\.[0-9]{1,2})?)$")
_WEIGHT = re.compile(r"^([1-9][0-9]{0,2}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")


def _decimal_matching(pattern: re.Pattern[str], message: str) -> object:
    def parse(value: object) -> Decimal:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(message)
        return Decimal(value)

    return PlainValidator(parse)


AdvancePercent = Annotated[
    Decimal,
    _decimal_matching(_ADVANCE, 'a percentage from "0" to "99.99", e.g. "30"'),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _ADVANCE.pattern,
            "description": 'Due at invoicing, e.g. "30".',
        }
    ),
]
Weight = Annotated[
    Decimal,
    _decimal_matching(_WEIGHT, 'a positive number up to "999.99", e.g. "70"'),
    WithJsonSchema(
        {"type": "string", "pattern": _WEIGHT.pattern, "description": 'Share, e.g. "70".'}
    ),
]


# --- terms --------------------------------------------------------------------------------------


Days = Annotated[integer(0, 3650), Field(description="Days after the basis date.")]


class InstalmentRuleIn(Input):
    share: Weight
    days: Days
    basis: DueBasis = DueBasis.INVOICE_DATE


class TermTemplateCreate(Input):
    """Net 30: `{"instalments": [{"share": "100", "days": 30}]}`; end of month + 60:
    `[{"share": "100", "days": 60, "basis": "month_end"}]`; 30 % advance and the rest at 60
    days: `"advance_percent": "30", "instalments": [{"share": "70", "days": 60}]`.

    The advance is due on the invoice date; the instalments split what is left in proportion to
    their shares (so percentages that add up to 100 minus the advance read as they are). The
    template stores each instalment's percentage of the invoice."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
    name: str = text(200)
    advance_percent: AdvancePercent = Decimal("0")
    instalments: list[InstalmentRuleIn] = Field(min_length=1, max_length=24)


PercentOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]


class InstalmentRuleOut(Output):
    percent: PercentOut
    days: int
    basis: DueBasis


class TermTemplateOut(Output):
    id: int
    code: str
    name: str
    advance_percent: PercentOut
    instalments: list[InstalmentRuleOut]


class TermTemplateList(Output):
    items: list[TermTemplateOut]


class AccountTermsCreate(Input):
    template_id: Id
    effective_from: BusinessDate
    note: str | None = Field(default=None, max_length=500)


class AccountTermsOut(Output):
    id: int
    account_id: int
    template_id: int
    effective_from: date
    note: str | None
    created_at: datetime


class AccountTermsList(Output):
    items: list[AccountTermsOut]


# --- credit hold --------------------------------------------------------------------------------


class CreditHoldIn(Input):
    on_hold: bool
    reason: str = text(500)


class CreditHoldOut(Output):
    account_id: int
    on_hold: bool


# --- invoices -----------------------------------------------------------------------------------


class InvoiceCreate(Input):
    account_id: Id
    number: DocumentNumber
    issue_date: BusinessDate
    currency: Currency
    amount: PositiveMoney
    description: str | None = Field(default=None, max_length=500)


class InstalmentOut(Output):
    id: int
    sequence: int
    due_date: date
    amount: Money
    outstanding: Money


class InvoiceOut(Output):
    id: int
    account_id: int
    number: str
    issue_date: date
    currency: str
    amount: Money
    outstanding: Money
    description: str | None
    template_id: int | None
    instalments: list[InstalmentOut]
    created_at: datetime


class InvoiceSummary(Output):
    id: int
    account_id: int
    number: str
    issue_date: date
    currency: str
    amount: Money


class InvoicePage(Output):
    items: list[InvoiceSummary]
    page: int
    per_page: int
    total: int


class InvoiceQuery(PageQuery):
    account_id: int = omittable(ge=1, le=MAX_ID)
    issued_from: BusinessDate = omittable()
    issued_to: BusinessDate = omittable()


class CreditNoteCreate(Input):
    """A credit note: its number and amount, never more than is open on the invoice."""

    kind: Literal["credit_note"]
    number: DocumentNumber
    amount: PositiveMoney
    issued_on: BusinessDate
    reason: str = text(500)


class WriteOffCreate(Input):
    """A write-off; without `amount`, everything still open on the invoice."""

    kind: Literal["write_off"]
    amount: PositiveMoney | None = None
    issued_on: BusinessDate
    reason: str = text(500)


class AdjustmentCreate(
    RootModel[Annotated[CreditNoteCreate | WriteOffCreate, Field(discriminator="kind")]]
):
    """A credit note (`"kind": "credit_note"`) or a write-off (`"kind": "write_off"`)."""


class AdjustmentOut(Output):
    id: int
    invoice_id: int
    kind: AdjustmentKind
    number: str | None
    amount: Money
    issued_on: date
    reason: str


# --- payments -----------------------------------------------------------------------------------


class InstalmentAllocation(Input):
    instalment_id: Id
    amount: PositiveMoney


class InvoiceAllocation(Input):
    """To an invoice: its instalments oldest due first."""

    invoice_number: DocumentNumber
    amount: PositiveMoney


class PaymentCreate(Input):
    """Without `allocations` the money goes to the oldest due instalments; the rest stays
    unapplied credit. Send an `Idempotency-Key` header to retry safely; the same reference on
    the same account is also recorded once."""

    account_id: Id
    amount: PositiveMoney
    currency: Currency
    paid_on: BusinessDate
    reference: Reference
    method: PaymentMethod
    allocations: list[InstalmentAllocation | InvoiceAllocation] | None = Field(
        default=None, max_length=500
    )


class PostingOut(Output):
    id: int
    instalment_id: int
    kind: PostingKind
    #: Signed: negative reduces what is open.
    amount: Decimal
    posted_on: date
    reverses_id: int | None


class PaymentOut(Output):
    id: int
    account_id: int
    amount: Money
    currency: str
    paid_on: date
    reference: str
    method: PaymentMethod
    reversed_on: date | None
    reversal_reason: str | None
    allocated: Money
    unapplied: Money
    allocations: list[PostingOut]
    created_at: datetime


class PaymentSummary(Output):
    id: int
    account_id: int
    amount: Money
    currency: str
    paid_on: date
    reference: str
    method: PaymentMethod
    reversed_on: date | None


class PaymentPage(Output):
    items: list[PaymentSummary]
    page: int
    per_page: int
    total: int


class PaymentQuery(PageQuery):
    account_id: int = omittable(ge=1, le=MAX_ID)
    reference: str = omittable_text(100)


class PaymentReversal(Input):
    reversed_on: BusinessDate
    reason: str = text(500)


class ApplyCredit(Input):
    applied_on: BusinessDate


class AppliedCredit(Output):
    applied: Money
    unapplied: Money


# --- statements, aging, metrics -----------------------------------------------------------------


class AsOfQuery(Query):
    as_of: BusinessDate = omittable(description="Default: today (UTC).")


class OpenItemOut(Output):
    instalment_id: int
    invoice_id: int
    invoice_number: str
    issue_date: date
    sequence: int
    due_date: date
    currency: str
    amount: Money
    outstanding: Money
    days_past_due: int


class AccountBalance(Output):
    account_id: int
    as_of: date
    currency: str
    open_items: list[OpenItemOut]
    open_total: Money
    overdue_total: Money
    unapplied_credit: Money
    #: Open minus unapplied credit: what the account owes net.
    net_balance: Annotated[Decimal, Field(description="May be negative (credit balance).")]
    credit_limit: Money
    on_credit_hold: bool


_LIMITS = re.compile(r"^[0-9]{1,4}(,[0-9]{1,4}){0,11}$")


def _limits(value: object) -> object:
    if isinstance(value, str):
        if not _LIMITS.fullmatch(value):
            raise ValueError("comma-separated whole days, e.g. 0,30,60,90,120")
        return sorted({int(part) for part in value.split(",")})
    return value


BucketLimits = Annotated[
    list[int],
    BeforeValidator(_limits),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _LIMITS.pattern,
            "description": "Upper limits in days, comma-separated, in any order (default "
            "0,30,60,90,120 by due date, 30,60,90,120 by invoice date).",
        }
    ),
]


class AgingQuery(PageQuery):
    as_of: BusinessDate = omittable(description="Default: today (UTC).")
    basis: Literal["due", "invoice"] = "due"
    buckets: BucketLimits = omittable()
    account_class: AccountClass = omittable()
    owner_id: int = omittable(ge=1, le=MAX_ID)
    overdue_only: bool = False


class AgingRowOut(Output):
    account_id: int
    code: str
    name: str
    currency: str
    buckets: dict[str, Money]
    total: Money
    overdue: Money


class AgingOut(Output):
    as_of: date
    basis: str
    labels: list[str]
    totals: dict[str, dict[str, Money]]
    items: list[AgingRowOut]
    page: int
    per_page: int
    total: int


class MetricsQuery(Query):
    as_of: BusinessDate = omittable(description="Default: today (UTC).")
    currency: Currency
    months: int = Field(default=3, ge=1, le=24, description="Months of sales for DSO and CEI.")


class MetricsOut(Output):
    as_of: date
    currency: str
    months: int
    open_receivables: Money
    current_receivables: Money
    credit_sales: Money
    dso_countback: Decimal | None
    dso_simple: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None
    expected_credit_loss: Money
    loss_rates: dict[str, Decimal]


class CalendarQuery(PageQuery):
    from_: str = Field(
        alias="from",
        pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$",
        description="First month, YYYY-MM.",
    )
    months: int = Field(default=12, ge=1, le=36, description="Number of months.")
    account_class: AccountClass = omittable()
    owner_id: int = omittable(ge=1, le=MAX_ID)
    overdue_only: bool = False


class CalendarInstalment(Output):
    instalment_id: int
    invoice_number: str
    due_date: date
    day: int
    amount: Money
    paid: Money
    credited: Money
    outstanding: Money
    #: Date of the last payment allocated to it.
    last_paid_on: date | None
    #: Open after its due date, or paid after it.
    late: bool


class CalendarCell(Output):
    month: str
    instalments: list[CalendarInstalment]
    due: Money
    paid: Money
    credited: Money
    outstanding: Money
    late: bool


class CalendarRow(Output):
    account_id: int
    code: str
    name: str
    currency: str
    account_class: AccountClass
    owner_id: int | None
    cells: list[CalendarCell]
    due: Money
    outstanding: Money


class CalendarOut(Output):
    as_of: date
    months: list[str]
    items: list[CalendarRow]
    page: int
    per_page: int
    total: int


class TrendQuery(Query):
    account_id: int = omittable(ge=1, le=MAX_ID)
    months: int = Field(default=12, ge=1, le=120, description="Month ends, newest back.")


class TrendPointOut(Output):
    month_end: date
    currency: str
    accounts: int
    open_total: Money
    overdue_total: Money
    credit_sales: Money


class TrendOut(Output):
    items: list[TrendPointOut]
