"""Settings: a misspelt or malformed one is named, never ignored."""

from __future__ import annotations

import pytest

from rollcall.config import ConfigError, load_config


def test_a_misspelt_variable_is_named_with_the_likely_one():
    with pytest.raises(ConfigError, match="CONCURENCY .*did you mean ROLLCALL_CONCURRENCY"):
        load_config(environ={"ROLLCALL_CONCURENCY": "4"})


@pytest.mark.parametrize(("variable", "value"), [
    ("ROLLCALL_EWS_URL", "mail.example.com/EWS/Exchange.asmx"),
    ("ROLLCALL_MAX_NESTING", "deep"),
    ("ROLLCALL_EWS_AUTH", "kerberos"),
])
def test_a_malformed_value_is_named(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_config(environ={variable: value})


def test_tool_variables_are_not_settings_but_allowed():
    config = load_config(environ={"ROLLCALL_TEST_DATABASE_URL": "x", "ROLLCALL_MAX_NESTING": "5"})
    assert config.max_nesting == 5
