"""The app factory: builds and wires, never creates databases, migrates or calls out."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import Flask

from monitor import auth
from monitor.api.problems import register_error_handlers
from monitor.api.spec import IdConverter
from monitor.config import Config
from monitor.db import Database


def _version() -> str:
    try:
        return version("monitor")
    except PackageNotFoundError:  # running from a checkout that was not installed
        return "0+unknown"


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app for ``config`` (read from the environment when omitted)."""
    config = config or Config.from_env()
    app = Flask("monitor", instance_path=str(config.instance_path.resolve()), static_folder=None)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MONITOR=config,
        MONITOR_VERSION=_version(),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.url_map.converters["id"] = IdConverter
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["monitor.db"] = Database(config.database_url, config.sql_echo)

    register_error_handlers(app)
    auth.init_app(app)
    _register_blueprints(app)
    _register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from monitor.accounts.routes import bp as accounts_bp
    from monitor.api.routes import bp as meta_bp
    from monitor.complaints.routes import bp as complaints_bp
    from monitor.reports.routes import bp as reports_bp
    from monitor.staff.routes import bp as staff_bp
    from receivables.collection_routes import bp as collection_bp
    from receivables.routes import bp as receivables_bp
    from surveys.public import bp as survey_page_bp
    from surveys.routes import bp as surveys_bp

    for bp in (
        meta_bp,
        staff_bp,
        accounts_bp,
        complaints_bp,
        receivables_bp,
        collection_bp,
        surveys_bp,
        survey_page_bp,
        reports_bp,
    ):
        app.register_blueprint(bp)


def _register_commands(app: Flask) -> None:
    from monitor.cli import register

    register(app)
