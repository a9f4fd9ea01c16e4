"""Exchange over OAuth, end to end: the pane's token reaches Rollcall over HTTPS, MSAL trades it
on behalf of the caller at the development issuer's token endpoint, and exchangelib sends the
Exchange token to a simulator that trusts that issuer. No service account, no impersonation:
Exchange itself keeps one person's contact groups from another."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from ews_simulator import BearerTrust, load
from ews_simulator.demo import demo_document
from ews_simulator.tls import self_signed
from rollcall.core.model import DirectoryError, Recipient
from rollcall.counting import Settings
from rollcall.counting.service import CountService
from rollcall.dev import certs as devcert
from rollcall.dev.app import dev_app
from rollcall.dev.demo import demo_issuer, dev_identity, people
from rollcall.directory.ews.client import EwsConnections
from rollcall.directory.ews.settings import EwsSettings
from rollcall.identity.on_behalf_of import AccessToken
from support import demo_config, rollcall_app, signed_in

EWS_SCOPE = "https://outlook.office365.com/EWS.AccessAsUser.All"
ALLSTAFF = {"displayName": "All Staff", "emailAddress": "allstaff@contoso.com"}
CHAMPIONS = {"displayName": "Comms Champions", "emailAddress": ""}  # Megan's contact group
DEAL_DESK = {"displayName": "Deal Desk", "emailAddress": ""}  # Alex's contact group


@dataclasses.dataclass
class OAuthRollcall:
    base: str
    ca: Path
    sim: Any
    wire: Any
    app: Any
    exchanges: list[str]  # the on-behalf-of requests the issuer's token endpoint received

    def token(self, who: str) -> str:
        answer = requests.post(f"{self.base}/dev-issuer/token", json={"username": who},
                               verify=self.ca, timeout=10)
        token: str = answer.json()["access_token"]
        return token

    def post(self, path: str, who: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.base}{path}", json=body, verify=self.ca, timeout=30,
                             headers={"Authorization": f"Bearer {self.token(who)}"})

    def count(self, who: str, *recipients: dict[str, str]) -> dict[str, Any]:
        answer = self.post("/api/count", who, {"recipients": list(recipients)})
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        return report


@pytest.fixture(autouse=True)
def _private_ca_forgotten() -> Iterator[None]:
    """ROLLCALL_EWS_CA_FILE is process-wide in exchangelib (its HTTP adapter class): forget the
    test's bundles, so a later test's simulator on a reused port is not held to this one's."""
    from exchangelib.protocol import BaseProtocol

    from rollcall.directory.ews.auth import PrivateCA

    adapter, bundles = BaseProtocol.HTTP_ADAPTER_CLS, dict(PrivateCA.bundles)
    yield
    BaseProtocol.HTTP_ADAPTER_CLS = adapter
    PrivateCA.bundles.clear()
    PrivateCA.bundles.update(bundles)


def https_simulator(start_simulator: Any, org: Any, issuer: Any,
                    folder: Path) -> tuple[Any, Any, Path]:
    """The simulator over HTTPS (bearer tokens never travel over plain HTTP: oauthlib refuses),
    trusting `issuer`; (simulator, wire, its certificate for ROLLCALL_EWS_CA_FILE)."""
    tls = self_signed(folder, "127.0.0.1")
    sim, wire = start_simulator(org, tls=tls, bearer=BearerTrust(issuer.issuer, issuer.jwks_url))
    return sim, wire, tls[0]


