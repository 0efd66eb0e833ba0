"""The reports API: request (202 and a job), poll, download, the archive by role; bad input is a
problem naming the field; distribution lists are the admins'."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from monitor.reports.models import Report, ReportStatus

URL = "/api/v1/reports"


def request(client, headers, **body):
    return client.post(URL, json={"as_of": "2026-10-31", "language": "en", **body}, headers=headers)


def fields(response) -> list[str]:
    assert response.content_type == "application/problem+json", response.get_data(as_text=True)
    return [error["field"] for error in response.json.get("errors", [])]


def test_request_poll_download(client, auth, book, session, tmp_path):
    finance = auth("finance")
    accepted = request(client, finance, kind="aging", language="zh")
    assert accepted.status_code == 202, accepted.json
    report_id = accepted.json["id"]
    assert accepted.json["job_id"] == f"report-{report_id}"
    assert accepted.json["status"] == "queued"
    # without Redis the job ran in-process once the request committed
    status = client.get(f"{URL}/{report_id}", headers=finance)
    assert status.status_code == 200
    assert status.json["status"] == "done", status.json
    assert status.json["download_url"] == f"{URL}/{report_id}/file"
    assert status.json["parameters"] == {} and status.json["language"] == "zh"
    download = client.get(status.json["download_url"], headers=finance)
    pdf = download.get_data()
    download.close()  # send_file streams from the archive
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == status.json["sha256"]
    assert len(pdf) == status.json["size"]
    assert download.headers["X-Content-SHA256"] == status.json["sha256"]
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "应收账款账龄报告" in text and "上海华能电力有限公司" in text
    detail = client.get(status.json["detail_url"], headers=finance)
    xlsx = detail.get_data()
    detail.close()
    assert detail.status_code == 200 and xlsx.startswith(b"PK")
    assert hashlib.sha256(xlsx).hexdigest() == status.json["detail_sha256"]
    row = session.get(Report, report_id, populate_existing=True)
    assert row.status is ReportStatus.DONE and row.created_by_label.startswith("finance")
    listed = client.get(URL, headers=finance).json
    assert [item["id"] for item in listed["items"]] == [report_id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "forecast"}, "kind"),
        ({"kind": "aging", "as_of": "2026-13-01"}, "as_of"),
        ({"kind": "aging", "as_of": "31/10/2026"}, "as_of"),
        ({"kind": "aging", "language": "fr"}, "language"),
        ({"kind": "statement"}, "account_id"),
        ({"kind": "statement", "account_id": 999999}, "account_id"),
        ({"kind": "aging", "account_id": 1}, "account_id"),
        ({"kind": "aging", "period": "quarter"}, "period"),
        ({"kind": "aging", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(client, auth, session, body, field):
    before = session.scalar(select(func.count(Report.id)))
    response = request(client, auth("executive"), **body)
    assert response.status_code == 422, response.json
    assert field in fields(response)
    assert session.scalar(select(func.count(Report.id))) == before


def test_a_future_as_of_date_is_refused(client, auth):
    tomorrow = date.today() + timedelta(days=2)
    response = request(client, auth("finance"), kind="aging", as_of=tomorrow.isoformat())
    assert response.status_code == 422
    assert fields(response) == ["as_of"]
    assert "future" in response.json["detail"]


@pytest.mark.parametrize(
    ("role", "kind", "allowed"),
    [
        ("finance", "aging", True),
        ("finance", "escalation", True),
        ("finance", "executive", False),
        ("manager", "escalation", True),
        ("manager", "executive", False),
        ("manager", "statement", False),
        ("executive", "executive", True),
        ("agent", "aging", False),
        ("admin", "aging", False),
    ],
)
def test_who_may_have_which_report(client, auth, book, role, kind, allowed):
    extra = {"account_id": book.hn.id} if kind == "statement" else {}
    response = request(client, auth(role), kind=kind, **extra)
    if allowed:
        assert response.status_code == 202, response.json
    else:
        assert response.status_code == 403
        assert response.json["title"] == "Forbidden"


def test_someone_elses_or_a_missing_report_is_not_found(client, auth, book):
    owner, other = auth("finance"), auth("finance")
    report_id = request(client, owner, kind="escalation").json["id"]
    for headers, rid in ((other, report_id), (owner, 999999)):
        for suffix in ("", "/file", "/detail"):
            response = client.get(f"{URL}/{rid}{suffix}", headers=headers)
            assert response.status_code == 404, (suffix, response.json)
            assert fields(response) == ["report_id"]
    assert client.get(URL, headers=other).json["items"] == []
    # an escalation report has no spreadsheet
    response = client.get(f"{URL}/{report_id}/detail", headers=owner)
    assert response.status_code == 404 and fields(response) == ["report_id"]


LISTS = "/api/v1/report-lists"


def test_admins_keep_distribution_lists(client, auth, make_staff):
    admin = auth("admin")
    cfo, _ = make_staff("executive")
    body = {
        "name": "Board — monthly aging",
        "kind": "aging",
        "schedule": {"every": "monthly", "day": 3},
        "language": "zh",
        "recipients": [
            {"staff_user_id": cfo.id},
            {"email": "Auditor@Example.com", "language": "en"},
            {"email": "auditor@example.com"},  # the same address again: kept once
        ],
    }
    created = client.post(LISTS, json=body, headers=admin)
    assert created.status_code == 201, created.json
    list_id = created.json["id"]
    assert [r["email"] for r in created.json["recipients"]] == [None, "auditor@example.com"]
    assert client.post(LISTS, json=body, headers=admin).status_code == 409
    assert created.json["schedule"] == {"every": "monthly", "day": 3}
    weekly = {"schedule": {"every": "weekly", "day": 0}}
    changed = client.patch(f"{LISTS}/{list_id}", json=weekly, headers=admin)
    assert changed.status_code == 200, changed.json
    assert changed.json["schedule"] == {"every": "weekly", "day": 0}
    assert changed.json["name"] == body["name"]
    sunday_is_6 = {"schedule": {"every": "weekly", "day": 9}}
    bad = client.patch(f"{LISTS}/{list_id}", json=sunday_is_6, headers=admin)
    assert bad.status_code == 422 and fields(bad) == ["schedule.weekly.day"]
    statement = client.post(LISTS, json={**body, "name": "x", "kind": "statement"}, headers=admin)
    assert statement.status_code == 422 and "kind" in fields(statement)
    neither = client.post(LISTS, json={**body, "name": "y", "recipients": [{}]}, headers=admin)
    assert neither.status_code == 422
    assert client.get(f"{LISTS}/{list_id}/runs", headers=admin).json["items"] == []
    assert client.get(LISTS, headers=auth("executive")).status_code == 403
    assert client.delete(f"{LISTS}/{list_id}", headers=admin).status_code == 204
    assert client.get(f"{LISTS}/{list_id}", headers=admin).status_code == 404
