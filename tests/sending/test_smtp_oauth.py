"""ROLLCALL_SMTP_AUTH=oauth end to end: the send worker gets an app token from the development
issuer over HTTPS (msal's client credentials, the issuer found by OpenID discovery, as Entra ID
is) and signs in to an SMTP simulator that takes XOAUTH2 as Exchange Online does: the token's
RS256 signature checked against the issuer's keys, its issuer, audience and expiry."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from send_support import create, drain, records, relay_health, run_for, show
from werkzeug.serving import make_server

from rollcall.dev import certs as devcert
from rollcall.dev.app import dev_app
from rollcall.dev.demo import demo_issuer, dev_identity, people
from rollcall.sending.model import State
from smtp_simulator import BearerCheck, SmtpSimulator
from support import demo_config

PARTNERS = 14  # partners@contoso.com in the demo organisation
SERVICE = "svc-rollcall@contoso.com"  # the mailbox Rollcall's app sends as
OUTLOOK = "https://outlook.office365.com"


@dataclass
class Issuer:
    """The development issuer served over HTTPS, and what its token endpoint was asked."""

    issuer: Any  # DevIssuer
    ca: Path  # the development CA, for ROLLCALL_OIDC_CA_FILE
    token_requests: list[str]  # the grant_type of each POST to the token endpoint

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Rollcall's settings for XOAUTH2 with an app token from this issuer."""
        return {"smtp_auth": "oauth", "smtp_username": SERVICE,
                "smtp_oauth_scope": f"{OUTLOOK}/.default",
                "oidc_client_id": self.issuer.client_id,
                "oidc_client_secret": self.issuer.client_secret,
                **dev_identity(self.issuer, self.ca), **changes}


@pytest.fixture
def https_issuer(demo_simulator: Any, tmp_path: Path) -> Iterator[Issuer]:
    """The development issuer as `rollcall demo` serves it, on an ephemeral HTTPS port (msal
    insists on HTTPS), with the development CA to trust it by."""
    sim, _ = demo_simulator
    cert, key, _ = devcert.ensure(tmp_path / "certs", ("localhost", "127.0.0.1"))
    requests_seen: list[str] = []
    holder: dict[str, Any] = {}

    def wsgi(environ: dict[str, Any], start: Any) -> Any:
        if environ["PATH_INFO"] == "/dev-issuer/oauth2/token":
            requests_seen.append(environ["REQUEST_METHOD"])
        return holder["app"](environ, start)

    server = make_server("localhost", 0, wsgi, threaded=True, ssl_context=(str(cert), str(key)))
    base = f"https://localhost:{server.server_port}"
    ca = tmp_path / "certs" / devcert.CA_NAME
    issuer = demo_issuer(tmp_path / "dev-issuer", base, people(sim.org.mailboxes.values()))
    holder["app"] = dev_app(demo_config(sim, instance_path=str(tmp_path / "issuer-app"),
                                        **dev_identity(issuer, ca)), issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Issuer(issuer, ca, requests_seen)
    server.shutdown()
    thread.join(5)


@pytest.fixture
def exchange_relay(https_issuer: Issuer) -> Iterator[SmtpSimulator]:
    """An SMTP simulator that requires XOAUTH2 with the issuer's tokens for Exchange Online."""
    issuer = https_issuer.issuer
    with SmtpSimulator(bearer=BearerCheck(issuer.issuer, issuer.jwks_path, OUTLOOK)) as sim:
        yield sim


def test_a_send_through_an_xoauth2_relay_reaches_everyone(sending, https_issuer,
                                                          exchange_relay):
    services = sending(smtp_url=exchange_relay.url, **https_issuer.settings())
    send = create(services, "partners@contoso.com")
    drain(services)
    assert show(services, send.id).counts[State.SENT] == PARTNERS
    assert len(exchange_relay.accepted) == PARTNERS
    assert {m.rcpt_to for m in exchange_relay.accepted} == {(a,) for a in records(
        services, send.id)}
    # The relay saw a valid app token naming the sending mailbox, and nothing else.
    signed = exchange_relay.sign_ins
    assert signed and all(s.mechanism == "XOAUTH2" and s.user == SERVICE and s.accepted
                          for s in signed)
    claims = signed[0].claims or {}
    assert claims["aud"] == OUTLOOK and claims["iss"] == https_issuer.issuer.issuer
    assert claims["appid"] == https_issuer.issuer.client_id and "upn" not in claims
    # msal asked the issuer's token endpoint, over HTTPS, and no more often than it signed in.
    assert 1 <= len(https_issuer.token_requests) <= len(signed)
    assert relay_health(services).state == "active"


def test_a_wrong_client_secret_gets_no_token_and_sends_nothing(sending, https_issuer,
                                                               exchange_relay):
    services = sending(smtp_url=exchange_relay.url,
                       **https_issuer.settings(oidc_client_secret="not-the-secret"))
    send = create(services, "partners@contoso.com")
    run_for(services, 1.5)
    assert exchange_relay.accepted == [] and exchange_relay.sign_ins == []  # AUTH never sent
    assert https_issuer.token_requests  # the identity provider was asked, and refused
    health = relay_health(services)
    assert health.state != "active" and health.until is not None
    assert "invalid_client" in (health.last_error or "")  # the provider's own word
    assert "token" in (health.last_error or "").lower()
    assert health.reason  # some words for the administrator (see the strict xfail below)
    found = records(services, send.id)
    assert len(found) == PARTNERS
    assert all(r.state is State.QUEUED and r.attempts == 0 for r in found.values())
    assert exchange_relay.connections == 1  # one try, then the relay rests: no loop


def test_a_wrong_client_secret_is_reported_as_a_sign_in_problem(sending, https_issuer,
                                                                exchange_relay):
    services = sending(smtp_url=exchange_relay.url,
                       **https_issuer.settings(oidc_client_secret="not-the-secret"))
    create(services, "partners@contoso.com")
    run_for(services, 1.5)
    health = relay_health(services)
    reason = (health.reason or "").lower()
    assert "dropped" not in reason and "connection" not in reason, health.reason
    assert "token" in reason or "identity provider" in reason, health.reason
    assert health.state == "paused" and "invalid_client" in (health.last_error or "")


def test_a_token_for_another_audience_is_refused_and_pauses_the_relay(sending, https_issuer,
                                                                      exchange_relay):
    # The issuer obliges with a token for the resource asked for; Exchange refuses it.
    services = sending(smtp_url=exchange_relay.url, **https_issuer.settings(
        smtp_oauth_scope="https://mail.elsewhere.example/.default"))
    send = create(services, "partners@contoso.com")
    run_for(services, 1.5)
    assert exchange_relay.accepted == []
    [refused] = exchange_relay.sign_ins  # one try, then the relay rests: no loop
    assert refused.user == SERVICE and not refused.accepted
    assert "Audience doesn't match" in (refused.reason or "")
    health = relay_health(services)
    assert health.state == "paused"
    assert "535 5.7.3 Authentication unsuccessful" in (health.last_error or "")
    assert "authentication unsuccessful" in (health.reason or "").lower()
    found = records(services, send.id)
    assert all(r.state is State.QUEUED and r.attempts == 0 for r in found.values())
