"""The public survey response page (``/s/<token>``): server-rendered HTML, no staff token."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("survey_page", __name__, url_prefix="/s")
