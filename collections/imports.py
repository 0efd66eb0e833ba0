"""Imports of invoices and payments from CSV and XLSX files, as ERP systems export them.

Files
    ``.csv`` (UTF-8 with or without BOM, or GB 18030 as Chinese Excel saves it; comma,
    semicolon or tab separated; quoted as Excel quotes) or ``.xlsx`` (the first worksheet; date
    and number cells are taken as such). The first row holds the column headers; blank rows are
    skipped; columns not listed below are ignored, so an ERP export can be imported as it is.
    Row numbers in error reports count the header as row 1, as a spreadsheet shows them.

Headers are matched ignoring case, spaces and punctuation (``Invoice No.`` = ``invoice_no``).

Invoices (``receivables import invoices FILE``, ``POST /api/v1/receivables/imports/invoices``)

    ================  ========  ===============================================================
    field             required  accepted headers
    ================  ========  ===============================================================
    account_code      yes       account_code, account, customer, customer no, customer number,
                                customer code, debtor, 客户编号, 客户代码
    invoice_number    yes       invoice_number, invoice no, invoice, document no, document
                                number, 发票号, 发票号码
    issue_date        yes       issue_date, invoice date, document date, posting date, date,
                                开票日期, 日期
    currency          yes       currency, curr, currency code, 币种, 货币
    amount            yes       amount, gross amount, invoice amount, total, 金额, 含税金额
    description       no        description, text, reference text, memo, 摘要, 备注
    ================  ========  ===============================================================

Payments (``receivables import payments FILE``, ``POST /api/v1/receivables/imports/payments``)

    ================  ========  ===============================================================
    account_code      yes       as for invoices
    reference         yes       reference, payment reference, ref, bank reference,
                                transaction id, 流水号, 付款参考
    paid_on           yes       paid_on, payment date, value date, date, 付款日期, 到账日期
    currency          yes       as for invoices
    amount            yes       amount, payment amount, paid amount, 金额, 付款金额
    method            no        method, payment method, 付款方式 (bank_transfer when empty)
    invoice_number    no        invoice_number, invoice no, invoice, 发票号: allocate the whole
                                payment to that invoice instead of the oldest due first
    ================  ========  ===============================================================

Values
    Dates as ``YYYY-MM-DD`` (also ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``YYYYMMDD``) or a date
    cell; day-first or month-first forms are refused as ambiguous. Amounts are positive
    decimals with a point and at most two decimals; ``,`` thousands separators are accepted
    (``1,234.50``). Currencies are ISO 4217 codes and must be the account's. Methods are
    bank_transfer, cheque, direct_debit, card, bank_acceptance, cash, other.

All-or-nothing or partial
    By default an import is all-or-nothing: every row is checked and tried, every error is
    reported (row, column, message), and if any row fails nothing at all is stored. With
    ``partial`` the good rows are stored and only the failing rows are reported; fix those
    and import the same file again.

Idempotent
    An invoice whose number is already recorded with the same account, date, currency and
    amount, or a payment whose reference is already recorded on the account with the same
    amount, currency and date, is counted as ``already_recorded`` and not stored again; the
    same number or reference with different data is an error on that row. Importing the same
    file twice therefore records everything once and says so in the summary.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.accounts.services import account_ids_by_code
from monitor.api.problems import FieldError, Problem
from monitor.data import ISO_4217_CODES
from receivables.ledger import create_invoice, find_invoice, post_payment
from receivables.models import Payment, PaymentMethod

#: Most data rows one file may hold (larger exports: split them by period).
MAX_ROWS = 100_000


class ImportKind(enum.StrEnum):
    INVOICES = "invoices"
    PAYMENTS = "payments"


@dataclass(frozen=True)
class RowError:
    #: Spreadsheet row number (the header is row 1).
    row: int
    #: The file's header of the offending column, or None for the whole row.
    column: str | None
    #: The field of the mapping, or None for the whole row.
    field: str | None
    message: str

    def as_problem_error(self) -> dict[str, Any]:
        return {
            "field": f"row {self.row}" + (f": {self.field}" if self.field else ""),
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "type": "invalid_row",
        }


@dataclass
class ImportResult:
    kind: ImportKind
    partial: bool
    filename: str
    #: Data rows read (blank rows not counted).
    rows: int = 0
    created: int = 0
    already_recorded: int = 0
    #: Rows already in the books (same invoice number or payment reference and data).
    already_recorded_rows: list[int] = field(default_factory=list)
    failed_rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: Whether what was created is kept (False: an all-or-nothing import with errors).
    committed: bool = True

    @property
    def mode(self) -> str:
        return "partial" if self.partial else "all_or_nothing"

    @property
    def failed(self) -> int:
        return len(self.failed_rows)

    @property
    def message(self) -> str:
        if not self.committed:
            return (
                f"{self.failed} of {self.rows} row(s) have errors; nothing was imported "
                "(all-or-nothing). Fix them, or import with partial to keep the good rows."
            )
        text = (
            f"{self.created} {self.kind.value} recorded, {self.already_recorded} already recorded"
        )
        if self.already_recorded:
            text += " (skipped: imported before)"
        if self.failed:
            text += f", {self.failed} row(s) failed and were not imported"
        return text


# --- reading files ------------------------------------------------------------------------------


@dataclass
class Table:
    """A file's header and data rows (spreadsheet row number, cells)."""

    filename: str
    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    #: Rows that could not even be split into cells.
    errors: list[RowError] = field(default_factory=list)


