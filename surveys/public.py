"""The public survey response page (``/s/<token>``): server-rendered HTML, no staff token.

Works without JavaScript. Every answer to a link that cannot be used (unknown, expired, already
answered) is the same page with the same status, so tokens cannot be probed; requests are rate
limited per client address; pages send ``Referrer-Policy: no-referrer`` (the token is in the
URL) and the token is masked in every log line that carries the path.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, Response, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge

from monitor.accounts import services as accounts
from monitor.audit.context import Actor, set_actor
from monitor.auth import request_session
from monitor.jobs import config
from monitor.ratelimit import RateLimiter
from surveys import questionnaires, services, settings
from surveys.models import SurveyLink
from surveys.texts import LANGUAGES, language_or, local_time, render, t, words

bp = Blueprint("survey_page", __name__, url_prefix="/s")

#: How long a rendered form may wait before it is sent (its CSRF token's lifetime).
FORM_MAX_AGE = 24 * 3600
_TOKEN_IN_PATH = re.compile(r"/s/[^\s/?\"']+")


class _MaskSurveyTokens(logging.Filter):
    """Replace survey tokens in log records (access logs, error logs) with ``/s/***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_PATH.sub("/s/***", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub("/s/***", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: _TOKEN_IN_PATH.sub("/s/***", v) if isinstance(v, str) else v
                for k, v in record.args.items()
            }
        return True


MASK = _MaskSurveyTokens()
#: Loggers that write request paths: the development server, gunicorn, the app's own.
MASKED_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "monitor")


@bp.record_once
def _mask_tokens_in_logs(_state: Any) -> None:
    for name in MASKED_LOGGERS:
        logger = logging.getLogger(name)
        if MASK not in logger.filters:
            logger.addFilter(MASK)


def _limiter() -> RateLimiter:
    """The page's limiter, one per app (its in-process counts belong to that app)."""
    rate = settings.current().page_rate
    limiters = current_app.extensions.setdefault("surveys.page_limiters", {})
    if rate not in limiters:
        limiters[rate] = RateLimiter("survey-page", limit=rate[0], window_seconds=rate[1])
    return limiters[rate]


def _lang(default: str | None = None, form: bool = True) -> str:
    """The language asked for (``?lang=``, or the form's), else the contact's (``default``),
    else the browser's (pages that cannot know the contact), else the deployment's."""
    if default is None:
        default = request.accept_languages.best_match(LANGUAGES) or config().default_language
    return language_or((request.values if form else request.args).get("lang"), default)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return current_app.response_class(
        render(template, **context), status=status, mimetype="text/html"
    )


def _message(
    lang: str,
    title_key: str,
    body_keys: list[str],
    status: int,
    form_action: str | None = None,
    csrf_token: str = "",
) -> Response:
    """A page of a title and paragraphs, optionally with one confirming button."""
    return _page(
        "survey_message.html",
        status,
        lang=lang,
        title=t(lang, title_key),
        paragraphs=[t(lang, k) for k in body_keys],
        form_action=form_action,
        csrf_token=csrf_token,
    )


def _unavailable() -> Response:
    # One page and one status for unknown, expired and used links alike.
    return _message(_lang(), "unavailable_title", ["unavailable_body"], 404)


@bp.before_request
def _rate_limit() -> Response | None:
    verdict = _limiter().hit(request.remote_addr or "unknown")
    if verdict.allowed:
        return None
    response = _message(_lang(form=False), "too_many_title", ["too_many_body"], 429)
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


#: Largest form accepted (bytes): every answer at its longest, in Chinese, URL-encoded, fits.
MAX_FORM_BYTES = 128 * 1024


@bp.before_request
def _refuse_oversized_forms() -> None:
    if request.method == "POST" and (request.content_length or 0) > MAX_FORM_BYTES:
        raise RequestEntityTooLarge()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: Exception) -> Response:
    # The form was not read (that is the error): only the URL and headers are left.
    return _message(_lang(form=False), "too_large_title", ["too_large_body"], 413)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return response


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="survey-form")


def _csrf_token(link: SurveyLink) -> str:
    """A signed, timed token bound to this survey link: a form posted from elsewhere (or for
    another link, or long after it was shown) does not carry a valid one."""
    return str(_serializer().dumps(link.token_hash[:32]))


def _csrf_ok(link: SurveyLink) -> bool:
    try:
        bound = _serializer().loads(request.form.get("csrf_token", ""), max_age=FORM_MAX_AGE)
    except BadData:
        return False
    return bound == link.token_hash[:32]


def _form_page(
    link: SurveyLink,
    lang: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    invitation = link.invitation
    definition = invitation.questionnaire.definition
    # the closing time as the account's people read it, in the account's zone (as the emails)
    zone = accounts.find_brief(request_session(), invitation.account_id).timezone
    return _page(
        "survey_page.html",
        status,
        lang=lang,
        w=words(lang),
        languages=[(code, words(code)["lang_name"]) for code in LANGUAGES],
        title=definition["title"][lang],
        intro=definition["intro"][lang],
        quarter=invitation.cycle.quarter,
        closes=t(lang, "closes", closes=local_time(invitation.cycle.closes_at, lang, zone)),
        questions=questionnaires.questions(definition),
        values=values or {},
        errors=errors or {},
        csrf_token=_csrf_token(link),
        max_text=questionnaires.MAX_TEXT,
    )


def _open_link(token: str) -> SurveyLink | None:
    link = services.find_link(request_session(), token)
    if link is not None:
        set_actor(Actor("contact", f"contact:{link.invitation.contact_id}"))
    return link


@bp.get("/<token>")
def show(token: str) -> Response:
    link = _open_link(token)
    if link is None:
        return _unavailable()
    services.mark_opened(request_session(), link.invitation)
    return _form_page(link, _lang(link.invitation.language))


@bp.post("/<token>")
def answer(token: str) -> Response:
    link = _open_link(token)
    if link is None:
        return _unavailable()
    lang = _lang(link.invitation.language)
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "lang")}
    if not _csrf_ok(link):
        return _form_page(link, lang, values, {"_form": t(lang, "error_csrf")}, 400)
    try:
        response = services.submit(
            request_session(), link, values, lang, wants_contact="wants_contact" in request.form
        )
    except services.AnswersInvalid as exc:
        return _form_page(link, lang, values, exc.errors, 422)
    except services.AlreadyAnswered:
        return _unavailable()
    body = ["thanks_body"] + (["thanks_contact"] if response.wants_contact else [])
    return _message(lang, "thanks_title", body, 200)


@bp.route("/<token>/opt-out", methods=["GET", "POST"])
def opt_out(token: str) -> Response:
    """Confirm first (GET changes nothing: mail scanners follow links), then record (POST).
    Honoured for any link ever sent, also after its cycle closed or was answered."""
    session = request_session()
    link = services.find_any_link(session, token)
    if link is None:
        return _unavailable()
    set_actor(Actor("contact", f"contact:{link.invitation.contact_id}"))
    lang = _lang(link.invitation.language)
    if request.method == "POST":
        if not _csrf_ok(link):
            return _message(
                lang,
                "optout_title",
                ["error_csrf", "optout_body"],
                400,
                form_action=t(lang, "optout_button"),
                csrf_token=_csrf_token(link),
            )
        services.opt_out(session, link)
        return _message(lang, "optout_done_title", ["optout_done_body"], 200)
    return _message(
        lang,
        "optout_title",
        ["optout_body"],
        200,
        form_action=t(lang, "optout_button"),
        csrf_token=_csrf_token(link),
    )
