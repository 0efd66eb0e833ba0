"""HTTP API of receivables: parse, authorise (policy table), call a service, serialise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, cast

from flask import Blueprint, Response, current_app, request
from sqlalchemy import Select

from monitor.accounts.services import get_account
from monitor.api.problems import FieldError
from monitor.api.schemas import PageQuery
from monitor.api.spec import operation, parse_query
from monitor.audit.schemas import History
from monitor.audit.services import entity_history
from monitor.auth import request_session
from monitor.db import paginate, utcnow
from receivables import aging, calendar, ledger, metrics, terms
from receivables.models import Invoice, Payment
from receivables.schemas import (
    AccountBalance,
    AccountTermsCreate,
    AccountTermsList,
    AccountTermsOut,
    AdjustmentCreate,
    AdjustmentOut,
    AgingOut,
    AgingQuery,
    AppliedCredit,
    ApplyCredit,
    AsOfQuery,
    CalendarOut,
    CalendarQuery,
    CreditHoldIn,
    CreditHoldOut,
    InvoiceCreate,
    InvoiceOut,
    InvoicePage,
    InvoiceQuery,
    MetricsOut,
    MetricsQuery,
    PaymentCreate,
    PaymentOut,
    PaymentPage,
    PaymentQuery,
    PaymentReversal,
    TermTemplateCreate,
    TermTemplateList,
    TermTemplateOut,
    TrendOut,
    TrendQuery,
)

bp = Blueprint("receivables", __name__, url_prefix="/api/v1")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today() -> date:
    return utcnow().date()


# --- terms --------------------------------------------------------------------------------------


@operation(
    bp,
    "/receivables/term-templates",
    "GET",
    summary="List payment-terms templates",
    response=TermTemplateList,
)
def list_term_templates() -> dict:
    return {"items": terms.list_templates(request_session())}


@operation(
    bp,
    "/receivables/term-templates",
    "POST",
    summary="Create a payment-terms template",
    body=TermTemplateCreate,
    response=TermTemplateOut,
    status=201,
    errors=(409,),
)
def create_term_template(body: TermTemplateCreate) -> object:
    """Net N days, end of month + N days, instalments, an advance share: see the body."""
    percents = terms.percents_from_shares(
        body.advance_percent, [rule.share for rule in body.instalments]
    )
    return terms.create_template(
        request_session(),
        code=body.code,
        name=body.name,
        advance_percent=body.advance_percent,
        instalments=[
            {"percent": percent, "days": rule.days, "basis": rule.basis.value}
            for percent, rule in zip(percents, body.instalments, strict=True)
        ],
    )


@operation(
    bp,
    "/receivables/term-templates/<id:template_id>",
    "GET",
    summary="Read a payment-terms template",
    response=TermTemplateOut,
)
def get_term_template(template_id: int) -> object:
    return terms.get_template(request_session(), template_id)


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/terms",
    "GET",
    summary="An account's effective-dated payment terms",
    response=AccountTermsList,
)
def list_account_terms(account_id: int) -> dict:
    """Newest first; an invoice takes the terms with the latest start on or before its date
    (net 30 when there are none)."""
    session = request_session()
    get_account(session, account_id)
    return {"items": terms.account_terms(session, account_id)}


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/terms",
    "POST",
    summary="Put payment terms in force from a date",
    body=AccountTermsCreate,
    response=AccountTermsOut,
    status=201,
)
def set_account_terms(account_id: int, body: AccountTermsCreate) -> object:
    """Invoices already issued keep their schedules; terms given again for the same start date
    replace those (the history keeps both)."""
    session = request_session()
    get_account(session, account_id)
    return terms.set_account_terms(session, account_id, **body.model_dump())


# --- credit hold and balance --------------------------------------------------------------------


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/credit-hold",
    "GET",
    summary="Whether an account is on credit hold",
    response=CreditHoldOut,
)
def get_credit_hold(account_id: int) -> dict:
    """All staff may ask (agents take orders); nothing else of receivables shows here."""
    session = request_session()
    get_account(session, account_id)
    return {"account_id": account_id, "on_hold": ledger.credit_hold(session, account_id)}


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/credit-hold",
    "PUT",
    summary="Set or lift an account's credit hold",
    body=CreditHoldIn,
    response=CreditHoldOut,
)
def put_credit_hold(account_id: int, body: CreditHoldIn) -> dict:
    """The reason is kept in the account's credit-hold history."""
    session = request_session()
    get_account(session, account_id)
    ledger.set_credit_hold(session, account_id, body.on_hold, body.reason)
    return {"account_id": account_id, "on_hold": body.on_hold}


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/credit-hold/history",
    "GET",
    summary="Who set or lifted an account's credit hold, and why",
    response=History,
)
def credit_hold_history(account_id: int) -> dict:
    session = request_session()
    get_account(session, account_id)
    return entity_history(session, "credit_hold", account_id)


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/balance",
    "GET",
    summary="An account's open items and balance (the statement)",
    query=AsOfQuery,
    response=AccountBalance,
)
def account_balance(account_id: int, query: AsOfQuery) -> dict:
    session = request_session()
    account = get_account(session, account_id)
    as_of = query.as_of or _today()
    items = ledger.open_items(session, account_id, as_of)
    open_total = sum((i.outstanding for i in items), Decimal("0.00"))
    unapplied = ledger.unapplied_credit(session, account_id, as_of)
    return {
        "account_id": account_id,
        "as_of": as_of,
        "currency": account.currency,
        "open_items": items,
        "open_total": open_total,
        "overdue_total": sum(
            (i.outstanding for i in items if i.days_past_due > 0), Decimal("0.00")
        ),
        "unapplied_credit": unapplied,
        "net_balance": open_total - unapplied,
        "credit_limit": account.credit_limit,
        "on_credit_hold": ledger.credit_hold(session, account_id),
    }


