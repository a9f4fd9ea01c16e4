"""Helpers shared by test folders (fixtures live in conftest.py)."""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from lxml import etree

from ews_simulator import Simulator
from ews_simulator.soap import M_NS, SOAP_NS, T_NS

DEMO_SERVICE_ACCOUNT = ("svc-rollcall@contoso.com", "Passw0rd!")
DEMO_BASE = "https://localhost:3000"


@functools.cache
def dev_issuer() -> Any:
    """The development issuer `rollcall demo` runs, for the demo organisation's people; its
    keys live in a temporary folder for this test session."""
    from ews_simulator import load
    from ews_simulator.demo import demo_document
    from rollcall.dev.demo import demo_issuer, people

    folder = Path(tempfile.mkdtemp(prefix="rollcall-dev-issuer-"))
    return demo_issuer(folder, DEMO_BASE, people(load(demo_document()).mailboxes.values()))


def identity_settings() -> dict[str, Any]:
    """Settings that trust the development issuer through its JWKS file, as an air-gapped
    site trusts its identity provider: the production validation path, no HTTPS server needed."""
    from rollcall.dev.demo import dev_identity

    return dev_identity(dev_issuer(), jwks_file=True)


def demo_config(sim: Simulator, **overrides: Any) -> Any:
    """Rollcall's configuration against a simulator serving the demo organisation."""
    from rollcall.config import load_config

    settings = {
        "ews_url": sim.url,
        "ews_username": DEMO_SERVICE_ACCOUNT[0],
        "ews_password": DEMO_SERVICE_ACCOUNT[1],
        "mailbox": "megan@contoso.com",
        "internal_domains": ("contoso.com",),
        **identity_settings(),
    }
    settings.update(overrides)
    return load_config(environ={}, **settings)


def rollcall_app(config: Any) -> Any:
    """The app for `config`, serving the development issuer; identity settings are added to a
    configuration that has none, so every test reaches the API through token validation."""
    from rollcall.dev.app import dev_app

    if not config.identity.issuer:
        config = config.with_settings(**identity_settings())
    return dev_app(config, dev_issuer())


def token(who: str = "megan@contoso.com", **claims: Any) -> str:
    """An access token the development issuer signed for `who` (a demo person, or anyone in a
    test's own organisation)."""
    issuer = dev_issuer()
    name = None if who.lower() in issuer.users else who
    minted: str = issuer.mint(who, name=name, **claims)
    return minted


def bearer(who: str = "megan@contoso.com", **claims: Any) -> dict[str, str]:
    """Request headers carrying `who`'s token."""
    return {"Authorization": f"Bearer {token(who, **claims)}"}


def signed_in(app_or_config: Any, who: str = "megan@contoso.com") -> Any:
    """A Flask test client whose every request carries `who`'s token."""
    app = app_or_config if hasattr(app_or_config, "test_client") else rollcall_app(app_or_config)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token(who)}"
    return client


def cli_environ(**variables: str) -> dict[str, str]:
    """The environment for running `rollcall` in a subprocess: this one without the developer's
    ROLLCALL_* settings, plus `variables` (full names, ROLLCALL_...)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    environ.update(variables)
    return environ


class Clock:
    """A clock a test moves by hand (`clock.now += 60`), for code that takes one."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Wire:
    """Every SOAP exchange the simulator saw, so a test can validate or inspect them."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[bytes, bytes, int]] = []
        self._lock = threading.Lock()

    def __call__(self, request: bytes, response: bytes, status: int) -> None:
        with self._lock:
            self.exchanges.append((request, response, status))

    def responses(self, operation: str) -> list[etree._Element]:
        """Parsed `s:Body` children of the answers to `operation`."""
        out = []
        for req, resp, _ in self.exchanges:
            if _operation(req) == operation:
                out.append(etree.fromstring(resp).find(f"{{{SOAP_NS}}}Body")[0])
        return out

    def validate(self, schema: Any) -> int:
        """Validate every EWS element in headers and bodies, both ways; returns how many.

        Requests that are not XML at all (tests of malformed input) are left out; every
        response must parse."""
        checked = 0
        for req, resp, _ in self.exchanges:
            roots = [etree.fromstring(resp)]
            try:
                roots.append(etree.fromstring(req))
            except etree.XMLSyntaxError:
                pass
            for root in roots:
                for part in ("Header", "Body"):
                    parent = root.find(f"{{{SOAP_NS}}}{part}")
                    for child in [] if parent is None else parent:
                        if etree.QName(child).namespace in (M_NS, T_NS):
                            schema.validate(etree.tostring(child))
                            checked += 1
        return checked


def _operation(raw: bytes) -> str:
    body = etree.fromstring(raw).find(f"{{{SOAP_NS}}}Body")
    return etree.QName(body[0]).localname if body is not None and len(body) else ""


def refused(answer: Any, code: str, *words: str) -> str:
    """The message of a 400 answer with `code` whose message holds each of `words`."""
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    error = answer.get_json()["error"]
    assert error["code"] == code, error
    for word in words:
        assert word in error["message"], error["message"]
    return str(error["message"])
