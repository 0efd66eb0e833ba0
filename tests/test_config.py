"""Configuration from the environment: defaults, conversions, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.app import create_app
from monitor.config import Config, ConfigError
from monitor.reports.services import ReportSettings


def test_defaults_are_the_embedded_setup(tmp_path: Path):
    config = Config.from_env({"MONITOR_INSTANCE_PATH": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'monitor.sqlite3'}"
    assert config.redis_url == "" and config.smtp_url == ""
    assert config.outbox_path == tmp_path / "outbox"
    assert len(config.secret_key) == 64


def test_environment_values_are_read_and_converted(tmp_path: Path):
    config = Config.from_env(
        {
            "MONITOR_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgresql+psycopg://u@db/monitor",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "SMTP_URL": "smtp://mail:25",
            "BASE_URL": "https://monitor.example.com/",
            "DEFAULT_TIMEZONE": "Asia/Shanghai",
            "DEFAULT_LANGUAGE": "zh",
            "SQL_ECHO": "true",
            "SURVEY_OPEN_DAY": "5",
            "SURVEY_LENGTH_DAYS": "28",
            "SURVEY_REMINDER_DAYS": "10",
            "SURVEY_ROLE_WEIGHTS": "decider:0.5,buyer:0.25,user:0.25",
            "SURVEY_MIN_ANSWERS": "5",
            "SURVEY_MIN_ACCOUNT_ANSWERS": "2",
            "SURVEY_PAGE_RATE": "10/30",
            "REPORTS_COMPANY_NAME": "华东能源设备有限公司",
            "REPORTS_PATH": "/srv/reports",
        }
    )
    assert config.database_url.startswith("postgresql+psycopg://")
    assert config.base_url == "https://monitor.example.com"
    assert config.default_timezone == "Asia/Shanghai" and config.default_language == "zh"
    assert config.sql_echo is True
    assert (config.survey_open_day, config.survey_length_days) == (5, 28)
    assert (config.survey_min_answers, config.survey_min_account_answers) == (5, 2)
    assert config.survey_reminder_days == "10" and config.survey_page_rate == "10/30"
    assert config.survey_role_weights == "decider:0.5,buyer:0.25,user:0.25"
    assert config.reports_company_name == "华东能源设备有限公司"
    assert config.reports_path == "/srv/reports"


def test_an_empty_reminder_list_means_no_reminders_not_the_default(tmp_path: Path):
    environ = {"MONITOR_INSTANCE_PATH": str(tmp_path)}
    assert Config.from_env(environ).survey_reminder_days == "7,14"
    assert Config.from_env({**environ, "SURVEY_REMINDER_DAYS": ""}).survey_reminder_days == ""


def test_the_environment_of_a_configuration_gives_it_back(tmp_path: Path):
    config = Config(
        instance_path=tmp_path,
        redis_url="redis://127.0.0.1:6379/0",
        sql_echo=True,
        survey_open_day=3,
        survey_length_days=30,
        survey_reminder_days="",
        survey_role_weights="decider:1,buyer:0,user:0",
        survey_min_answers=4,
        survey_min_account_answers=2,
        survey_page_rate="5/10",
        reports_company_name="Redwood Water Utility",
        reports_path=str(tmp_path / "archive"),
    )
    environment = config.to_env()
    assert environment["SURVEY_OPEN_DAY"] == "3" and environment["REPORTS_PATH"].endswith("archive")
    assert Config.from_env(environment) == config


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Base", "DEFAULT_TIMEZONE"),
        ("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE"),
        ("SURVEY_OPEN_DAY", "first", "SURVEY_OPEN_DAY: not a whole number"),
        ("SURVEY_LENGTH_DAYS", "3 weeks", "SURVEY_LENGTH_DAYS: not a whole number"),
        ("SURVEY_MIN_ANSWERS", "1.5", "SURVEY_MIN_ANSWERS: not a whole number"),
        ("SURVEY_MIN_ACCOUNT_ANSWERS", "x", "SURVEY_MIN_ACCOUNT_ANSWERS: not a whole number"),
    ],
)
def test_bad_settings_are_refused_with_their_name(tmp_path: Path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env({"MONITOR_INSTANCE_PATH": str(tmp_path), name: value})


def test_reports_are_archived_in_the_instance_folder_unless_told_otherwise(tmp_path: Path):
    default = ReportSettings.of(Config.from_env({"MONITOR_INSTANCE_PATH": str(tmp_path)}))
    assert default.folder == tmp_path / "reports" and default.company_name == "monitor"
    chosen = ReportSettings.of(
        Config.from_env(
            {
                "MONITOR_INSTANCE_PATH": str(tmp_path),
                "REPORTS_PATH": str(tmp_path / "archive"),
                "REPORTS_COMPANY_NAME": "Redwood Water Utility",
            }
        )
    )
    assert chosen.folder == tmp_path / "archive"
    assert chosen.company_name == "Redwood Water Utility"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SURVEY_OPEN_DAY", "31", "SURVEY_OPEN_DAY"),
        ("SURVEY_ROLE_WEIGHTS", "decider:1", "SURVEY_ROLE_WEIGHTS"),
        ("SURVEY_PAGE_RATE", "many", "SURVEY_PAGE_RATE: not understood"),
    ],
)
def test_the_app_refuses_to_start_on_bad_survey_settings(tmp_path: Path, name, value, message):
    config = Config.from_env({"MONITOR_INSTANCE_PATH": str(tmp_path), name: value})
    with pytest.raises(ConfigError, match=message):
        create_app(config)
