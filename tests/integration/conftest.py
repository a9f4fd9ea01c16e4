"""Rollcall against the EWS simulator, through real exchangelib over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from support import demo_config, rollcall_app, signed_in


@pytest.fixture
def app(demo_simulator: Any, tmp_path: Any) -> Iterator[Flask]:
    sim, _ = demo_simulator
    yield rollcall_app(demo_config(sim, instance_path=str(tmp_path)))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Signed in as megan@contoso.com, the demo sender, with a token from the dev issuer."""
    client: FlaskClient = signed_in(app)
    return client
