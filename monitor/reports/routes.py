"""HTTP API of reports: request one (202 and a job), poll it, download it, list the archive; and
the distribution lists admins keep."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, send_file

from monitor.api.problems import NotFound
from monitor.api.schemas import MAX_ID, Page, PageQuery
from monitor.api.spec import operation
from monitor.auth import current_user, request_session
from monitor.jobs import enqueue_after_commit
from monitor.reports import services
from monitor.reports.jobs import generate_report
from monitor.reports.models import DistributionList, Report, ReportKind, Schedule
from monitor.reports.schemas import (
    ListCreate,
    ListOut,
    ListUpdate,
    ReportAccepted,
    ReportOut,
    ReportQuery,
    ReportRequest,
    RunOut,
)

bp = Blueprint("reports", __name__, url_prefix="/api/v1")


def _settings() -> services.ReportSettings:
    return services.ReportSettings.of(current_app.config["MONITOR"])


def _out(report: Report) -> dict[str, Any]:
    data = {name: getattr(report, name) for name in ReportOut.model_fields if hasattr(report, name)}
    if report.file_name:
        data["download_url"] = f"/api/v1/reports/{report.id}/file"
    if report.detail_file_name:
        data["detail_url"] = f"/api/v1/reports/{report.id}/detail"
    return data


@operation(
    bp,
    "/reports",
    "POST",
    summary="Request a report",
    body=ReportRequest,
    response=ReportAccepted,
    status=202,
)
def request_report(body: ReportRequest) -> dict[str, Any]:
    """Generated in the background: poll `GET /api/v1/reports/{id}` until `status` is `done`,
    then download the PDF from `download_url`. Finance and managers may have aging and
    escalation reports, finance statements too; executives every kind."""
    session = request_session()
    user = current_user()
    services.check_may_have(user, body.kind)
    parameters = services.check_parameters(
        session,
        body.kind,
        body.as_of,
        _settings().today(),
        account_id=body.account_id,
        variant=body.variant,
        period=body.period,
    )
    report = services.request_report(
        session, body.kind, body.as_of, body.language.value, parameters, user
    )
    job_id = services.job_id_of(report)
    enqueue_after_commit(session, generate_report, report.id, job_id=job_id, timeout=1800)
    return _out(report) | {"job_id": job_id}


@operation(
    bp, "/reports", "GET", summary="The report archive", query=ReportQuery, response=Page[ReportOut]
)
def list_reports(query: ReportQuery) -> dict[str, Any]:
    """Your own requests and the scheduled reports of the kinds your roles may have, newest
    first."""
    page = services.list_reports(
        request_session(),
        current_user(),
        page=query.page,
        per_page=query.per_page,
        kind=query.kind,
        status=query.status,
    )
    return page | {"items": [_out(r) for r in page["items"]]}


@operation(bp, "/reports/<id:report_id>", "GET", summary="A report's status", response=ReportOut)
def get_report(report_id: int) -> dict[str, Any]:
    """`queued`, `running`, `done` (download it) or `failed` (`error` says why)."""
    return _out(services.readable_report(request_session(), report_id, current_user()))


def _download(report_id: int, detail: bool) -> Response:
    if not 1 <= report_id <= MAX_ID:
        raise NotFound(f"report {report_id}")
    report = services.readable_report(request_session(), report_id, current_user())
    path = services.report_file(report, _settings(), detail=detail)
    mimetype = services.XLSX if detail else services.PDF
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=path.name)
    response.headers["X-Content-SHA256"] = (report.detail_sha256 if detail else report.sha256) or ""
    return response


def download_report(report_id: int) -> Response:
    return _download(report_id, detail=False)


def download_detail(report_id: int) -> Response:
    return _download(report_id, detail=True)


bp.add_url_rule("/reports/<id:report_id>/file", "download_report", download_report)
bp.add_url_rule("/reports/<id:report_id>/detail", "download_detail", download_detail)


# --- distribution lists -------------------------------------------------------------------------


@operation(
    bp,
    "/report-lists",
    "GET",
    summary="Distribution lists",
    query=PageQuery,
    response=Page[ListOut],
)
def list_distribution_lists(query: PageQuery) -> dict[str, Any]:
    page = services.list_lists(request_session(), query.page, query.per_page)
    return page | {"items": [_list_out(d) for d in page["items"]]}


@operation(
    bp,
    "/report-lists",
    "POST",
    summary="Create a distribution list",
    body=ListCreate,
    response=ListOut,
    status=201,
    errors=(409,),
)
def create_distribution_list(body: ListCreate) -> object:
    """Recipients are staff members (who get the report in their own language) or addresses
    (in theirs, or the list's). `schedule`: `{"every": "monthly", "day": 3}` sends on the 3rd
    for the month before; `quarterly` on that day of each quarter's first month for the quarter
    before; `{"every": "weekly", "day": 0}` on Mondays for the week before."""
    return _list_out(services.create_list(request_session(), **_list_values(body, unset=True)))


def _list_values(body: ListCreate | ListUpdate, unset: bool) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=not unset)
    if "kind" in values:
        values["kind"] = ReportKind(values["kind"])
    if "schedule" in values:
        schedule = values.pop("schedule")
        values["schedule"], values["day"] = Schedule(schedule["every"]), schedule["day"]
    return values


def _list_out(distribution: DistributionList) -> dict[str, Any]:
    data = {
        name: getattr(distribution, name) for name in ListOut.model_fields if name != "schedule"
    }
    return data | {"schedule": {"every": distribution.schedule, "day": distribution.day}}


@operation(
    bp,
    "/report-lists/<id:list_id>",
    "GET",
    summary="A distribution list",
    response=ListOut,
)
def get_distribution_list(list_id: int) -> object:
    return _list_out(services.get_list(request_session(), list_id))


@operation(
    bp,
    "/report-lists/<id:list_id>",
    "PATCH",
    summary="Change a distribution list",
    body=ListUpdate,
    response=ListOut,
    errors=(409,),
)
def update_distribution_list(list_id: int, body: ListUpdate) -> object:
    """Only the fields sent change; `recipients` replaces the list's recipients."""
    session = request_session()
    distribution = services.get_list(session, list_id)
    return _list_out(services.update_list(session, distribution, **_list_values(body, False)))


@operation(
    bp, "/report-lists/<id:list_id>", "DELETE", summary="Delete a distribution list", status=204
)
def delete_distribution_list(list_id: int) -> None:
    session = request_session()
    services.delete_list(session, services.get_list(session, list_id))


@operation(
    bp,
    "/report-lists/<id:list_id>/runs",
    "GET",
    summary="A distribution list's scheduled runs",
    query=PageQuery,
    response=Page[RunOut],
)
def list_distribution_runs(list_id: int, query: PageQuery) -> dict[str, Any]:
    """Each period's sending: `sent`, or `failed` with the error (retried by the daily job)."""
    session = request_session()
    services.get_list(session, list_id)
    return services.list_runs(session, list_id, query.page, query.per_page)
