"""`rollcall demo`'s development issuer over real HTTPS: discovery, JWKS and tokens the API takes
through the production validation path; loopback only; `rollcall serve` needs a real issuer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from rollcall.app import create_app
from rollcall.cli import main
from rollcall.dev import certs as devcert
from rollcall.dev.app import dev_app
from rollcall.dev.demo import demo_issuer, dev_identity, people
from support import demo_config


@pytest.fixture
def https_demo(demo_simulator: Any, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Rollcall as `rollcall demo` runs it, on an ephemeral HTTPS port: (base URL, CA file)."""
    sim, _ = demo_simulator
    cert, key, _ = devcert.ensure(tmp_path / "certs", ("localhost", "127.0.0.1"))
    holder: dict[str, Any] = {}
    server = make_server("localhost", 0, lambda env, start: holder["app"](env, start),
                         threaded=True, ssl_context=(str(cert), str(key)))
    base = f"https://localhost:{server.server_port}"
    ca = tmp_path / "certs" / devcert.CA_NAME
    issuer = demo_issuer(tmp_path / "dev-issuer", base, people(sim.org.mailboxes.values()))
    config = demo_config(sim, instance_path=str(tmp_path), **dev_identity(issuer, ca))
    assert config.identity.jwks_url is None  # keys found by OpenID discovery, as from Entra ID
    holder["app"] = dev_app(config, issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, ca
    server.shutdown()
    thread.join(5)


def test_the_demo_signs_people_in_through_discovery_over_https(https_demo):
    base, ca = https_demo
    meta = requests.get(f"{base}/dev-issuer/.well-known/openid-configuration", verify=ca,
                        timeout=10).json()
    assert meta["jwks_uri"] == f"{base}/dev-issuer/jwks.json"
    got = requests.post(f"{base}/dev-issuer/token", json={"username": "alex@contoso.com"},
                        verify=ca, timeout=10).json()
    me = requests.get(f"{base}/api/me", verify=ca, timeout=10,
                      headers={"Authorization": f"Bearer {got['access_token']}"})
    assert me.status_code == 200 and me.json()["mailbox"] == "alex@contoso.com"
    default = requests.post(f"{base}/dev-issuer/token", json={}, verify=ca, timeout=10).json()
    me = requests.get(f"{base}/api/me", verify=ca, timeout=10,
                      headers={"Authorization": f"Bearer {default['access_token']}"})
    assert me.json()["mailbox"] == "megan@contoso.com"  # the demo sender, ROLLCALL_MAILBOX
    assert me.headers["Strict-Transport-Security"]


def test_the_dev_issuer_mints_only_for_the_demo_people_and_only_locally(demo_simulator, tmp_path):
    from support import rollcall_app

    client = rollcall_app(demo_config(demo_simulator[0], instance_path=str(tmp_path))
                          ).test_client()
    unknown = client.post("/dev-issuer/token", json={"username": "mallory@evil.example"})
    assert unknown.status_code == 400 and unknown.get_json()["error"]["code"] == "unknown_user"
    remote = client.post("/dev-issuer/token", json={}, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert remote.status_code == 403


def test_production_apps_have_no_dev_issuer(demo_simulator, tmp_path):
    app = create_app(demo_config(demo_simulator[0], instance_path=str(tmp_path)))
    assert app.test_client().post("/dev-issuer/token", json={}).status_code == 404
    config = app.test_client().get("/api/auth/config").get_json()
    assert config["dev_token_url"] is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_the_demo_refuses_to_listen_beyond_loopback(host, capsys):
    assert main(["demo", "--host", host, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "loopback" in err and "ROLLCALL_OIDC_ISSUER" in err


def test_serve_without_an_identity_provider_stops_naming_the_setting(monkeypatch, capsys,
                                                                     tmp_path):
    for name in ("ROLLCALL_OIDC_ISSUER", "ROLLCALL_OIDC_AUDIENCE", "ROLLCALL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ROLLCALL_INSTANCE_PATH", str(tmp_path))
    assert main(["serve", "--port", "0"]) == 2
    assert "ROLLCALL_OIDC_ISSUER" in capsys.readouterr().err
