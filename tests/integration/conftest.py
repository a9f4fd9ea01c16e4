"""Rollcall against the EWS simulator, through real exchangelib over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from rollcall.app import create_app
from support import demo_config


@pytest.fixture
def app(demo_simulator: Any, tmp_path: Any) -> Iterator[Flask]:
    sim, _ = demo_simulator
    yield create_app(demo_config(sim, instance_path=str(tmp_path)))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
