"""`rollcall check` as a person runs it: the verdict per rule, --json, and exit codes 0/3/4/2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from validate_cases import IDS, RULES, as_outlook

from support import DEMO_SERVICE_ACCOUNT, cli_environ, demo_config, signed_in

EXIT = {"allow": 0, "warn": 3, "block": 4}


def check(sim: Any, instance: Path, *args: str, **settings: Any) -> subprocess.CompletedProcess:
    environ = cli_environ()
    environ.update(ROLLCALL_INSTANCE_PATH=str(instance), ROLLCALL_EWS_URL=sim.url,
                   ROLLCALL_EWS_USERNAME=DEMO_SERVICE_ACCOUNT[0],
                   ROLLCALL_EWS_PASSWORD=DEMO_SERVICE_ACCOUNT[1],
                   ROLLCALL_MAILBOX="megan@contoso.com", ROLLCALL_INTERNAL_DOMAINS="contoso.com")
    environ.update({f"ROLLCALL_{k.upper()}": str(v) for k, v in settings.items()})
    return subprocess.run([sys.executable, "-m", "rollcall.cli", "check", *args], env=environ,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("rule", "entries", "settings", "expected", "action"), RULES, ids=IDS)
def test_each_rule_gives_its_exit_code(demo_simulator, tmp_path, rule, entries, settings,
                                       expected, action):
    sim, _ = demo_simulator
    extra = ["--expected", str(expected)] if expected is not None else []
    result = check(sim, tmp_path, *entries, *extra, **settings)
    assert result.returncode == EXIT[action], result.stdout + result.stderr
    assert result.stdout.startswith(f"{action.upper()}: ")
    assert f"[{action}: {rule}]" in result.stdout


def test_an_ordinary_message_exits_0(demo_simulator, tmp_path):
    result = check(demo_simulator[0], tmp_path, "alex@contoso.com",
                   "Adele Vance <adele@contoso.com>")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ALLOW: 2 people will receive it.\n"


def test_json_prints_the_verdict_and_the_report(demo_simulator, tmp_path):
    result = check(demo_simulator[0], tmp_path, "--json", "partners@contoso.com")
    verdict = json.loads(result.stdout)
    assert result.returncode == 3
    assert verdict["action"] == "warn" and verdict["report"]["total"] == 14
    assert [f["rule"] for f in verdict["findings"]] == ["external"]


def test_a_check_is_a_dry_run_that_still_reads_the_hourly_window(demo_simulator, tmp_path):
    sim, _ = demo_simulator
    config = demo_config(sim, instance_path=str(tmp_path), policy_per_hour_max=20)
    client = signed_in(config)  # megan, as the CLI's ROLLCALL_MAILBOX
    sent = client.post("/api/validate", json={"recipients": [as_outlook("partners@contoso.com")],
                                              "subject": "Sent from Outlook"})
    assert sent.get_json()["action"] == "warn"  # external: warned, and so it may have gone
    for _ in range(2):  # a dry run records nothing, so checking twice says the same
        result = check(sim, tmp_path, "partners@contoso.com", POLICY_PER_HOUR_MAX=20)
        assert result.returncode == 4, result.stdout + result.stderr
        assert "You sent to 14 people in the last hour" in result.stdout


@pytest.mark.parametrize(("args", "settings", "says"), [
    ((), {}, "the following arguments are required: ENTRY"),
    (("--expected", "-1", "a@contoso.com"), {}, "argument --expected: must be 0 or more"),
    (("a@contoso.com",), {"policy_cycle": "maybe"}, "ROLLCALL_POLICY_CYCLE='maybe'"),
    (("a@contoso.com",), {"validate_deadline_s": "4"}, "ROLLCALL_VALIDATE_DEADLINE_S='4'"),
])
def test_bad_usage_exits_2_naming_the_problem(demo_simulator, tmp_path, args, settings, says):
    result = check(demo_simulator[0], tmp_path, *args, **settings)
    assert result.returncode == 2
    assert says in result.stderr


def test_without_exchange_settings_exits_2_naming_the_setting(tmp_path):
    environ = cli_environ()
    environ["ROLLCALL_INSTANCE_PATH"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "rollcall.cli", "check", "a@contoso.com"],
                            env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "ROLLCALL_EWS_URL" in result.stderr
