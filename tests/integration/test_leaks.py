"""What must not leave the server: Exchange's own address in messages people and administrators
read, and credentials from a query string in the development server's access log.

Over real HTTP: exchangelib to the EWS simulator, urllib to werkzeug's server.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from ews_simulator import BearerTrust, load
from ews_simulator.demo import demo_document
from ews_simulator.oauth import InvalidBearer
from ews_simulator.tls import self_signed

# What Exchange Online writes in a refused token's challenge: the endpoint that was asked.
REFUSAL = ("The audience claim value is invalid for current resource. Audience claim is "
           "'https://graph.microsoft.com', request url is 'https://{host}/EWS/Exchange.asmx' "
           "and resource type is 'Exchange'.")


@pytest.fixture(autouse=True)
def _private_ca_forgotten() -> Iterator[None]:
    """ROLLCALL_EWS_CA_FILE is process-wide in exchangelib: forget this test's bundle after it."""
    from exchangelib.protocol import BaseProtocol

    from rollcall.directory.ews.auth import PrivateCA

    adapter, bundles = BaseProtocol.HTTP_ADAPTER_CLS, dict(PrivateCA.bundles)
    yield
    BaseProtocol.HTTP_ADAPTER_CLS = adapter
    PrivateCA.bundles.clear()
    PrivateCA.bundles.update(bundles)


def _where(error: Any) -> str:
    from rollcall.core.findings import reason

    return " ".join([error.message, error.detail or "", reason(error)])


def test_a_refused_exchange_token_never_names_exchanges_address(start_simulator, tmp_path):
    from rollcall.core.model import DirectoryError
    from rollcall.directory.ews.client import EwsConnections
    from rollcall.directory.ews.settings import EwsSettings
    from rollcall.identity.on_behalf_of import AccessToken

    tls = self_signed(tmp_path, "127.0.0.1")
    sim, _ = start_simulator(load(demo_document()), tls=tls,
                             bearer=BearerTrust("https://issuer.example", "file:///none"))
    host = sim.url.split("/")[2]

    def refuse(token: str) -> str:
        raise InvalidBearer(REFUSAL.format(host=host))

    sim.bearer.mailbox = refuse
    settings = EwsSettings(url=sim.url, auth="oauth", ca_file=str(tls[0]), build="15.1.2507.6")
    connections = EwsConnections(settings, lambda mailbox: AccessToken("t", time.time() + 600))
    with pytest.raises(DirectoryError) as refused:
        connections.directory("megan@contoso.com").resolve("Alex", "alex@contoso.com")
    said = _where(refused.value)
    assert "audience claim value is invalid" in said  # Exchange's reason is kept...
    assert host not in said and "://" not in said and host.split(":")[1] not in said  # ...not where


def test_a_host_name_nobody_has_is_said_in_words_without_the_name(tmp_path):
    from rollcall.core.model import DirectoryError
    from rollcall.directory.ews.client import EwsConnections
    from rollcall.directory.ews.settings import EwsSettings

    settings = EwsSettings(url="http://exchange.rollcall.invalid:8443/EWS/Exchange.asmx",
                           username="svc@contoso.com", password="x", timeout_s=5)
    with pytest.raises(DirectoryError) as failed:
        EwsConnections(settings).directory(None)
    said = _where(failed.value)
    assert failed.value.detail == "host name not found"
    assert "rollcall.invalid" not in said and "8443" not in said and "host=" not in said


def _tiny_app(environ: dict[str, Any], start: Any) -> list[bytes]:
    start("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.fixture
def dev_server() -> Iterator[tuple[str, int]]:
    from rollcall.dev.serve import RedactingRequestHandler

    server = make_server("127.0.0.1", 0, _tiny_app, threaded=True,
                         request_handler=RedactingRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_port
    server.shutdown()
    thread.join(5)


def test_the_dev_servers_access_log_never_shows_a_token_from_a_query(dev_server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    query = ("access_token=SECRET1&code=SECRET2&id_token=SECRET3&token=SECRET4"
             "&client%5Fsecret=SECRET5&as=alex%40contoso.com")
    host, port = dev_server
    with urllib.request.urlopen(f"http://{host}:{port}/taskpane.html?{query}", timeout=10) as r:
        assert r.status == 200
    # A request line werkzeug cannot read is logged as an error, quoting the line as sent.
    with socket.create_connection(dev_server, timeout=10) as raw:
        raw.sendall(b"GET /?refresh_token=SECRET6 HTTP/1.1 extra\r\n\r\n")
        raw.recv(1024)
    deadline = time.monotonic() + 5
    while "SECRET6" not in caplog.text and "refresh_token" not in caplog.text:
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.05)
    assert "SECRET" not in caplog.text, caplog.text
    assert "access_token=[redacted]" in caplog.text and "as=alex" in caplog.text


def test_rollcall_serve_logs_with_the_redacting_handler(monkeypatch, tmp_path):
    from rollcall.config import load_config
    from rollcall.dev import serve as dev_serve

    used: dict[str, Any] = {}

    def bind(*args: Any, **kwargs: Any) -> Any:
        used.update(kwargs)
        raise OSError(98, "in use")  # stop before serving: the handler is what is checked

    monkeypatch.setattr(dev_serve, "make_server", bind)
    config = load_config(environ={}, instance_path=str(tmp_path / "instance"))
    assert dev_serve.serve(config, "127.0.0.1", 0, dev_issuer=object()) == 2  # type: ignore[arg-type]
    assert used["request_handler"] is dev_serve.RedactingRequestHandler
    assert (tmp_path / "instance").stat().st_mode & 0o077 == 0
