"""The API's description (OpenAPI 3.1 and a readable page) and a health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text

from monitor.api.spec import openapi_document
from monitor.auth import request_session

bp = Blueprint("meta", __name__, url_prefix="/api", template_folder="templates")


def _document() -> dict[str, Any]:
    cached = current_app.extensions.get("monitor.openapi")
    if cached is None:
        cached = openapi_document("monitor", current_app.config["MONITOR_VERSION"])
        current_app.extensions["monitor.openapi"] = cached
    return cached


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(_document())


@bp.get("/docs")
def docs() -> str:
    return render_template("api_docs.html", spec=_document())


@bp.get("/health")
def health() -> Any:
    request_session().execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
