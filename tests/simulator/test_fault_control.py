"""Faults as people switch them: a spec on the command line or the demo's, and over HTTP while
the simulator serves (from this machine only)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from exchangelib.errors import ErrorServerBusy
from exchangelib.properties import DLMailbox

from ews_simulator.demo import DEMO_PASSWORD
from ews_simulator.faults import FaultSpecError, describe, parse_faults
from ews_simulator.org import Faults
from ews_simulator.server import FAULTS_PATH

SALES = DLMailbox(email_address="sales@contoso.com", mailbox_type="PublicDL")


def test_a_fault_spec_names_faults_by_their_short_or_their_own_names():
    assert parse_faults("drop") == {"drop_every": 1}
    assert parse_faults("busy=3, 503") == {"busy_every": 3, "http503_every": 1}
    assert parse_faults("slow", slow_ms=25_000) == {"latency_ms": 25_000.0}
    assert parse_faults("slow=800,--back-off-ms=50") == {"latency_ms": 800.0, "back_off_ms": 50}
    assert parse_faults("max_concurrent=2") == {"max_concurrent": 2}
    assert parse_faults("") == parse_faults("off") == {}


@pytest.mark.parametrize(("spec", "said"), [
    ("sometimes", "unknown fault"), ("busy=x", "not a number"), ("drop=0", "1 or more"),
    ("latency_ms", "needs a value"), ("slow=-5", "0 or more"),
])
def test_a_fault_spec_that_does_not_parse_says_which_item_and_why(spec, said):
    with pytest.raises(FaultSpecError, match=said):
        parse_faults(spec)


def test_faults_described_read_back_as_the_same_faults():
    faults = Faults(**parse_faults("busy=3,slow=900"))
    assert describe(faults) == "latency_ms=900,busy_every=3"
    assert Faults(**parse_faults(describe(faults))) == faults
    assert describe(Faults()) == "off"


def test_faults_are_switched_over_http_while_serving(sim, account):
    server, _ = sim
    acc = account(server)
    control = server.url.split("/EWS/")[0] + FAULTS_PATH
    put = requests.put(control, data="busy")
    assert put.status_code == 200 and put.json()["faults"] == "busy_every=1"
    with pytest.raises(ErrorServerBusy):
        list(acc.protocol.expand_dl(SALES))
    assert requests.get(control).json()["settings"]["busy_every"] == 1
    assert requests.put(control, data="busy=3,nonsense").status_code == 400
    assert server.faults.busy_every == 1  # a refused spec changes nothing
    assert requests.delete(control).json()["faults"] == "off"
    assert [m.email_address for m in acc.protocol.expand_dl(SALES)] == [
        "alex@contoso.com", "adele@contoso.com"]


def test_the_command_line_takes_a_fault_spec_and_says_how_to_switch_it():
    proc = subprocess.Popen([sys.executable, "-m", "ews_simulator", "--port", "0",
                             "--faults", "drop", "--back-off-ms", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        faults = proc.stdout.readline()
        assert faults.startswith("faults: back_off_ms=50,drop_every=1")
        assert FAULTS_PATH in faults
        with pytest.raises(requests.ConnectionError):  # signed in, then dropped
            requests.post(url, data=b"<x/>", auth=("megan@contoso.com", DEMO_PASSWORD),
                          timeout=10)
    finally:
        proc.terminate()
        proc.wait(10)
    bad = subprocess.run([sys.executable, "-m", "ews_simulator", "--port", "0", "--faults",
                          "sometimes"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "'sometimes': unknown fault" in bad.stderr
