"""The survey settings of a configuration read from the environment; a bad value names its
variable."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import pytest

from monitor.config import Config, ConfigError
from surveys.settings import SurveySettings
from tests.fixtures.background import ROOT


def settings_from(environ: dict[str, str]) -> SurveySettings:
    return SurveySettings.of(Config.from_env({"MONITOR_INSTANCE_PATH": "instance", **environ}))


def test_defaults_are_the_practice():
    settings = settings_from({})
    assert (settings.open_day, settings.length_days, settings.reminder_days) == (1, 21, (7, 14))
    assert settings.role_weights == {
        "decider": Decimal("0.4"),
        "buyer": Decimal("0.3"),
        "user": Decimal("0.3"),
    }
    assert settings.min_answers == 3 and settings.page_rate == (60, 60)
    # the settings tests build by hand start from the same practice
    assert settings == SurveySettings()


def test_every_setting_from_the_environment():
    settings = settings_from(
        {
            "SURVEY_OPEN_DAY": "5",
            "SURVEY_LENGTH_DAYS": "28",
            "SURVEY_REMINDER_DAYS": "10",
            "SURVEY_ROLE_WEIGHTS": "decider:0.5, buyer:0.25, user:0.25",
            "SURVEY_MIN_ANSWERS": "5",
            "SURVEY_MIN_ACCOUNT_ANSWERS": "2",
            "SURVEY_PAGE_RATE": "10/30",
        }
    )
    assert settings.open_day == 5 and settings.length_days == 28
    assert settings.reminder_days == (10,)
    assert settings.role_weights["decider"] == Decimal("0.5")
    assert (settings.min_answers, settings.min_account_answers) == (5, 2)
    assert settings.page_rate == (10, 30)
    assert settings_from({"SURVEY_REMINDER_DAYS": ""}).reminder_days == ()
    assert settings_from({"SURVEY_PAGE_RATE": "10"}).page_rate == (10, 60)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SURVEY_OPEN_DAY", "31", "SURVEY_OPEN_DAY"),
        ("SURVEY_LENGTH_DAYS", "0", "SURVEY_LENGTH_DAYS"),
        ("SURVEY_REMINDER_DAYS", "7,14,18", "at most two"),
        ("SURVEY_REMINDER_DAYS", "14,7", "ascending"),
        ("SURVEY_REMINDER_DAYS", "30", "within the cycle"),
        ("SURVEY_REMINDER_DAYS", "7,x", "SURVEY_REMINDER_DAYS: not understood"),
        ("SURVEY_ROLE_WEIGHTS", "decider:1", "SURVEY_ROLE_WEIGHTS"),
        ("SURVEY_ROLE_WEIGHTS", "decider:0,buyer:0,user:0", "at least one weight"),
        ("SURVEY_ROLE_WEIGHTS", "decider=1", "SURVEY_ROLE_WEIGHTS: not understood"),
        ("SURVEY_MIN_ANSWERS", "0", "SURVEY_MIN_ANSWERS"),
        ("SURVEY_PAGE_RATE", "many", "SURVEY_PAGE_RATE: not understood"),
    ],
)
def test_a_bad_value_is_refused_naming_it(variable, value, message):
    with pytest.raises(ConfigError, match=message):
        settings_from({variable: value})


def test_a_process_without_an_app_reads_its_environment(tmp_path):
    """Workers and ``rq cron`` have no app: their settings come from their environment."""
    environment = {**os.environ, **Config(instance_path=tmp_path, survey_open_day=9).to_env()}
    printed = subprocess.run(
        [sys.executable, "-c", "from surveys import settings; print(settings.current().open_day)"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout.strip() == "9"