@pytest.fixture
def oauth(start_simulator: Any, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[OAuthRollcall]:
    """Rollcall with ROLLCALL_EWS_AUTH=oauth on an ephemeral HTTPS port, its development issuer
    found by OpenID discovery (as MSAL finds Entra ID), and a simulator trusting that issuer."""
    cert, key, _ = devcert.ensure(tmp_path / "certs", ("localhost", "127.0.0.1"))
    exchanges: list[str] = []
    holder: dict[str, Any] = {}

    def wsgi(environ: dict[str, Any], start: Any) -> Any:
        if environ["PATH_INFO"] == "/dev-issuer/oauth2/token":
            exchanges.append(environ["REQUEST_METHOD"])
        return holder["app"](environ, start)

    server = make_server("localhost", 0, wsgi, threaded=True, ssl_context=(str(cert), str(key)))
    base = f"https://localhost:{server.server_port}"
    ca = tmp_path / "certs" / devcert.CA_NAME
    org = load(demo_document())
    issuer = demo_issuer(tmp_path / "dev-issuer", base, people(org.mailboxes.values()))
    sim, wire, ews_ca = https_simulator(start_simulator, org, issuer, tmp_path / "ews")
    # The simulator's certificate is trusted as a site trusts its internal CA, even where
    # REQUESTS_CA_BUNDLE names the public bundle (requests lets it beat a session's `verify`).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    config = demo_config(sim, instance_path=str(tmp_path), ews_auth="oauth",
                         ews_ca_file=str(ews_ca),
                         ews_oauth_scope=EWS_SCOPE, oidc_client_id=issuer.client_id,
                         oidc_client_secret=issuer.client_secret, **dev_identity(issuer, ca))
    # No service account at all: every request to Exchange carries a caller's own token.
    config = config.with_settings(ews_username=None, ews_password=None)
    holder["app"] = dev_app(config, issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield OAuthRollcall(base, ca, sim, wire, holder["app"], exchanges)
    server.shutdown()
    thread.join(5)


def test_a_count_over_oauth_matches_the_service_accounts(oauth, demo_simulator, tmp_path):
    mine = oauth.count("megan@contoso.com", ALLSTAFF, CHAMPIONS)
    assert mine["complete"] and mine["mailbox"] == "megan@contoso.com"
    assert [node["name"] for node in mine["tree"]][-1] == "Comms Champions"
    basic = signed_in(rollcall_app(demo_config(demo_simulator[0],
                                               instance_path=str(tmp_path / "basic"))))
    same = basic.post("/api/count", json={"recipients": [ALLSTAFF, CHAMPIONS]}).get_json()
    assert mine["total"] == same["total"] > 495
    requests_sent = [req for req, _, _ in oauth.wire.exchanges]
    assert requests_sent and not any(b"ExchangeImpersonation" in r for r in requests_sent)
    counters = oauth.sim.snapshot()
    assert counters["_bearer"] == len(requests_sent) and "_unauthorized" not in counters


def test_exchange_keeps_each_persons_contact_groups_their_own(oauth):
    assert oauth.count("alex@contoso.com", DEAL_DESK)["total"] > 0
    seen = oauth.count("alex@contoso.com", CHAMPIONS)
    assert seen["total"] == 0 and seen["tree"] == []
    assert [f["code"] for f in seen["findings"]] == ["unresolved"]
    assert oauth.count("megan@contoso.com", DEAL_DESK)["total"] == 0
    assert oauth.count("megan@contoso.com", CHAMPIONS)["total"] > 0


def test_one_exchange_per_person_however_many_counts(oauth):
    for _ in range(3):
        oauth.count("megan@contoso.com", CHAMPIONS)
    oauth.count("alex@contoso.com", DEAL_DESK)
    verdict = oauth.post("/api/validate", "alex@contoso.com",
                         {"recipients": [DEAL_DESK], "subject": "Hi"})
    assert verdict.status_code == 200 and verdict.json()["report"]["mailbox"] == "alex@contoso.com"
    assert oauth.exchanges == ["POST", "POST"]


def test_admin_status_probes_exchange_as_the_admin(oauth):
    answer = requests.get(f"{oauth.base}/api/admin/status", verify=oauth.ca, timeout=30,
                          headers={"Authorization": f"Bearer {oauth.token('isaiah@contoso.com')}"})
    exchange = answer.json()["exchange"]
    assert exchange["configured"] and exchange["auth"] == "oauth"
    assert exchange["reachable"] is True and exchange["version"], exchange


def test_a_refused_exchange_says_why(oauth):
    """A wrong client secret: the provider refuses, and the count (502, Exchange could not be
    asked) names the provider's reason."""
    obo = oauth.app.extensions["rollcall"].on_behalf_of
    obo.settings = dataclasses.replace(obo.settings, client_secret="not-the-secret")
    answer = oauth.post("/api/count", "megan@contoso.com", {"recipients": [CHAMPIONS]})
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "exchange_unauthorized" and "invalid_client" in error["message"]


def test_a_refused_token_names_its_reason_and_the_setting(oauth):
    """A scope for the wrong resource: the issuer obliges, Exchange refuses the audience, and the
    count says so and which setting to look at."""
    obo = oauth.app.extensions["rollcall"].on_behalf_of
    obo.settings = dataclasses.replace(obo.settings,
                                       scope="https://mail.elsewhere.example/EWS.AccessAsUser.All")
    answer = oauth.post("/api/count", "megan@contoso.com", {"recipients": [CHAMPIONS]})
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "exchange_unauthorized"
    assert "Audience doesn't match" in error["message"]
    assert "ROLLCALL_EWS_OAUTH_SCOPE" in error["message"]
    assert "ROLLCALL_EWS_PASSWORD" not in error["message"]


def test_the_command_line_has_no_caller_token_and_says_so(oauth, capsys, monkeypatch):
    from rollcall.cli import main

    env = {"ROLLCALL_EWS_URL": oauth.sim.url, "ROLLCALL_EWS_AUTH": "oauth",
           "ROLLCALL_OIDC_ISSUER": f"{oauth.base}/dev-issuer",
           "ROLLCALL_OIDC_CLIENT_ID": "00000000-0000-0000-0000-000000000000",
           "ROLLCALL_OIDC_CLIENT_SECRET": "x", "ROLLCALL_MAILBOX": "megan@contoso.com"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for command in (["count", "Comms Champions"], ["check", "Comms Champions"],
                    ["lists", "snapshot", "Champions", "--from-exchange", "Comms Champions"]):
        assert main(command) == 2  # a configuration the command line cannot use
        err = capsys.readouterr().err
        assert "no signed-in person" in err and "ROLLCALL_EWS_AUTH=basic" in err, err


def test_an_expired_exchange_token_is_replaced_mid_way(start_simulator, tmp_path, monkeypatch):
    """exchangelib holds each token in its sessions; once one expires, the next count's
    newest token takes over after one retried call. oauthlib is what sees a token expire (it
    sends none past its expires_at), so its clock is the test's: no waiting in real time."""
    from types import SimpleNamespace

    import oauthlib.oauth2.rfc6749.clients.base as oauth_client
    from exchangelib.protocol import BaseProtocol

    from support import Clock

    clock = Clock(time.time())
    monkeypatch.setattr(oauth_client, "time", SimpleNamespace(time=clock))
    org = load(demo_document())
    issuer = demo_issuer(tmp_path / "dev-issuer", "https://localhost:3000",
                         people(org.mailboxes.values()))
    sim, _, ews_ca = https_simulator(start_simulator, org, issuer, tmp_path / "ews")
    minted: list[AccessToken] = []

    def tokens(mailbox: str) -> AccessToken:
        if not minted or minted[-1].expires_at <= clock():
            exp = clock() + 3600
            value = issuer.mint(mailbox, aud="https://outlook.office365.com",
                                scp="EWS.AccessAsUser.All", upn=mailbox, exp=int(exp))
            minted.append(AccessToken(value, exp))
        return minted[-1]

    sent: list[str] = []  # the token on each request the simulator received
    renewed: list[str] = []  # the token each session held when exchangelib saw it expire
    verify, refresh = sim.bearer.mailbox, BaseProtocol.refresh_credentials

    def verify_and_note(token: str) -> str:
        sent.append(token)
        return verify(token)

    def refresh_and_note(protocol: Any, session: Any) -> Any:
        renewed.append(session.token["access_token"])
        return refresh(protocol, session)

    monkeypatch.setattr(sim.bearer, "mailbox", verify_and_note)
    monkeypatch.setattr(BaseProtocol, "refresh_credentials", refresh_and_note)
    connections = EwsConnections(EwsSettings(url=sim.url, auth="oauth", ca_file=str(ews_ca)),
                                 tokens=tokens)
    service = CountService(lambda mailbox, _: connections.directory(mailbox),
                           Settings(concurrency=2, deadline_s=20.0, cache_ttl_s=0.0,
                                    max_entries=100))
    champions = [Recipient("Comms Champions", None)]
    first = service.count(champions, mailbox="megan@contoso.com")
    assert set(sent) == {minted[0].value} and renewed == []
    clock.now = minted[0].expires_at + 1  # the first token has expired
    sent.clear()
    second = service.count(champions, mailbox="megan@contoso.com", refresh=True)
    assert len(minted) == 2 and second.complete and second.total == first.total > 0
    assert renewed and set(renewed) == {minted[0].value}  # sessions held the expired token
    assert set(sent) == {minted[1].value}  # and every call went with the newest instead
    with pytest.raises(DirectoryError, match="no service account"):
        connections.directory(None)


def test_only_the_most_recent_senders_keep_connections_open(start_simulator, tmp_path,
                                                            monkeypatch):
    """Each sender has a connection pool of their own over OAuth; beyond the bound the least
    recently used is closed and forgotten, and comes back when that sender counts again."""
    import exchangelib.protocol

    import rollcall.directory.ews.client as ews

    monkeypatch.setattr(ews, "MAX_OAUTH_ACCOUNTS", 2)
    org = load(demo_document())
    issuer = demo_issuer(tmp_path / "dev-issuer", "https://localhost:3000",
                         people(org.mailboxes.values()))
    sim, _, ews_ca = https_simulator(start_simulator, org, issuer, tmp_path / "ews")

    def tokens(mailbox: str) -> AccessToken:
        value = issuer.mint(mailbox, aud="https://outlook.office365.com",
                            scp="EWS.AccessAsUser.All", upn=mailbox)
        return AccessToken(value, time.time() + 3600)

    connections = EwsConnections(EwsSettings(url=sim.url, auth="oauth", ca_file=str(ews_ca)),
                                 tokens=tokens)
    people_counting = ["megan@contoso.com", "alex@contoso.com", "isaiah@contoso.com"]
    first = connections.account(people_counting[0])
    for who in people_counting:
        connections.directory(who).resolve(who, who)
    assert list(connections._accounts) == people_counting[1:]
    cached = exchangelib.protocol.CachingProtocol._protocol_cache
    assert not any(protocol is first.protocol for protocol, _ in cached.values())
    again = connections.directory(people_counting[0]).resolve("Megan", "megan@contoso.com")
    assert again.entry is not None and again.entry.address == "megan@contoso.com"
    assert list(connections._accounts) == people_counting[1:][1:] + people_counting[:1]