# --- invoices -----------------------------------------------------------------------------------


def _filtered_page(query: PageQuery, listing: Callable[..., Select[Any]]) -> dict[str, Any]:
    """One page of ``listing``, called with the query's filters that were given."""
    filters = query.model_dump(exclude_none=True, exclude={"page", "per_page"})
    return paginate(request_session(), listing(**filters), query.page, query.per_page)


def _invoice_view(invoice: Invoice) -> dict[str, Any]:
    session = request_session()
    outstanding = ledger.outstanding_by_instalment(session, (i.id for i in invoice.instalments))
    return {
        **{c: getattr(invoice, c) for c in InvoiceOut.model_fields if hasattr(invoice, c)},
        "outstanding": sum(outstanding.values(), Decimal("0.00")),
        "instalments": [
            {
                "id": i.id,
                "sequence": i.sequence,
                "due_date": i.due_date,
                "amount": i.amount,
                "outstanding": outstanding[i.id],
            }
            for i in invoice.instalments
        ],
    }


@operation(
    bp,
    "/receivables/invoices",
    "GET",
    summary="List invoices",
    query=InvoiceQuery,
    response=InvoicePage,
)
def list_invoices(query: InvoiceQuery) -> dict:
    """Newest first; filter by account and issue dates."""
    return _filtered_page(query, ledger.list_invoices)


@operation(
    bp,
    "/receivables/invoices",
    "POST",
    summary="Record an invoice",
    body=InvoiceCreate,
    response=InvoiceOut,
    status=201,
    errors=(409,),
)
def create_invoice(body: InvoiceCreate) -> dict:
    """The instalments follow the account's terms in force on the issue date; their amounts add
    up exactly to the invoice (the rounding remainder goes to the last)."""
    invoice = ledger.create_invoice(request_session(), **body.model_dump())
    return _invoice_view(invoice)


@operation(
    bp,
    "/receivables/invoices/<id:invoice_id>",
    "GET",
    summary="Read an invoice with its instalments",
    response=InvoiceOut,
)
def get_invoice(invoice_id: int) -> dict:
    return _invoice_view(ledger.get_invoice(request_session(), invoice_id))


@operation(
    bp,
    "/receivables/invoices/<id:invoice_id>/adjustments",
    "POST",
    summary="Issue a credit note or write off",
    body=AdjustmentCreate,
    response=AdjustmentOut,
    status=201,
    errors=(409,),
)
def adjust_invoice(invoice_id: int, body: AdjustmentCreate) -> object:
    """Reduces the invoice's open balance, oldest due instalment first; never by more than is
    open."""
    session = request_session()
    invoice = ledger.get_invoice(session, invoice_id)
    return ledger.adjust_invoice(session, invoice, **body.root.model_dump())


# --- payments -----------------------------------------------------------------------------------


def _payment_view(payment: Payment) -> dict[str, Any]:
    session = request_session()
    postings = ledger.payment_allocations(session, payment.id)
    allocated = -sum((p.amount for p in postings), Decimal("0.00"))
    return {
        **{c: getattr(payment, c) for c in PaymentOut.model_fields if hasattr(payment, c)},
        "allocated": allocated,
        "unapplied": Decimal("0.00") if payment.reversed_on else payment.amount - allocated,
        "allocations": postings,
    }


@operation(
    bp,
    "/receivables/payments",
    "GET",
    summary="List payments",
    query=PaymentQuery,
    response=PaymentPage,
)
def list_payments(query: PaymentQuery) -> dict:
    """Newest first; filter by account and reference."""
    return _filtered_page(query, ledger.list_payments)


