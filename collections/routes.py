"""HTTP API of receivables: parse, authorise (policy table), call a service, serialise."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("receivables", __name__, url_prefix="/api/v1")
