"""Server information's diagnostics through the API and the command line, against real SMTP
simulators and a local DNS server: test connection, the relay health check, trace."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from send_support import FAST, drain

from dns_server import LocalDnsServer
from smtp_simulator import Rule, SmtpSimulator
from support import DEMO_SERVICE_ACCOUNT, cli_environ, demo_config, rollcall_app, signed_in

ADMIN = "isaiah@contoso.com"
BODY = {"recipients": [{"displayName": "External Partners",
                        "emailAddress": "partners@contoso.com"}],
        "subject": "Quarterly update", "text": "Hello"}
PUBLIC_IP = "81.2.69.160"  # what the relay's mail leaves from (never asked of the internet)
RECORDS = {
    "160.69.2.81.bl.rollcall.test": {"A": ["127.0.0.2"], "TXT": ["Listed: spam trap hits"]},
    "rollcall.contoso.com": {"TXT": [f"v=spf1 ip4:{PUBLIC_IP} -all"]},
    "_dmarc.rollcall.contoso.com": {"TXT": ["v=DMARC1; p=reject"]},
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dns() -> Any:
    with LocalDnsServer(RECORDS) as server:
        yield server


@pytest.fixture
def app(demo_simulator: Any, relay: Any, dns: Any, tmp_path: Path) -> Any:
    config = demo_config(demo_simulator[0], instance_path=str(tmp_path / "instance"),
                         smtp_url=relay.url, bounce_address="bounces+{token}@rollcall.contoso.com",
                         dnsbl_zones=("bl.rollcall.test", "clean.rollcall.test"),
                         dns_server=dns.address, relay_public_ips=(PUBLIC_IP,), **FAST)
    return rollcall_app(config)


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/admin/relays/primary/test"), ("post", "/api/admin/relays/primary/health"),
    ("get", "/api/admin/trace?q=alex@contoso.com"), ("get", "/api/admin/status")])
def test_only_administrators_may_run_diagnostics(app, relay, method, path):
    answer = getattr(signed_in(app), method)(path)
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert relay.connections == 0  # refused before anything was tried


def test_test_connection_takes_every_step_and_sends_nothing(app, relay):
    admin = signed_in(app, ADMIN)
    result = admin.post("/api/admin/relays/primary/test").get_json()
    assert result["ok"] is True and result["sent"] is False
    assert [s["name"] for s in result["steps"]] == ["connect", "ehlo", "mail", "rcpt", "rset",
                                                    "quit"]
    assert all(s["ok"] and s["elapsed_ms"] >= 0 for s in result["steps"])
    assert relay.accepted == []
    sent = admin.post("/api/admin/relays/primary/test", json={"to": "megan@contoso.com"})
    assert sent.get_json()["sent"] is True
    assert [tuple(a.rcpt_to) for a in relay.accepted] == [("megan@contoso.com",)]
    bad = admin.post("/api/admin/relays/primary/test", json={"to": "not an address"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_to"
    none = admin.post("/api/admin/relays/fallback/test")
    assert none.status_code == 404 and "ROLLCALL_SMTP_FALLBACK_URL" in \
        none.get_json()["error"]["message"]


def test_the_health_check_flags_an_open_relay_and_a_listing_and_is_kept(app, relay):
    admin = signed_in(app, ADMIN)
    checks = admin.post("/api/admin/relays/primary/health").get_json()
    assert checks["open_relay"]["open"] is True
    assert checks["open_relay"]["verdict"].startswith("OPEN RELAY")
    listed = [x for x in checks["dns"]["listings"] if x["listed"]]
    assert [(x["zone"], x["address"], x["reason"]) for x in listed] == [
        ("bl.rollcall.test", PUBLIC_IP, "Listed: spam trap hits")]
    assert checks["dns"]["spf"]["results"] == {PUBLIC_IP: "pass"}
    assert checks["dns"]["dmarc"]["policy"] == "reject"
    assert any(PUBLIC_IP in line for line in checks["dns"]["whitelist"])
    # Server information shows the last check with its time.
    (primary,) = admin.get("/api/admin/status").get_json()["smtp"]["relays"]
    assert primary["checked_at"] and primary["checks"]["open_relay"]["open"] is True


def test_a_relay_that_refuses_outsiders_is_not_an_open_relay(demo_simulator, dns, tmp_path):
    with SmtpSimulator(relay_domains=("contoso.com",)) as closed:
        config = demo_config(demo_simulator[0], instance_path=str(tmp_path / "instance"),
                             smtp_url=closed.url, dns_server=dns.address,
                             dnsbl_zones=("clean.rollcall.test",), **FAST)
        admin = signed_in(rollcall_app(config), ADMIN)
        checks = admin.post("/api/admin/relays/primary/health").get_json()
        assert checks["open_relay"]["open"] is False
        assert "554" in checks["open_relay"]["verdict"]


def test_trace_finds_a_recipient_by_the_relays_queue_id(app, relay):
    relay.set_rules([Rule("*@fabrikam.com", "greylist")])
    megan, admin = signed_in(app), signed_in(app, ADMIN)
    send = megan.post("/api/sends", json=BODY).get_json()
    drain(app.extensions["rollcall"])
    records = megan.get(f"/api/sends/{send['id']}/recipients").get_json()["recipients"]
    record = next(r for r in records if r["address"].endswith("@fabrikam.com"))
    found = admin.get(f"/api/admin/trace?q={record['remote_id']}").get_json()
    assert found["tried"] == ["queue_id"]
    (trace,) = found["traces"]
    assert trace["address"] == record["address"] and trace["message_id"] == record["message_id"]
    assert [e["kind"] for e in trace["events"]] == ["queued", "attempt", "deferred", "attempt",
                                                    "sent"]
    assert trace["relay_label"] == f"127.0.0.1:{relay.port}"
    report = trace["support_report"]
    assert report["recipient_domain"] == "fabrikam.com"
    assert report["remote_id"] == record["remote_id"]
    assert record["remote_id"] in trace["support_text"]
    assert any(step["where"] == "Postfix" for step in trace["next_steps"]) or trace["next_steps"]
    assert admin.get("/api/admin/trace?q=").status_code == 400
    assert admin.get("/api/admin/trace?q=x&send=abc").status_code == 400
    assert admin.get("/api/admin/trace?q=nobody@nowhere.example").get_json()["traces"] == []


# -- the command line ---------------------------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rollcall.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _env(sim: Any, smtp_url: str, tmp_path: Path, **more: str) -> dict[str, str]:
    return cli_environ(
        ROLLCALL_INSTANCE_PATH=str(tmp_path / "instance"), ROLLCALL_EWS_URL=sim.url,
        ROLLCALL_EWS_USERNAME=DEMO_SERVICE_ACCOUNT[0],
        ROLLCALL_EWS_PASSWORD=DEMO_SERVICE_ACCOUNT[1], ROLLCALL_SMTP_URL=smtp_url, **more)


def test_rollcall_smtp_test_exits_by_whether_the_relay_would_take_mail(demo_simulator, relay,
                                                                        tmp_path):
    nobody = _cli(_env(demo_simulator[0], relay.url, tmp_path), "smtp", "test")
    assert nobody.returncode == 2 and "--from ADDR" in nobody.stderr  # MAIL FROM whom?
    good = _cli(_env(demo_simulator[0], relay.url, tmp_path,
                     ROLLCALL_MAILBOX="megan@contoso.com"), "smtp", "test")
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith(f"primary relay 127.0.0.1:{relay.port}: would take mail")
    closed = _cli(_env(demo_simulator[0], f"smtp://127.0.0.1:{closed_port()}", tmp_path),
                  "smtp", "test", "--from", "megan@contoso.com", "--json")
    assert closed.returncode == 1
    result = json.loads(closed.stdout)
    assert result["failed_step"] == "connect" and "refused" in result["meaning"]
    with SmtpSimulator(auth=("svc", "right")) as locked:
        wrong = _cli(_env(demo_simulator[0], locked.url, tmp_path,
                          ROLLCALL_SMTP_USERNAME="svc", ROLLCALL_SMTP_PASSWORD="wrong",
                          ROLLCALL_MAILBOX="megan@contoso.com"), "smtp", "test")
        assert wrong.returncode == 1
        assert "failed at auth" in wrong.stdout and "535" in wrong.stdout


def test_rollcall_queue_status_and_trace_from_the_command_line(demo_simulator, relay, tmp_path):
    env = _env(demo_simulator[0], relay.url, tmp_path, ROLLCALL_SEND_RATE_PER_MINUTE="100000",
               ROLLCALL_SEND_RATE_PER_HOUR="1000000")
    made = _cli(env, "send", "create", "alex@contoso.com", "--from", "megan@contoso.com",
                "--subject", "Hello", "--text", str(Path(__file__)), "--json")
    assert made.returncode == 0, made.stderr
    status = _cli(env, "queue", "status")
    assert status.returncode == 0
    assert status.stdout.startswith("1 message still queued: still sending")
    assert _cli(env, "worker", "--until-done").returncode == 0
    done = _cli(env, "queue", "status", "--json")
    assert json.loads(done.stdout)["verdict"]["text"] == "Queue empty and all delivered."
    (accepted,) = relay.accepted
    traced = _cli(env, "trace", accepted.queue_id)
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.startswith("alex@contoso.com in send ")
    assert "Support report:" in traced.stdout and accepted.queue_id in traced.stdout
    missing = _cli(env, "trace", "nobody@nowhere.example")
    assert missing.returncode == 1 and "Nothing matches" in missing.stdout
