"""`rollcall demo`, run as a new user runs it: a process of its own, the pane's sign-in through
the development issuer, and a count, acting in Exchange either way Rollcall can."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from support import cli_environ

RECIPIENTS = [{"displayName": "", "emailAddress": "allstaff@contoso.com"},
              {"displayName": "Comms Champions", "emailAddress": ""}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Demo:
    banner: str
    base: str  # where the pane and the API are served
    ca: Path  # the development CA that signed its certificate

    def count(self) -> requests.Response:
        """POST /api/count as megan@contoso.com, signed in through the development issuer."""
        token = requests.post(f"{self.base}/dev-issuer/token", json={}, verify=self.ca,
                              timeout=10).json()["access_token"]
        return requests.post(f"{self.base}/api/count", json={"recipients": RECIPIENTS},
                             verify=self.ca, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})


@contextmanager
def running_demo(tmp_path: Path, *args: str) -> Iterator[Demo]:
    """`rollcall demo ARGS` in a process of its own, until its banner's last line."""
    port = _free_port()
    rollcall = Path(sys.executable).with_name("rollcall")
    demo = subprocess.Popen([str(rollcall), "demo", "--port", str(port), *args],
                            cwd=tmp_path, env=cli_environ(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = demo.stdout.readline() if demo.stdout else ""
            if not line and demo.poll() is not None:
                break
            lines.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        banner = "".join(lines)
        assert "Ctrl-C stops" in banner, banner
        yield Demo(banner, f"https://localhost:{port}",
                   tmp_path / "instance" / "certs" / "rollcall-dev-ca.pem")
    finally:
        demo.terminate()
        demo.wait(10)


@pytest.mark.parametrize("ews_auth", ["basic", "oauth"])
def test_the_demo_counts_for_a_signed_in_person(ews_auth, tmp_path):
    with running_demo(tmp_path, "--ews-auth", ews_auth) as demo:
        assert ("on behalf of each person" in demo.banner) is (ews_auth == "oauth")
        assert "misbehaves on purpose" not in demo.banner  # no faults unless asked for
        report = demo.count().json()
        assert (report["total"], report["complete"], report["mailbox"]) == (
            501, True, "megan@contoso.com")


def test_with_faults_the_demo_answers_no_number_until_they_are_switched_off(tmp_path):
    with running_demo(tmp_path, "--faults", "drop") as demo:
        assert "drop_every=1" in demo.banner
        [control] = re.findall(r"curl -X DELETE (\S+/_simulator/faults)", demo.banner)
        broken = demo.count()
        answer: dict[str, Any] = broken.json()
        assert broken.status_code == 502 and "total" not in answer, answer
        assert answer["error"]["code"] == "exchange_unreachable"
        counters = requests.get(control.replace("/faults", "/counters"), timeout=10).json()
        assert counters["_dropped"] >= 1  # the flag reached the simulator
        assert requests.delete(control, timeout=10).json()["faults"] == "off"
        report = demo.count().json()  # the pane recovers without restarting anything
        assert (report["total"], report["complete"]) == (501, True)


def test_a_fault_spec_the_simulator_does_not_know_stops_the_demo_before_it_starts(tmp_path):
    rollcall = Path(sys.executable).with_name("rollcall")
    done = subprocess.run([str(rollcall), "demo", "--port", str(_free_port()),
                           "--faults", "busy=3,sometimes"], cwd=tmp_path, env=cli_environ(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "'sometimes': unknown fault" in done.stderr and "drop, busy, 503, slow" in done.stderr
