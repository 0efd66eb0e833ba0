"""The payment calendar: one row per account, one column per month, each cell what falls due
that month (day and amount), what was paid or credited, what is still open, and whether it is
late — the customer × month sheet finance keeps, built from instalments and the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from monitor.accounts.models import AccountClass
from monitor.accounts.services import account_briefs
from receivables.aging import as_date, overdue_accounts
from receivables.ledger import ZERO, cents_sum
from receivables.models import Instalment, Invoice, Posting, PostingKind


def month_start(text: str) -> date:
    """``"2026-01"`` → 1 January 2026."""
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class CalendarInstalment:
    instalment_id: int
    invoice_number: str
    due_date: date
    amount: Decimal
    paid: Decimal
    credited: Decimal
    outstanding: Decimal
    last_paid_on: date | None
    late: bool

    @property
    def day(self) -> int:
        return self.due_date.day


@dataclass
class CalendarCell:
    month: str
    instalments: list[CalendarInstalment] = field(default_factory=list)

    @property
    def due(self) -> Decimal:
        return sum((i.amount for i in self.instalments), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((i.paid for i in self.instalments), ZERO)

    @property
    def credited(self) -> Decimal:
        return sum((i.credited for i in self.instalments), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((i.outstanding for i in self.instalments), ZERO)

    @property
    def late(self) -> bool:
        return any(i.late for i in self.instalments)


@dataclass
class CalendarRow:
    account_id: int
    code: str
    name: str
    currency: str
    account_class: AccountClass
    owner_id: int | None
    cells: list[CalendarCell]

    @property
    def due(self) -> Decimal:
        return sum((c.due for c in self.cells), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((c.outstanding for c in self.cells), ZERO)


def payment_calendar(
    session: Session,
    *,
    start: date,
    months: int,
    as_of: date,
    page: int = 1,
    per_page: int = 50,
    account_class: AccountClass | None = None,
    owner_id: int | None = None,
    overdue_only: bool = False,
) -> dict[str, Any]:
    """One page of calendar rows (accounts with something due in the window, by code).

    Paid, credited and outstanding count postings up to ``as_of``. An instalment is late when
    it is still open after its due date, or was paid (last payment) after it. ``overdue_only``
    keeps accounts with something overdue as of ``as_of``.
    """
    end = add_months(start, months)
    labels = [f"{add_months(start, n):%Y-%m}" for n in range(months)]
    in_window = (
        select(Invoice.account_id)
        .join(Instalment, Instalment.invoice_id == Invoice.id)
        .where(Instalment.due_date >= start, Instalment.due_date < end)
        .distinct()
    )
    account_ids = set(session.scalars(in_window))
    if overdue_only:
        account_ids &= {a.account_id for a in overdue_accounts(session, as_of)}
    briefs = account_briefs(
        session, ids=account_ids, account_class=account_class, owner_id=owner_id
    )
    total = len(briefs)
    briefs = briefs[(page - 1) * per_page : page * per_page]

    rows = {
        b.id: CalendarRow(
            b.id,
            b.code,
            b.name,
            b.currency,
            b.account_class,
            b.owner_id,
            [CalendarCell(label) for label in labels],
        )
        for b in briefs
    }
    if rows:
        by_payment = Posting.payment_id.is_not(None)
        by_adjustment = Posting.adjustment_id.is_not(None)
        stmt = (
            select(
                Instalment.id,
                Invoice.account_id,
                Invoice.number,
                Instalment.due_date,
                Instalment.amount,
                -cents_sum(case((by_payment, Posting.amount), else_=0)),
                -cents_sum(case((by_adjustment, Posting.amount), else_=0)),
                cents_sum(Posting.amount),
                func.max(case((Posting.kind == PostingKind.PAYMENT.value, Posting.posted_on))),
            )
            .join(Invoice, Invoice.id == Instalment.invoice_id)
            .join(
                Posting,
                and_(Posting.instalment_id == Instalment.id, Posting.posted_on <= as_of),
            )
            .where(
                Invoice.account_id.in_(list(rows)),
                Instalment.due_date >= start,
                Instalment.due_date < end,
            )
            .group_by(
                Instalment.id,
                Invoice.account_id,
                Invoice.number,
                Instalment.due_date,
                Instalment.amount,
            )
            .order_by(Instalment.due_date, Instalment.id)
        )
        for (
            instalment_id,
            account_id,
            number,
            due_date,
            amount,
            paid,
            credited,
            outstanding,
            last_paid,
        ) in session.execute(stmt):
            last_paid_on = as_date(last_paid)
            outstanding = Decimal(outstanding)
            late = (outstanding > 0 and due_date < as_of) or (
                last_paid_on is not None and last_paid_on > due_date
            )
            cell = rows[account_id].cells[labels.index(f"{due_date:%Y-%m}")]
            cell.instalments.append(
                CalendarInstalment(
                    instalment_id,
                    number,
                    due_date,
                    amount,
                    Decimal(paid),
                    Decimal(credited),
                    outstanding,
                    last_paid_on,
                    late,
                )
            )
    return {
        "as_of": as_of,
        "months": labels,
        "items": list(rows.values()),
        "page": page,
        "per_page": per_page,
        "total": total,
    }


_LATE = PatternFill("solid", fgColor="F8D7DA")
_PAID = PatternFill("solid", fgColor="D4EDDA")


def calendar_workbook(calendar: dict[str, Any]) -> bytes:
    """The calendar as an XLSX sheet: account columns, then one column per month whose cell
    reads "day 15: 12,000.00" per instalment, then what is still open; late cells in red,
    settled ones in green. A last sheet lists every instalment, one per row, for filtering."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Calendar"
    head = ["Code", "Account", "Currency", *calendar["months"], "Due", "Outstanding"]
    sheet.append(head)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in calendar["items"]:
        values: list[Any] = [row.code, row.name, row.currency]
        for cell in row.cells:
            lines = [f"day {i.day}: {i.amount:,.2f}" for i in cell.instalments]
            if cell.instalments and cell.outstanding > 0:
                lines.append(f"open {cell.outstanding:,.2f}")
            values.append("\n".join(lines) or None)
        values += [row.due, row.outstanding]
        sheet.append(values)
        excel_row = sheet.max_row
        for offset, cell in enumerate(row.cells):
            target = sheet.cell(excel_row, 4 + offset)
            target.alignment = Alignment(wrap_text=True, vertical="top")
            if cell.late:
                target.fill = _LATE
            elif cell.instalments and cell.outstanding == 0:
                target.fill = _PAID
        for column in (len(head) - 1, len(head)):
            sheet.cell(excel_row, column).number_format = "#,##0.00"
    sheet.freeze_panes = "D2"
    sheet.column_dimensions["B"].width = 36
    for index in range(4, 4 + len(calendar["months"])):
        sheet.column_dimensions[get_column_letter(index)].width = 20

    detail = book.create_sheet("Instalments")
    detail.append(
        ["Code", "Invoice", "Due date", "Amount", "Paid", "Credited", "Outstanding", "Late"]
    )
    for cell in detail[1]:
        cell.font = Font(bold=True)
    for row in calendar["items"]:
        for cell in row.cells:
            for i in cell.instalments:
                detail.append(
                    [
                        row.code,
                        i.invoice_number,
                        i.due_date,
                        i.amount,
                        i.paid,
                        i.credited,
                        i.outstanding,
                        "late" if i.late else "",
                    ]
                )
                detail.cell(detail.max_row, 3).number_format = "yyyy-mm-dd"
                for column in (4, 5, 6, 7):
                    detail.cell(detail.max_row, column).number_format = "#,##0.00"
    out = BytesIO()
    book.save(out)
    return out.getvalue()
