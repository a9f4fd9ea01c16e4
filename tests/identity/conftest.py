"""Apps for the identity tests: the real app on the demo organisation, tokens from the dev
issuer (support.py) or minted here with keys of the tests' own (minting.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from support import demo_config, rollcall_app, signed_in


@pytest.fixture
def make_app(demo_simulator: Any, tmp_path: Any) -> Callable[..., Flask]:
    """make_app(**settings) -> the app on the demo organisation, trusting the dev issuer."""
    def make(**settings: Any) -> Flask:
        config = demo_config(demo_simulator[0], instance_path=str(tmp_path), **settings)
        app: Flask = rollcall_app(config)
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def as_user(app: Flask) -> Callable[[str], Any]:
    """as_user("alex@contoso.com") -> a test client signed in as that person."""
    return lambda who: signed_in(app, who)
