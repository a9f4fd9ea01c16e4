"""Helpers shared by test folders (fixtures live in conftest.py)."""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from pathlib import Path
from typing import Any

from ews_simulator import Simulator

DEMO_SERVICE_ACCOUNT = ("svc-rollcall@contoso.com", "Passw0rd!")
DEMO_BASE = "https://localhost:3000"


@functools.cache
def dev_issuer() -> Any:
    """The development issuer `rollcall demo` runs, for the demo organisation's people; its
    keys live in a temporary folder for this test session."""
    from ews_simulator import load
    from ews_simulator.demo import demo_document
    from rollcall.serve import demo_issuer, people

    folder = Path(tempfile.mkdtemp(prefix="rollcall-dev-issuer-"))
    return demo_issuer(folder, DEMO_BASE, people(load(demo_document()).mailboxes.values()))


def identity_settings() -> dict[str, Any]:
    """Settings that trust the development issuer through its JWKS file, as an air-gapped
    site trusts its identity provider: the production validation path, no HTTPS server needed."""
    from rollcall.serve import dev_identity

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
    from rollcall.app import create_app

    if not config.oidc_issuer:
        config = dataclasses.replace(config, **identity_settings())
    return create_app(config, dev_issuer=dev_issuer())


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
