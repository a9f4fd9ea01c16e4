"""Fixtures for the simulators' tests: the small test organisation, exchangelib accounts, and
SMTP simulators started and stopped per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from exchangelib import DELEGATE, IMPERSONATION, Account, Configuration, Credentials
from exchangelib.protocol import FailFast

from ews_simulator import Simulator, load
from smtp_simulator import SmtpSimulator

ORG_FILE = Path(__file__).with_name("org.yaml")
PASSWORDS = {
    "megan@contoso.com": "megan-pw",
    "alex@contoso.com": "alex-pw",
    "svc-rollcall@contoso.com": "svc-pw",
}


@pytest.fixture
def sim(start_simulator: Callable[..., Any]) -> Iterator[tuple[Simulator, Any]]:
    """The test organisation served over HTTP, with every exchange validated at the end."""
    yield start_simulator(load(ORG_FILE))


@pytest.fixture
def account() -> Callable[..., Account]:
    def make(
        sim: Simulator,
        user: str = "megan@contoso.com",
        password: str | None = None,
        act_as: str | None = None,
        retry_policy: Any = None,
        delegate: bool = False,
        **config: Any,
    ) -> Account:
        creds = Credentials(user, password if password is not None else PASSWORDS[user])
        conf = Configuration(
            service_endpoint=sim.url,
            credentials=creds,
            retry_policy=retry_policy or FailFast(),
            **config,
        )
        acc = Account(
            act_as or user,
            config=conf,
            autodiscover=False,
            access_type=DELEGATE if delegate or not act_as else IMPERSONATION,
        )
        assert acc.version.build is not None  # the ConvertId probe; services need the version
        return acc

    return make


@pytest.fixture
def start() -> Iterator[Callable[..., SmtpSimulator]]:
    """Start simulators with the given settings; all are stopped at the end of the test."""
    started: list[SmtpSimulator] = []

    def make(**kwargs: Any) -> SmtpSimulator:
        sim = SmtpSimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in reversed(started):
        sim.stop()
