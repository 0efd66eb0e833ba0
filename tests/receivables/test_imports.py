"""Imports of invoices and payments from ERP exports (CSV, XLSX): the column mapping, per-row
errors, all-or-nothing versus partial, idempotency, the upload endpoint and the CLI."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from receivables import imports, ledger
from receivables.models import Invoice, Payment

DATA = Path(__file__).parent / "data"
INVOICES_URL = "/api/v1/receivables/imports/invoices"
PAYMENTS_URL = "/api/v1/receivables/imports/payments"


@pytest.fixture
def accounts(session, make_account):
    found = {code: make_account(code=code) for code in ("C1001", "C1002")}
    session.commit()
    return found


@pytest.fixture
def finance(auth):
    return auth("finance")


def upload(client, headers, url, name, data, **query):
    return client.post(
        url,
        data={"file": (io.BytesIO(data), name)},
        query_string=query,
        headers=headers,
        content_type="multipart/form-data",
    )


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def invoice_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Invoice))


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- invoices -----------------------------------------------------------------------------------


def test_an_erp_csv_export_is_imported_with_its_own_headers(client, session, accounts, finance):
    response = upload(
        client, finance, INVOICES_URL, "invoices_erp.csv", fixture("invoices_erp.csv")
    )
    assert response.status_code == 200, response.json
    summary = response.json
    assert (summary["rows"], summary["created"], summary["already_recorded"]) == (3, 3, 0)
    assert (summary["mode"], summary["committed"], summary["errors"]) == (
        "all_or_nothing",
        True,
        [],
    )
    first = ledger.find_invoice(session, "2026-INV-0001")
    assert (first.account_id, first.issue_date, first.amount, first.description) == (
        accounts["C1001"].id,
        date(2026, 9, 1),
        Decimal("1250000.00"),
        "变压器 第7批",
    )
    assert ledger.find_invoice(session, "2026-INV-0002").amount == Decimal("830.50")
    assert ledger.find_invoice(session, "2026-INV-0002").description == "Spare parts; urgent"
    third = ledger.find_invoice(session, "2026-INV-0003")
    assert (third.issue_date, third.currency) == (date(2026, 10, 1), "CNY")
    assert len(third.instalments) == 1  # expanded by the account's terms like any invoice


def test_importing_the_same_file_again_records_nothing_twice_and_says_so(
    client, session, accounts, finance
):
    upload(client, finance, INVOICES_URL, "invoices_erp.csv", fixture("invoices_erp.csv"))
    again = upload(client, finance, INVOICES_URL, "invoices_erp.csv", fixture("invoices_erp.csv"))
    assert again.status_code == 200
    assert (again.json["created"], again.json["already_recorded"]) == (0, 3)
    assert again.json["already_recorded_rows"] == [2, 3, 5]
    assert "3 already recorded" in again.json["message"]
    assert invoice_count(session) == 3


def test_a_known_number_with_other_data_is_an_error_on_its_row(client, session, accounts, finance):
    upload(client, finance, INVOICES_URL, "invoices_erp.csv", fixture("invoices_erp.csv"))
    changed = fixture("invoices_erp.csv").replace(b"830.5;", b"831.5;")
    response = upload(client, finance, INVOICES_URL, "invoices_erp.csv", changed)
    assert response.status_code == 422
    [error] = response.json["errors"]
    assert (error["row"], error["column"]) == (3, "Invoice No.")
    assert "already recorded with other data" in error["message"]


def test_malformed_csv_rows_are_reported_by_row_and_column_and_nothing_is_stored(
    client, session, accounts, finance
):
    response = upload(
        client, finance, INVOICES_URL, "invoices_bad.csv", fixture("invoices_bad.csv")
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert "nothing was imported" in response.json["detail"]
    found = {(e["row"], e["column"]) for e in response.json["errors"]}
    assert found == {
        (3, "issue_date"),
        (4, "amount"),
        (5, "account_code"),
        (6, "currency"),
        (7, "amount"),
        (8, None),
        (9, "amount"),
    }
    by_row = {e["row"]: e for e in response.json["errors"]}
    assert "YYYY-MM-DD" in by_row[3]["message"]
    assert "more than zero" in by_row[4]["message"]
    assert "no account with code C9999" in by_row[5]["message"]
    assert "invoiced in CNY, not EUR" in by_row[6]["message"]
    assert "two decimals" in by_row[7]["message"]
    assert "7 cells but the header has 6 columns" in by_row[8]["message"]
    assert by_row[9]["field"] == "row 9: amount"
    assert invoice_count(session) == 0  # the good rows 2 and 10 were not kept either


def test_partial_keeps_the_good_rows_and_reports_the_others(client, session, accounts, finance):
    response = upload(
        client, finance, INVOICES_URL, "invoices_bad.csv", fixture("invoices_bad.csv"),
        partial="true",
    )  # fmt: skip
    assert response.status_code == 200
    summary = response.json
    assert (summary["mode"], summary["created"], summary["failed"]) == ("partial", 2, 7)
    assert summary["failed_rows"] == [3, 4, 5, 6, 7, 8, 9]
    assert [e["row"] for e in summary["errors"]] == [3, 4, 5, 6, 7, 8, 9]
    assert sorted(session.scalars(select(Invoice.number))) == ["BAD-0001", "BAD-0009"]


def test_a_broken_quote_is_reported_where_it_starts(client, session, accounts, finance):
    response = upload(
        client, finance, INVOICES_URL, "q.csv", fixture("invoices_broken_quote.csv"), partial="1"
    )
    assert response.status_code == 200
    [error] = response.json["errors"]
    assert error["row"] == 3 and "malformed CSV" in error["message"]
    assert response.json["created"] == 1


def test_chinese_headers_in_gb18030_as_chinese_excel_saves_them(client, session, accounts, finance):
    response = upload(client, finance, INVOICES_URL, "发票.csv", fixture("invoices_zh_gb18030.csv"))
    assert response.status_code == 200, response.json
    assert ledger.find_invoice(session, "ZH-0001").description == "华东区 维保服务费"


def test_an_xlsx_export_with_date_and_number_cells(
    client, session, accounts, finance, make_account
):
    make_account(code="1002")  # an ERP that numbers its customers: the cell holds a number
    session.commit()
    data = xlsx(
        [
            ["Customer", "Document No", "Document Date", "Curr", "Gross Amount", "Memo"],
            ["C1001", "X-1", datetime(2026, 9, 1), "CNY", 1234.56, "by cell types"],
            [1002, "X-2", date(2026, 9, 2), "CNY", 10, None],
            [None, None, None, None, None, None],
            ["C1002", "X-3", "2026-09-03", "CNY", "99.90", ""],
        ]
    )
    response = upload(client, finance, INVOICES_URL, "export.xlsx", data)
    assert response.status_code == 200, response.json
    assert (response.json["rows"], response.json["created"]) == (3, 3)
    x1 = ledger.find_invoice(session, "X-1")
    assert (x1.amount, x1.issue_date, x1.description) == (
        Decimal("1234.56"),
        date(2026, 9, 1),
        "by cell types",
    )
    x2 = ledger.find_invoice(session, "X-2")
    assert (x2.amount, x2.issue_date, x2.description) == (Decimal("10.00"), date(2026, 9, 2), None)
    assert ledger.find_invoice(session, "X-3").amount == Decimal("99.90")


def test_xlsx_row_numbers_count_blank_rows_as_a_spreadsheet_does(client, accounts, finance):
    data = xlsx(
        [
            ["account_code", "invoice_number", "issue_date", "currency", "amount"],
            ["C1001", "B-1", date(2026, 9, 1), "CNY", 5],
            [None, None, None, None, None],
            [None, None, None, None, None],
            ["C1001", "B-2", date(2026, 9, 1), "CNY", -5],
        ]
    )
    response = upload(client, finance, INVOICES_URL, "gaps.xlsx", data)
    assert [(e["row"], e["column"]) for e in response.json["errors"]] == [(5, "amount")]


def test_malformed_xlsx_rows_name_row_and_column_and_store_nothing(
    client, session, accounts, finance
):
    data = xlsx(
        [
            ["account_code", "invoice_number", "issue_date", "currency", "amount"],
            ["C1001", "M-1", date(2026, 9, 1), "CNY", 100],
            ["C1001", "M-2", "next week", "CNY", 100],
            ["C1001", "M-3", date(2026, 9, 1), "CNY", 0.001],
            ["C1001", None, date(2026, 9, 1), "CNY", 5],
            ["C1001", "M-5", date(2026, 9, 1), "CNY", True],
        ]
    )
    response = upload(client, finance, INVOICES_URL, "bad.xlsx", data)
    assert response.status_code == 422
    assert [(e["row"], e["column"]) for e in response.json["errors"]] == [
        (3, "issue_date"),
        (4, "amount"),
        (5, "invoice_number"),
        (6, "amount"),
    ]
    assert invoice_count(session) == 0


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "empty"),
        (
            "nocol.csv",
            b"account_code,invoice_number,currency,amount\nC1001,N-1,CNY,1\n",
            "issue_date",
        ),
        ("twice.csv", b"account,customer,invoice,date,currency,amount\n", "keep one"),
        ("fake.xlsx", b"PK\x03\x04 not really a zip", "XLSX"),
        ("binary.csv", b"\x00\x01\x02\xff\xfe\x00garbage", "CSV"),
    ],
)
def test_unreadable_files_are_422_naming_the_file(
    client, session, accounts, finance, name, data, message
):
    response = upload(client, finance, INVOICES_URL, name, data)
    assert response.status_code == 422, response.json
    [error] = response.json["errors"]
    assert error["field"] == "file" and message in error["message"]
    assert invoice_count(session) == 0


def test_no_file_or_a_json_body_is_422_naming_the_file(client, finance):
    assert client.post(INVOICES_URL, json={}, headers=finance).json["errors"][0]["field"] == "file"
    response = client.post(
        INVOICES_URL, data={"other": "x"}, headers=finance, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "file"
    bad_flag = upload(client, finance, INVOICES_URL, "a.csv", b"x", partial="maybe")
    assert bad_flag.status_code == 422 and bad_flag.json["errors"][0]["field"] == "partial"


def test_the_column_mapping_is_in_the_endpoint_description(client):
    spec = client.get("/api/openapi.json").json
    description = spec["paths"]["/api/v1/receivables/imports/invoices"]["post"]["description"]
    assert "accepted headers" in description and "all-or-nothing" in description
    assert "customer no" in description and "partial" in description


# --- payments -----------------------------------------------------------------------------------


def test_payments_are_imported_allocated_and_idempotent_by_reference(
    client, session, accounts, finance
):
    upload(client, finance, INVOICES_URL, "invoices_erp.csv", fixture("invoices_erp.csv"))
    response = upload(client, finance, PAYMENTS_URL, "payments.csv", fixture("payments_erp.csv"))
    assert response.status_code == 200, response.json
    assert response.json["created"] == 3
    payment = session.scalar(select(Payment).where(Payment.reference == "BANK-77001"))
    assert (payment.amount, payment.method.value, payment.paid_on) == (
        Decimal("500000.00"),
        "bank_transfer",
        date(2026, 10, 5),
    )
    open_first = {
        item.invoice_number: item.outstanding
        for item in ledger.open_items(session, accounts["C1001"].id, date(2026, 12, 31))
    }
    # BANK-77001 names its invoice; BANK-77002 names none and goes to the oldest due first
    assert open_first == {
        "2026-INV-0001": Decimal("749169.50"),
        "2026-INV-0002": Decimal("830.50"),
    }

    again = upload(client, finance, PAYMENTS_URL, "payments.csv", fixture("payments_erp.csv"))
    assert (again.json["created"], again.json["already_recorded"]) == (0, 3)
    assert session.scalar(select(func.count()).select_from(Payment)) == 3

    changed = fixture("payments_erp.csv").replace(b"50.00,cheque", b"60.00,cheque")
    conflict = upload(client, finance, PAYMENTS_URL, "payments.csv", changed)
    assert conflict.status_code == 422
    [error] = conflict.json["errors"]
    assert (error["row"], error["column"]) == (4, "Bank Reference")


def test_bad_payment_rows(client, session, accounts, finance):
    data = (
        b"account_code,reference,paid_on,currency,amount,method,invoice_number\n"
        b"C1001,P-1,2026-10-01,CNY,10.00,carrier pigeon,\n"
        b"C1001,P-2,2026-10-01,CNY,10.00,,NO-SUCH-INVOICE\n"
        b"C1001,,2026-10-01,CNY,10.00,,\n"
    )
    response = upload(client, finance, PAYMENTS_URL, "p.csv", data)
    assert response.status_code == 422
    assert [(e["row"], e["column"]) for e in response.json["errors"]] == [
        (2, "method"),
        (3, "invoice_number"),
        (4, "reference"),
    ]
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_only_finance_imports(client, auth, accounts):
    for role in ("manager", "executive", "agent"):
        response = upload(client, auth(role), INVOICES_URL, "a.csv", fixture("invoices_erp.csv"))
        assert response.status_code == 403, role


# --- the service and the CLI --------------------------------------------------------------------


def test_amount_parsing_is_exact():
    parse = imports._parse_amount
    assert parse("1,234.50") == Decimal("1234.50")
    assert parse(0.1 + 0.2 - 0.3 + 19.99) == Decimal("19.99")
    assert parse(7) == Decimal("7.00")
    for bad in ("1.234,50", "1,23", "1e3", "NaN", "", "--1", "0.00"):
        with pytest.raises(ValueError):
            parse(bad)


def test_cli_imports_with_a_progress_bar_and_exit_codes(runner, session, accounts, tmp_path):
    good = DATA / "invoices_erp.csv"
    result = runner.invoke(args=["receivables", "import", "invoices", str(good)])
    assert result.exit_code == 0, result.output
    assert "Importing invoices" in result.output  # the progress bar (on stderr)
    assert "3 invoices recorded, 0 already recorded" in result.output
    assert invoice_count(session) == 3

    again = runner.invoke(args=["receivables", "import", "invoices", str(good)])
    assert again.exit_code == 0
    assert "0 invoices recorded, 3 already recorded (skipped: imported before)" in again.output

    bad = DATA / "invoices_bad.csv"
    failed = runner.invoke(args=["receivables", "import", "invoices", str(bad)])
    assert failed.exit_code == 1
    assert "row 3, column 'issue_date'" in failed.output
    assert "nothing was imported" in failed.output
    assert invoice_count(session) == 3

    partial = runner.invoke(args=["receivables", "import", "invoices", str(bad), "--partial"])
    assert partial.exit_code == 3
    assert "2 invoices recorded" in partial.output
    assert invoice_count(session) == 5

    unreadable = tmp_path / "x.xlsx"
    unreadable.write_bytes(b"PK\x03\x04nope")
    assert runner.invoke(args=["receivables", "import", "invoices", str(unreadable)]).exit_code == 1
    missing = runner.invoke(args=["receivables", "import", "payments", str(tmp_path / "no.csv")])
    assert missing.exit_code == 2

    payments = runner.invoke(
        args=["receivables", "import", "payments", str(DATA / "payments_erp.csv")]
    )
    assert payments.exit_code == 0, payments.output
    assert "3 payments recorded" in payments.output
