"""`rollcall demo`, run as a new user runs it: a process of its own, the pane's sign-in through
the development issuer, and a count, acting in Exchange either way Rollcall can."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

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


@pytest.mark.parametrize("ews_auth", ["basic", "oauth"])
def test_the_demo_counts_for_a_signed_in_person(ews_auth, tmp_path):
    port = _free_port()
    rollcall = Path(sys.executable).with_name("rollcall")
    env = cli_environ()
    demo = subprocess.Popen([str(rollcall), "demo", "--port", str(port), "--ews-auth", ews_auth],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
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
        assert ("on behalf of each person" in banner) is (ews_auth == "oauth")
        ca = tmp_path / "instance" / "certs" / "rollcall-dev-ca.pem"
        base = f"https://localhost:{port}"
        token = requests.post(f"{base}/dev-issuer/token", json={}, verify=ca,
                              timeout=10).json()["access_token"]
        report = requests.post(f"{base}/api/count", json={"recipients": RECIPIENTS}, verify=ca,
                               timeout=30, headers={"Authorization": f"Bearer {token}"}).json()
        assert (report["total"], report["complete"], report["mailbox"]) == (
            501, True, "megan@contoso.com")
    finally:
        demo.terminate()
        demo.wait(10)
