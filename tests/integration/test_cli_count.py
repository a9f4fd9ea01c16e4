"""`rollcall count` as a person runs it: a summary, --json, and exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ews_simulator import load
from support import cli_environ

ORG = Path(__file__).with_name("count_org.yaml")


def run(sim, *args, **env):
    environ = cli_environ()
    environ["ROLLCALL_INSTANCE_PATH"] = tempfile.mkdtemp()
    if sim is not None:
        environ.update(ROLLCALL_EWS_URL=sim.url, ROLLCALL_EWS_USERNAME="svc@contoso.com",
                       ROLLCALL_EWS_PASSWORD="svc-pw", ROLLCALL_MAILBOX="megan@contoso.com",
                       ROLLCALL_INTERNAL_DOMAINS="contoso.com")
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "rollcall.cli", "count", *args], env=environ,
                          capture_output=True, text=True, timeout=60)


def test_a_complete_count_prints_the_number_the_tree_and_findings(start_simulator):
    sim, _ = start_simulator(load(ORG))
    result = run(sim, "dept@contoso.com", "Project Crew", "--expected", "12")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("10 unique recipients")
    assert "expected 12, difference -2" in result.stdout
    assert "Department <dept@contoso.com>: 4" in result.stdout
    assert "[deleted_contact, send: warn]" in result.stdout  # what Send would do, beside it


def test_json_output_is_the_report(start_simulator):
    sim, _ = start_simulator(load(ORG))
    result = run(sim, "--json", "team-a@contoso.com")
    report = json.loads(result.stdout)
    assert report["total"] == 2 and report["tree"][0]["name"] == "Team A"


def test_an_incomplete_count_exits_1(start_simulator):
    sim, _ = start_simulator(load(ORG))
    result = run(sim, "big@contoso.com")
    assert result.returncode == 1
    assert "INCOMPLETE" in result.stdout


def test_an_exchange_nobody_can_reach_is_said_in_words_not_a_number(start_simulator):
    sim, _ = start_simulator(load(ORG))
    sim.set_faults(drop_every=1)
    result = run(sim, "dept@contoso.com", ROLLCALL_DEADLINE_S="3")
    assert result.returncode == 1
    assert result.stdout == ""  # no "0 unique recipients"
    assert result.stderr.startswith(
        "rollcall: Exchange could not be reached (connection dropped), so nobody could")
    assert "Traceback" not in result.stderr and "Error(" not in result.stderr


def test_missing_configuration_exits_2_naming_the_setting():
    result = run(None, "a@contoso.com")
    assert result.returncode == 2
    assert "ROLLCALL_EWS_URL" in result.stderr


def test_a_bad_setting_exits_2_naming_it(start_simulator):
    sim, _ = start_simulator(load(ORG))
    result = run(sim, "a@contoso.com", ROLLCALL_MAX_NESTING="deep")
    assert result.returncode == 2
    assert "ROLLCALL_MAX_NESTING" in result.stderr


def test_exchange_rejecting_the_service_account_exits_1_with_the_reason(start_simulator):
    sim, _ = start_simulator(load(ORG))
    result = run(sim, "team-a@contoso.com", ROLLCALL_EWS_PASSWORD="wrong")
    assert result.returncode == 1
    assert "credentials" in result.stderr