@operation(
    bp,
    "/receivables/payments",
    "POST",
    summary="Record a payment",
    body=PaymentCreate,
    response=PaymentOut,
    status=201,
    errors=(409,),
)
def create_payment(body: PaymentCreate) -> dict:
    """Send `Idempotency-Key` to retry safely: a repeat answers with the payment recorded the
    first time. The same `reference` on the same account is also recorded once."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key.strip()) <= 100:
        raise FieldError("Idempotency-Key", "1 to 100 characters", location="header")
    data = body.model_dump()
    if data["allocations"] is not None:
        data["allocations"] = [a.model_dump() for a in body.allocations or []]
    payment = ledger.post_payment(
        request_session(), **data, idempotency_key=key.strip() if key else None
    )
    return _payment_view(payment)


@operation(
    bp,
    "/receivables/payments/<id:payment_id>",
    "GET",
    summary="Read a payment with its allocations",
    response=PaymentOut,
)
def get_payment(payment_id: int) -> dict:
    return _payment_view(ledger.get_payment(request_session(), payment_id))


@operation(
    bp,
    "/receivables/payments/<id:payment_id>/reversal",
    "POST",
    summary="Reverse a payment",
    body=PaymentReversal,
    response=PaymentOut,
    errors=(409,),
)
def reverse_payment(payment_id: int, body: PaymentReversal) -> dict:
    """Every allocation is undone by a reversal posting on `reversed_on`; aging as of earlier
    dates still shows the payment."""
    session = request_session()
    payment = ledger.get_payment(session, payment_id)
    ledger.reverse_payment(session, payment, **body.model_dump())
    return _payment_view(payment)


@operation(
    bp,
    "/receivables/accounts/<id:account_id>/apply-credit",
    "POST",
    summary="Apply an account's unapplied credit to its open instalments",
    body=ApplyCredit,
    response=AppliedCredit,
)
def apply_credit(account_id: int, body: ApplyCredit) -> dict:
    """Oldest due first, dated `applied_on` (for money received before the invoice)."""
    session = request_session()
    get_account(session, account_id)
    applied = ledger.apply_unapplied_credit(session, account_id, body.applied_on)
    return {
        "applied": applied,
        "unapplied": ledger.unapplied_credit(session, account_id),
    }


# --- aging, metrics, calendar -------------------------------------------------------------------


@operation(
    bp,
    "/receivables/aging",
    "GET",
    summary="Aging of open receivables",
    query=AgingQuery,
    response=AgingOut,
)
def get_aging(query: AgingQuery) -> dict:
    """As of any date (default today), by due date (default) or invoice date, with bucket
    limits in days (`buckets=0,30,60,90,120`). Totals are per currency over every matching
    account; `items` is one page of accounts by code."""
    report = aging.aging_report(
        request_session(),
        query.as_of or _today(),
        query.basis,
        query.buckets,
        account_class=query.account_class,
        owner_id=query.owner_id,
        overdue_only=query.overdue_only,
    )
    start = (query.page - 1) * query.per_page
    return {
        "as_of": report.as_of,
        "basis": report.basis,
        "labels": report.labels,
        "totals": report.totals,
        "items": report.rows[start : start + query.per_page],
        "page": query.page,
        "per_page": query.per_page,
        "total": len(report.rows),
    }


@operation(
    bp,
    "/receivables/metrics",
    "GET",
    summary="DSO, best possible DSO, ADD, CEI and expected credit loss",
    query=MetricsQuery,
    response=MetricsOut,
)
def get_metrics(query: MetricsQuery) -> object:
    """Per currency, over the last `months` months; the formulas are in the documentation of
    `receivables.metrics`."""
    return metrics.receivables_metrics(
        request_session(), query.as_of or _today(), query.currency, query.months
    )


@operation(
    bp,
    "/receivables/aging/trend",
    "GET",
    summary="Month-end aging, as stored each month",
    query=TrendQuery,
    response=TrendOut,
)
def get_aging_trend(query: TrendQuery) -> dict:
    """Per month end and currency: open and overdue totals and net credit sales, from the
    snapshots the month-end job stores (one account's with `account_id`)."""
    found = metrics.aging_trend(request_session(), query.account_id, query.months)
    return {"items": found}


def _calendar(query: CalendarQuery) -> dict:
    return calendar.payment_calendar(
        request_session(),
        start=calendar.month_start(query.from_),
        months=query.months,
        as_of=_today(),
        page=query.page,
        per_page=query.per_page,
        account_class=query.account_class,
        owner_id=query.owner_id,
        overdue_only=query.overdue_only,
    )


@operation(
    bp,
    "/receivables/calendar",
    "GET",
    summary="The payment calendar: accounts by months",
    query=CalendarQuery,
    response=CalendarOut,
)
def get_calendar(query: CalendarQuery) -> dict:
    """One row per account with something due in the months, one cell per month: each
    instalment's day and amount, what is paid, credited and open, and whether it is late.
    The same sheet as XLSX: `GET /api/v1/receivables/calendar.xlsx` with the same parameters."""
    return _calendar(query)


def calendar_xlsx() -> Response:
    query = cast(CalendarQuery, parse_query(CalendarQuery))
    body = calendar.calendar_workbook(_calendar(query))
    response = current_app.response_class(body, mimetype=XLSX)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="payment-calendar-{query.from_}.xlsx"'
    )
    return response


bp.add_url_rule("/receivables/calendar.xlsx", "calendar_xlsx", calendar_xlsx, methods=["GET"])
