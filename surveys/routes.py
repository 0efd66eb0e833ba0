"""HTTP API of surveys: parse, authorise (policy table), call a service, serialise."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("surveys", __name__, url_prefix="/api/v1")
