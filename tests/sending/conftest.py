"""Tracked-send fixtures: the demo organisation in the EWS simulator, SMTP simulators as relays
(real TCP, aiosmtpd), and Rollcall's services on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from send_support import FAST

from smtp_simulator import SmtpSimulator
from store.conftest import pg_admin, pg_url  # noqa: F401 - the PostgreSQL fixtures
from support import demo_config


@pytest.fixture
def relay() -> Iterator[SmtpSimulator]:
    """The primary relay: an SMTP simulator on a free port."""
    sim = SmtpSimulator().start()
    yield sim
    sim.stop()


@pytest.fixture
def sending(demo_simulator: Any, relay: SmtpSimulator,
            tmp_path: Path) -> Callable[..., Any]:
    """Services against the demo organisation and `relay`; settings override the fast ones."""
    from rollcall.bootstrap import bootstrap

    def make(**settings: Any) -> Any:
        values = {"instance_path": str(tmp_path / "instance"), "smtp_url": relay.url,
                  "bounce_address": "bounces+{token}@rollcall.contoso.com", **FAST, **settings}
        return bootstrap(demo_config(demo_simulator[0], **values))

    return make