def _file_error(message: str) -> FieldError:
    return FieldError("file", message, "unreadable_file")


def read_table(filename: str, data: bytes) -> Table:
    """Read a CSV or XLSX file (by extension, else by content); a file that cannot be read at
    all is a 422 naming ``file``."""
    if not data.strip():
        raise _file_error("the file is empty")
    lower = filename.lower()
    is_xlsx = lower.endswith((".xlsx", ".xlsm")) or (
        not lower.endswith(".csv") and data[:4] == b"PK\x03\x04"
    )
    table = _read_xlsx(filename, data) if is_xlsx else _read_csv(filename, data)
    if not any(h.strip() for h in table.headers):
        raise _file_error("the first row must hold the column headers")
    if len(table.rows) > MAX_ROWS:
        raise _file_error(f"{len(table.rows)} rows: at most {MAX_ROWS} per file; split it")
    return table


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error("not UTF-8 or GB 18030 text; save the CSV as UTF-8")


def _read_csv(filename: str, data: bytes) -> Table:
    text = _decode(data)
    if "\x00" in text:
        raise _file_error("not a CSV text file (NUL bytes); is it an XLSX with another name?")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    headers: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = []
    errors: list[RowError] = []
    number = 0
    try:
        for record in reader:
            number += 1
            if headers is None:
                headers = [cell.strip() for cell in record]
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(headers) and any(c.strip() for c in record[len(headers) :]):
                errors.append(
                    RowError(
                        number,
                        None,
                        None,
                        f"{len(record)} cells but the header has {len(headers)} columns "
                        "(an unquoted separator in a value?)",
                    )
                )
                continue
            rows.append((number, record))
    except csv.Error as exc:
        errors.append(
            RowError(number + 1, None, None, f"malformed CSV ({exc}); nothing after it was read")
        )
    return Table(filename, headers or [], rows, errors)


def _read_xlsx(filename: str, data: bytes) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not read; the values are fine.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                values = [list(row) for row in sheet.iter_rows(values_only=True)]
            finally:
                workbook.close()
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise _file_error(f"not a readable XLSX workbook ({exc.__class__.__name__})") from None
    except IndexError:
        raise _file_error("the workbook has no worksheet") from None
    if not values:
        raise _file_error("the first worksheet is empty")
    headers = ["" if v is None else str(v).strip() for v in values[0]]
    rows = [
        (number, row)
        for number, row in enumerate(values[1:], start=2)
        if any(v is not None and str(v).strip() for v in row)
    ]
    return Table(filename, headers, rows)


