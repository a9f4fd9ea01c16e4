"""Helpers shared by test folders (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

from ews_simulator import Simulator

DEMO_SERVICE_ACCOUNT = ("svc-rollcall@contoso.com", "Passw0rd!")


def demo_config(sim: Simulator, **overrides: Any) -> Any:
    """Rollcall's configuration against a simulator serving the demo organisation."""
    from rollcall.config import load_config

    settings = {
        "ews_url": sim.url,
        "ews_username": DEMO_SERVICE_ACCOUNT[0],
        "ews_password": DEMO_SERVICE_ACCOUNT[1],
        "mailbox": "megan@contoso.com",
        "internal_domains": ("contoso.com",),
    }
    settings.update(overrides)
    return load_config(environ={}, **settings)
