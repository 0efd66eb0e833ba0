"""The survey settings read from the environment; a bad value names its variable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from monitor.config import ConfigError
from surveys.settings import SurveySettings


def test_defaults_are_the_practice():
    settings = SurveySettings.from_env({})
    assert (settings.open_day, settings.length_days, settings.reminder_days) == (1, 21, (7, 14))
    assert settings.role_weights == {
        "decider": Decimal("0.4"),
        "buyer": Decimal("0.3"),
        "user": Decimal("0.3"),
    }
    assert settings.min_answers == 3 and settings.page_rate == (60, 60)


def test_every_setting_from_the_environment():
    settings = SurveySettings.from_env(
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
    assert SurveySettings.from_env({"SURVEY_REMINDER_DAYS": ""}).reminder_days == ()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SURVEY_OPEN_DAY", "31", "SURVEY_OPEN_DAY"),
        ("SURVEY_LENGTH_DAYS", "0", "SURVEY_LENGTH_DAYS"),
        ("SURVEY_REMINDER_DAYS", "7,14,18", "at most two"),
        ("SURVEY_REMINDER_DAYS", "14,7", "ascending"),
        ("SURVEY_REMINDER_DAYS", "30", "within the cycle"),
        ("SURVEY_ROLE_WEIGHTS", "decider:1", "SURVEY_ROLE_WEIGHTS"),
        ("SURVEY_ROLE_WEIGHTS", "decider:0,buyer:0,user:0", "at least one weight"),
        ("SURVEY_MIN_ANSWERS", "0", "SURVEY_MIN_ANSWERS"),
        ("SURVEY_PAGE_RATE", "many", "not understood"),
    ],
)
def test_a_bad_value_is_refused_naming_it(variable, value, message):
    with pytest.raises(ConfigError, match=message):
        SurveySettings.from_env({variable: value})