# --- the column mapping -------------------------------------------------------------------------


def _key(header: str) -> str:
    """Headers compare without case, spaces or punctuation (CJK characters are kept)."""
    folded = unicodedata.normalize("NFKC", header).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


@dataclass(frozen=True)
class Column:
    field: str
    required: bool
    headers: tuple[str, ...]
    parse: Callable[[Any], Any]


_DATE = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$")
_PLAIN_AMOUNT = re.compile(r"^\d+(\.\d+)?$")
_GROUPED_AMOUNT = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def _text(value: Any, max_length: int) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number cell holding a code (1001.0 is "1001")
    text = "" if value is None else str(value).strip()
    if not text:
        raise ValueError("is empty")
    if len(text) > max_length:
        raise ValueError(f"is longer than {max_length} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValueError("contains control characters")
    return text


def _parse_code(value: Any) -> str:
    return _text(value, 32).upper()


def _parse_number(value: Any) -> str:
    return _text(value, 40)


def _parse_reference(value: Any) -> str:
    return _text(value, 100)


def _parse_description(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return None
    return _text(value, 500)


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value, 20)
    match = _DATE.fullmatch(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise ValueError(f"{text!r} is not a calendar date") from None
    raise ValueError(f"{text!r} is not a date as YYYY-MM-DD")


def _parse_amount(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("is not an amount")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # the shortest decimal that reads back as this float
    else:
        text = _text(value, 30)
        if _GROUPED_AMOUNT.fullmatch(text):
            text = text.replace(",", "")
        elif text.startswith("-"):
            raise ValueError("must be more than zero")
        elif not _PLAIN_AMOUNT.fullmatch(text):
            raise ValueError(f"{text!r} is not an amount such as 1234.50")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not an amount such as 1234.50") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError("must be more than zero")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("has more than two decimals")
    if amount >= Decimal("1e16"):
        raise ValueError("is too large")
    return amount.quantize(Decimal("0.01"))


def _parse_currency(value: Any) -> str:
    text = _text(value, 10).upper()
    if text not in ISO_4217_CODES:
        raise ValueError(f"{text!r} is not an ISO 4217 currency code")
    return text


_METHOD_ALIASES = {
    "banktransfer": PaymentMethod.BANK_TRANSFER,
    "transfer": PaymentMethod.BANK_TRANSFER,
    "wire": PaymentMethod.BANK_TRANSFER,
    "银行转账": PaymentMethod.BANK_TRANSFER,
    "cheque": PaymentMethod.CHEQUE,
    "check": PaymentMethod.CHEQUE,
    "支票": PaymentMethod.CHEQUE,
    "directdebit": PaymentMethod.DIRECT_DEBIT,
    "card": PaymentMethod.CARD,
    "bankacceptance": PaymentMethod.BANK_ACCEPTANCE,
    "银行承兑汇票": PaymentMethod.BANK_ACCEPTANCE,
    "cash": PaymentMethod.CASH,
    "现金": PaymentMethod.CASH,
    "other": PaymentMethod.OTHER,
}


def _parse_method(value: Any) -> PaymentMethod:
    if value is None or not str(value).strip():
        return PaymentMethod.BANK_TRANSFER
    method = _METHOD_ALIASES.get(_key(str(value)))
    if method is None:
        known = ", ".join(m.value for m in PaymentMethod)
        raise ValueError(f"{str(value).strip()!r} is not a payment method ({known})")
    return method


def _parse_optional_number(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return None
    return _parse_number(value)


_ACCOUNT = Column(
    "account_code",
    True,
    (
        "account_code",
        "account",
        "customer",
        "customer no",
        "customer number",
        "customer code",
        "debtor",
        "客户编号",
        "客户代码",
    ),
    _parse_code,
)
_CURRENCY = Column(
    "currency", True, ("currency", "curr", "currency code", "币种", "货币"), _parse_currency
)

#: The column mapping of each import (see the module docstring).
COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.INVOICES: (
        _ACCOUNT,
        Column(
            "invoice_number",
            True,
            (
                "invoice_number",
                "invoice no",
                "invoice",
                "document no",
                "document number",
                "发票号",
                "发票号码",
            ),
            _parse_number,
        ),
        Column(
            "issue_date",
            True,
            (
                "issue_date",
                "invoice date",
                "document date",
                "posting date",
                "date",
                "开票日期",
                "日期",
            ),
            _parse_date,
        ),
        _CURRENCY,
        Column(
            "amount",
            True,
            ("amount", "gross amount", "invoice amount", "total", "金额", "含税金额"),
            _parse_amount,
        ),
        Column(
            "description",
            False,
            ("description", "text", "reference text", "memo", "摘要", "备注"),
            _parse_description,
        ),
    ),
    ImportKind.PAYMENTS: (
        _ACCOUNT,
        Column(
            "reference",
            True,
            (
                "reference",
                "payment reference",
                "ref",
                "bank reference",
                "transaction id",
                "流水号",
                "付款参考",
            ),
            _parse_reference,
        ),
        Column(
            "paid_on",
            True,
            ("paid_on", "payment date", "value date", "date", "付款日期", "到账日期"),
            _parse_date,
        ),
        _CURRENCY,
        Column(
            "amount",
            True,
            ("amount", "payment amount", "paid amount", "金额", "付款金额"),
            _parse_amount,
        ),
        Column("method", False, ("method", "payment method", "付款方式"), _parse_method),
        Column(
            "invoice_number",
            False,
            ("invoice_number", "invoice no", "invoice", "发票号"),
            _parse_optional_number,
        ),
    ),
}

#: A service's error field → the import's field, so that row errors name the file's column.
_SERVICE_FIELDS = {
    "account_id": "account_code",
    "number": "invoice_number",
    "allocations": "amount",
}


def map_columns(kind: ImportKind, headers: Sequence[str]) -> dict[str, int]:
    """Field → column index for the file's headers; a missing required column or a field
    given twice is a 422 naming ``file``."""
    index_of: dict[str, int] = {}
    for column in COLUMNS[kind]:
        accepted = {_key(h) for h in column.headers}
        found = [i for i, header in enumerate(headers) if _key(header) in accepted]
        if len(found) > 1:
            names = ", ".join(repr(headers[i]) for i in found)
            raise _file_error(f"columns {names} all map to {column.field}; keep one")
        if found:
            index_of[column.field] = found[0]
        elif column.required:
            raise _file_error(
                f"no column for {column.field} (headers accepted: {', '.join(column.headers)})"
            )
    return index_of


# --- importing ----------------------------------------------------------------------------------


def import_file(
    session: Session,
    kind: ImportKind,
    filename: str,
    data: bytes,
    *,
    partial: bool = False,
    on_row: Callable[[int], None] | None = None,
) -> ImportResult:
    """Read ``data`` and import it (see the module docstring for the format and the modes)."""
    return import_table(session, kind, read_table(filename, data), partial=partial, on_row=on_row)


def import_table(
    session: Session,
    kind: ImportKind,
    table: Table,
    *,
    partial: bool = False,
    on_row: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import the rows of ``table``; ``on_row(1)`` is called after each row (progress bars).

    Flushes, never commits; an all-or-nothing import with errors leaves the session as it was.
    """
    columns = map_columns(kind, table.headers)
    result = ImportResult(kind, partial, table.filename, rows=len(table.rows) + len(table.errors))
    result.errors.extend(table.errors)
    result.failed_rows.extend(e.row for e in table.errors)
    codes = set()
    for _, cells in table.rows:
        index = columns["account_code"]
        try:
            codes.add(_parse_code(cells[index] if index < len(cells) else None))
        except ValueError:
            continue  # reported with the row
    account_ids = account_ids_by_code(session, codes)
    outer = session.begin_nested()
    for number, cells in table.rows:
        errors = _import_row(session, kind, table.headers, columns, number, cells, account_ids)
        if isinstance(errors, str):
            if errors == "created":
                result.created += 1
            else:
                result.already_recorded += 1
                result.already_recorded_rows.append(number)
        else:
            result.errors.extend(errors)
            result.failed_rows.append(number)
        if on_row is not None:
            on_row(1)
    if result.errors and not partial:
        outer.rollback()
        result.committed = False
        result.created = 0
    else:
        outer.commit()
    result.failed_rows.sort()
    result.errors.sort(key=lambda e: e.row)
    return result


def _import_row(
    session: Session,
    kind: ImportKind,
    headers: Sequence[str],
    columns: dict[str, int],
    number: int,
    cells: Sequence[Any],
    account_ids: dict[str, int],
) -> str | list[RowError]:
    """``created`` or ``already_recorded``, or the row's errors (its changes undone)."""

    def header(field_name: str) -> str | None:
        index = columns.get(field_name)
        return headers[index] if index is not None else None

    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for column in COLUMNS[kind]:
        index = columns.get(column.field)
        raw = cells[index] if index is not None and index < len(cells) else None
        if isinstance(raw, str):
            raw = raw.strip()
        if index is None and not column.required:
            values[column.field] = column.parse(None)
            continue
        try:
            values[column.field] = column.parse(raw)
        except ValueError as exc:
            errors.append(RowError(number, header(column.field), column.field, str(exc)))
    if "account_code" in values and values["account_code"] not in account_ids:
        errors.append(
            RowError(
                number,
                header("account_code"),
                "account_code",
                f"no account with code {values['account_code']}",
            )
        )
    if errors:
        return errors
    account_id = account_ids[values["account_code"]]
    try:
        with session.begin_nested():
            if kind is ImportKind.INVOICES:
                return _import_invoice(session, account_id, values)
            return _import_payment(session, account_id, values)
    except Problem as problem:
        found = problem.errors or [{"field": None, "message": problem.detail or problem.title}]
        rows = []
        for error in found:
            name = error.get("field")
            name = _SERVICE_FIELDS.get(name, name) if name else None
            if name and name.startswith("allocations"):
                name = "invoice_number" if name.endswith("invoice_number") else "amount"
            known = name if name in columns else None
            rows.append(RowError(number, header(known) if known else None, known, error["message"]))
        return rows


def _import_invoice(session: Session, account_id: int, values: dict[str, Any]) -> str:
    existing = find_invoice(session, values["invoice_number"])
    if existing is not None:
        same = (existing.account_id, existing.issue_date, existing.currency, existing.amount) == (
            account_id,
            values["issue_date"],
            values["currency"],
            values["amount"],
        )
        if not same:
            raise FieldError(
                "number",
                f"invoice {existing.number} is already recorded with other data (issued "
                f"{existing.issue_date}, {existing.amount} {existing.currency})",
                "conflict",
            )
        return "already_recorded"
    create_invoice(
        session,
        account_id=account_id,
        number=values["invoice_number"],
        issue_date=values["issue_date"],
        currency=values["currency"],
        amount=values["amount"],
        description=values["description"],
    )
    return "created"


def _import_payment(session: Session, account_id: int, values: dict[str, Any]) -> str:
    existed = session.scalar(
        select(Payment.id).where(
            Payment.account_id == account_id, Payment.reference == values["reference"]
        )
    )
    allocations = None
    if values["invoice_number"]:
        allocations = [{"invoice_number": values["invoice_number"], "amount": values["amount"]}]
    post_payment(  # same reference and data: returns the payment recorded before
        session,
        account_id=account_id,
        amount=values["amount"],
        currency=values["currency"],
        paid_on=values["paid_on"],
        reference=values["reference"],
        method=values["method"],
        allocations=None if existed else allocations,
    )
    return "already_recorded" if existed else "created"


def iter_error_lines(result: ImportResult) -> Iterator[str]:
    """The error report as lines of text (the CLI prints them)."""
    for error in result.errors:
        where = f"row {error.row}" + (f", column {error.column!r}" if error.column else "")
        yield f"{where}: {error.message}"
