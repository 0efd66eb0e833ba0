"""Disputes: the customer contests invoices, and the ladder waits until finance resolves it.

A quality, service or contract dispute is also a complaint for the senior-manager queue: opening
the dispute opens the complaint through the complaints service (channel ``dispute``, origin
``("dispute", id)``) and keeps its id, so each points at the other. Pricing and delivery
disputes are settled by finance and sales alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from monitor.accounts.services import register_account_dependent
from monitor.api.problems import Conflict, FieldError, NotFound
from monitor.audit.context import current_actor
from monitor.complaints.services import open_complaint
from monitor.db import utcnow
from receivables.escalation_models import (
    Dispute,
    DisputedInvoice,
    DisputeReason,
    DisputeState,
)
from receivables.ledger import account_for_posting
from receivables.models import Invoice


@dataclass(frozen=True)
class ComplaintRoute:
    """How a dispute reason is filed as a complaint."""

    category: str
    severity: str


#: The dispute reasons that are complaints too, and how they are filed.
COMPLAINT_ROUTES: dict[DisputeReason, ComplaintRoute] = {
    DisputeReason.QUALITY: ComplaintRoute("product_quality", "high"),
    DisputeReason.SERVICE: ComplaintRoute("service", "medium"),
    DisputeReason.CONTRACT: ComplaintRoute("contract", "medium"),
}


def _disputes_of(session: Session, account_id: int) -> str | None:
    found = session.scalar(select(exists().where(Dispute.account_id == account_id)))
    return "disputes" if found else None


register_account_dependent(_disputes_of)


def get_dispute(session: Session, dispute_id: int) -> Dispute:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound(f"dispute {dispute_id}")
    return dispute


def open_dispute(
    session: Session,
    *,
    account_id: int,
    invoice_numbers: Sequence[str],
    reason: DisputeReason | str,
    description: str,
) -> Dispute:
    """Record a dispute on invoices of one account; quality, service and contract disputes
    also open a complaint, linked both ways. The ladder pauses while the dispute is open.

    An invoice is in at most one open dispute (409 naming ``invoice_numbers``).
    """
    account = account_for_posting(session, account_id)
    reason = DisputeReason(reason)
    if not invoice_numbers:
        raise FieldError("invoice_numbers", "name at least one invoice", "missing")
    if len(set(invoice_numbers)) != len(invoice_numbers):
        raise FieldError("invoice_numbers", "an invoice is named twice", "duplicate")
    invoices = {
        invoice.number: invoice
        for invoice in session.scalars(select(Invoice).where(Invoice.number.in_(invoice_numbers)))
    }
    for index, number in enumerate(invoice_numbers):
        invoice = invoices.get(number)
        if invoice is None or invoice.account_id != account.id:
            raise FieldError(
                f"invoice_numbers.{index}",
                f"no invoice {number} of account {account.code}",
                "not_found",
            )
    already = session.execute(
        select(Invoice.number, Dispute.id)
        .join(DisputedInvoice, DisputedInvoice.invoice_id == Invoice.id)
        .join(Dispute, Dispute.id == DisputedInvoice.dispute_id)
        .where(
            Invoice.id.in_([i.id for i in invoices.values()]),
            Dispute.state == DisputeState.OPEN,
        )
        .order_by(Invoice.number)
    ).first()
    if already is not None:
        # One open dispute per invoice: also what makes a retried request harmless.
        raise Conflict(
            f"invoice {already[0]} is already disputed (dispute {already[1]}, open)",
            field="invoice_numbers",
        )
    dispute = Dispute(
        account_id=account.id,
        reason=reason,
        description=description,
        state=DisputeState.OPEN,
        opened_by=current_actor().label,
    )
    dispute.invoices = [DisputedInvoice(invoice_id=invoices[n].id) for n in invoice_numbers]
    session.add(dispute)
    session.flush()
    route = COMPLAINT_ROUTES.get(reason)
    if route is not None:
        total = sum((invoices[n].amount for n in invoice_numbers), Decimal("0.00"))
        complaint = open_complaint(
            session,
            account_id=account.id,
            channel="dispute",
            category=route.category,
            severity=route.severity,
            description=(
                f"{reason.value} dispute on invoice(s) {', '.join(invoice_numbers)} "
                f"({total:,.2f} {account.currency}): {description}"
            ),
            occurred_at=None,
            origin=("dispute", dispute.id),
        )
        dispute.complaint_id = complaint.id
        session.flush()
    return dispute


def resolve_dispute(session: Session, dispute: Dispute, resolution: str) -> Dispute:
    """Close the dispute with how it was settled; the ladder resumes at its next daily run.

    The linked complaint keeps its own life in the senior-manager queue.
    """
    if dispute.state is DisputeState.RESOLVED:
        raise Conflict(f"dispute {dispute.id} was resolved at {dispute.resolved_at:%Y-%m-%d}")
    dispute.state = DisputeState.RESOLVED
    dispute.resolution = resolution
    dispute.resolved_at = utcnow()
    session.flush()
    return dispute


def list_disputes(
    session: Session,
    *,
    account_id: int | None = None,
    state: DisputeState | None = None,
    reason: DisputeReason | None = None,
) -> Any:
    """A select of disputes, newest first, for pagination."""
    stmt = select(Dispute).order_by(Dispute.id.desc())
    if account_id is not None:
        stmt = stmt.where(Dispute.account_id == account_id)
    if state is not None:
        stmt = stmt.where(Dispute.state == state)
    if reason is not None:
        stmt = stmt.where(Dispute.reason == reason)
    return stmt


def invoice_numbers(session: Session, dispute_ids: Sequence[int]) -> dict[int, list[str]]:
    """The numbers of each dispute's invoices, in order, in one query for a whole page."""
    numbers: dict[int, list[str]] = {dispute_id: [] for dispute_id in dispute_ids}
    stmt = (
        select(DisputedInvoice.dispute_id, Invoice.number)
        .join(Invoice, Invoice.id == DisputedInvoice.invoice_id)
        .where(DisputedInvoice.dispute_id.in_(dispute_ids))
        .order_by(Invoice.number)
    )
    for dispute_id, number in session.execute(stmt):
        numbers[dispute_id].append(number)
    return numbers
