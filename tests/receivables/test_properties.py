"""Properties over generated ledgers (hypothesis): instalments add up to the invoice,
allocations never exceed what is due (nor the payment), and at every as-of date the aging
buckets add up to the open items, which add up to the ledger balance."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from monitor.api.problems import Problem
from receivables import aging, ledger, terms
from receivables.models import DueBasis, Instalment, Payment, Posting
from receivables.terms import InstalmentRule, Terms

START = date(2026, 1, 1)
cents = st.integers(min_value=1, max_value=10**11).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def term_shapes(draw) -> Terms:
    parts = draw(st.integers(min_value=1, max_value=6))
    advance = draw(st.sampled_from([0, 0, 10, 30, 33.33]))
    left = Decimal(10000) - Decimal(str(advance)) * 100  # in hundredths of a percent
    cuts = (
        sorted(
            draw(
                st.lists(
                    st.integers(1, int(left) - 1),
                    min_size=parts - 1,
                    max_size=parts - 1,
                    unique=True,
                )
            )
        )
        if parts > 1
        else []
    )
    bounds = [0, *cuts, int(left)]
    rules = tuple(
        InstalmentRule(
            Decimal(b - a).scaleb(-2),
            draw(st.integers(0, 400)),
            draw(st.sampled_from(list(DueBasis))),
        )
        for a, b in pairwise(bounds)
    )
    return Terms(Decimal(str(advance)), rules)


@given(shape=term_shapes(), amount=cents, issued=st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_instalments_add_up_to_the_invoice(shape, amount, issued):
    schedule = shape.schedule(issued, amount)
    assert sum(part for _, part in schedule) == amount
    assert all(part > 0 and part == part.quantize(Decimal("0.01")) for _, part in schedule)
    assert [due for due, _ in schedule] == sorted(due for due, _ in schedule)
    assert all(due >= issued for due, _ in schedule)


small = st.integers(min_value=1, max_value=500_000).map(lambda n: Decimal(n).scaleb(-2))
operation = st.one_of(
    st.tuples(st.just("invoice"), small, st.integers(0, 150)),
    st.tuples(st.just("pay"), small, st.integers(0, 200)),
    st.tuples(st.just("pay_explicit"), small, st.integers(0, 200)),
    st.tuples(st.just("credit"), small, st.integers(0, 200)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(operation, min_size=1, max_size=14),
    probes=st.lists(st.integers(0, 260), min_size=1, max_size=4),
)
def test_generated_ledgers_keep_their_invariants(session, make_account, operations, probes):
    savepoint = session.begin_nested()
    try:
        account = make_account()
        template = terms.create_template(
            session,
            code=f"P{account.id}",
            name="advance and two",
            advance_percent=Decimal("20"),
            instalments=[
                {"percent": "33.33", "days": 30, "basis": "invoice_date"},
                {"percent": "46.67", "days": 15, "basis": "month_end"},
            ],
        )
        terms.set_account_terms(
            session, account.id, template_id=template.id, effective_from=START + timedelta(days=60)
        )
        invoices = []
        for n, (kind, amount, day) in enumerate(operations):
            on = START + timedelta(days=day)
            try:
                if kind == "invoice":
                    invoices.append(
                        ledger.create_invoice(
                            session,
                            account_id=account.id,
                            number=f"P{account.id}-{n}",
                            issue_date=on,
                            currency="CNY",
                            amount=amount,
                        )
                    )
                elif kind == "pay":
                    ledger.post_payment(
                        session,
                        account_id=account.id,
                        amount=amount,
                        currency="CNY",
                        paid_on=on,
                        reference=f"R{n}",
                        method="cash",
                    )
                elif kind == "pay_explicit" and invoices:
                    target = invoices[n % len(invoices)]
                    ledger.post_payment(
                        session,
                        account_id=account.id,
                        amount=amount,
                        currency="CNY",
                        paid_on=on,
                        reference=f"R{n}",
                        method="cash",
                        allocations=[{"invoice_number": target.number, "amount": amount}],
                    )
                elif kind == "credit" and invoices:
                    target = invoices[n % len(invoices)]
                    ledger.adjust_invoice(
                        session,
                        target,
                        kind="credit_note",
                        number=f"CN{n}",
                        amount=amount,
                        issued_on=max(on, target.issue_date),
                        reason="generated",
                    )
            except Problem as refused:
                # more than is open, or an invoice issued after the payment: refused (409 or 422)
                assert refused.status in (409, 422)
        for invoice in invoices:
            assert sum(i.amount for i in invoice.instalments) == invoice.amount
        # allocations never exceed a payment, nor an instalment's amount
        for payment in session.scalars(select(Payment).where(Payment.account_id == account.id)):
            allocated = -sum(
                (p.amount for p in ledger.payment_allocations(session, payment.id)), Decimal(0)
            )
            assert Decimal(0) <= allocated <= payment.amount
        instalments = session.scalars(
            select(Instalment)
            .join(Instalment.invoice)
            .where(Instalment.invoice.has(account_id=account.id))
        ).all()
        for as_of in [START + timedelta(days=d) for d in probes] + [date(2027, 12, 31)]:
            outstanding = ledger.outstanding_by_instalment(
                session, (i.id for i in instalments), as_of
            )
            for instalment in instalments:
                assert Decimal(0) <= outstanding[instalment.id] <= instalment.amount
            rows = aging.aging_report(session, as_of).rows
            buckets = sum(
                (sum(r.buckets.values()) for r in rows if r.account_id == account.id), Decimal(0)
            )
            items = sum(
                (i.outstanding for i in ledger.open_items(session, account.id, as_of)), Decimal(0)
            )
            assert buckets == items == ledger.ledger_balance(session, as_of, account.id)
            by_invoice_date = aging.aging_report(session, as_of, "invoice").rows
            assert (
                sum((r.total for r in by_invoice_date if r.account_id == account.id), Decimal(0))
                == buckets
            )
        assert (
            session.scalar(
                select(func.count())
                .select_from(Posting)
                .where(Posting.account_id == account.id, Posting.amount == 0)
            )
            == 0
        )
    finally:
        savepoint.rollback()
