"""Configuration from the environment: defaults, conversions, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Config, ConfigError


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
        }
    )
    assert config.database_url.startswith("postgresql+psycopg://")
    assert config.base_url == "https://monitor.example.com"
    assert config.default_timezone == "Asia/Shanghai" and config.default_language == "zh"
    assert config.sql_echo is True


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Base", "DEFAULT_TIMEZONE"),
        ("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE"),
    ],
)
def test_bad_settings_are_refused_with_their_name(tmp_path: Path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env({"MONITOR_INSTANCE_PATH": str(tmp_path), name: value})
