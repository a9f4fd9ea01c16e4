"""Fixtures shared by every test folder: the EWS simulator and Microsoft's EWS schema."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from exchangelib.protocol import close_connections

from ews_simulator import Simulator, load
from support import Wire

REPO = Path(__file__).resolve().parents[1]


def _schema_dir() -> Path | None:
    configured = os.environ.get("ROLLCALL_EWS_SCHEMA_DIR")
    folder = Path(configured) if configured else REPO.parent / "shared" / "ews-schema"
    return folder if (folder / "messages.xsd").exists() else None


@pytest.fixture(scope="session", autouse=True)
def _out_of_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run every test from a scratch folder: settings default to ./instance, and a test that
    relies on the default must not leave a database in the checkout for `make demo` to find."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(here)


_SCHEMA_MISSING = (
    "Microsoft's EWS schema was not found at ../shared/ews-schema (or $ROLLCALL_EWS_SCHEMA_DIR)"
)


@pytest.fixture(scope="session")
def optional_ews_schema() -> Any:
    """Microsoft's EWS schema loaded once, or None where it is absent (never under CI)."""
    folder = _schema_dir()
    if folder is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(_SCHEMA_MISSING + "; CI must validate against it")
        return None
    import xmlschema

    return xmlschema.XMLSchema10(str(folder / "messages.xsd"))


@pytest.fixture
def start_simulator(optional_ews_schema: Any) -> Iterator[Callable[..., tuple[Simulator, Wire]]]:
    """Start simulators on ephemeral ports; after the test they stop, and every request and
    response that crossed the wire is validated against the EWS schema (when it is present)."""
    started: list[tuple[Simulator, Wire]] = []

    def start(doc: Any, **kwargs: Any) -> tuple[Simulator, Wire]:
        wire = Wire()
        org = doc if hasattr(doc, "mailboxes") else load(doc)
        sim = Simulator(org, observer=wire, **kwargs).start()
        started.append((sim, wire))
        return sim, wire

    yield start
    close_connections()  # exchangelib caches one Protocol per endpoint for the process
    for sim, _ in started:
        sim.stop()
    if optional_ews_schema is not None:
        for _, wire in started:
            wire.validate(optional_ews_schema)


@pytest.fixture(scope="session")
def demo_simulator(optional_ews_schema: Any) -> Iterator[tuple[Simulator, Wire]]:
    """The demo organisation, served once per test session (Rollcall's tests only read it)."""
    from ews_simulator.demo import demo_document

    wire = Wire()
    sim = Simulator(load(demo_document()), observer=wire).start()
    yield sim, wire
    close_connections()
    sim.stop()
    if optional_ews_schema is not None:
        wire.validate(optional_ews_schema)

