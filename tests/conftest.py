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


def _find_schema() -> tuple[Path | None, str]:
    """(the folder holding Microsoft's EWS schema, or None; where it is, or why it is absent).
    ROLLCALL_EWS_SCHEMA_DIR, when set, is the only place looked at."""
    configured = os.environ.get("ROLLCALL_EWS_SCHEMA_DIR")
    folder = Path(configured).resolve() if configured else REPO.parent / "shared" / "ews-schema"
    named = f"ROLLCALL_EWS_SCHEMA_DIR={configured}" if configured else str(folder)
    if (folder / "messages.xsd").is_file():
        return folder, f"{folder}" + (" (ROLLCALL_EWS_SCHEMA_DIR)" if configured else "")
    why = "holds no messages.xsd" if folder.is_dir() else "does not exist"
    return None, (
        f"not found ({named} {why}): EWS exchanges will not be schema-validated. Put Microsoft's "
        "EWS schema at ../shared/ews-schema beside the checkout, or set ROLLCALL_EWS_SCHEMA_DIR "
        "to its folder"
    )


# Once, before `_out_of_the_checkout` changes folder (a relative ROLLCALL_EWS_SCHEMA_DIR).
SCHEMA_DIR, SCHEMA_SAID = _find_schema()


def pytest_report_header(config: pytest.Config) -> str:
    if SCHEMA_DIR is None:
        return f"EWS schema: {SCHEMA_SAID}"
    return f"EWS schema: {SCHEMA_SAID}; the EWS exchanges in tests are validated against it"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCHEMA_DIR is None:  # said again at the end, where it is seen
        terminalreporter.write_line(f"EWS schema: {SCHEMA_SAID}", yellow=True, bold=True)


@pytest.fixture(scope="session", autouse=True)
def _out_of_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run every test from a scratch folder: settings default to ./instance, and a test that
    relies on the default must not leave a database in the checkout for `make demo` to find."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(here)


@pytest.fixture(scope="session")
def optional_ews_schema() -> Any:
    """Microsoft's EWS schema loaded once, or None where it is absent (never under CI)."""
    if SCHEMA_DIR is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Microsoft's EWS schema was {SCHEMA_SAID}; CI must validate against it")
        return None
    import xmlschema

    return xmlschema.XMLSchema10(str(SCHEMA_DIR / "messages.xsd"))


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



@pytest.fixture
def start_graph_simulator() -> Iterator[Callable[..., Any]]:
    """Start Graph simulators (HTTPS on ephemeral ports) for an organisation document or an
    already loaded Organisation: `start_graph_simulator(doc_or_org, **kwargs)` takes
    GraphSimulator's keyword arguments; every one started is stopped after the test."""
    from graph_simulator import GraphSimulator

    started: list[GraphSimulator] = []

    def start(doc: Any, **kwargs: Any) -> GraphSimulator:
        org = doc if hasattr(doc, "mailboxes") else load(doc)
        sim = GraphSimulator(org, **kwargs).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="session")
def demo_org() -> Any:
    """The demo organisation (read only): what both simulators serve."""
    from ews_simulator.demo import demo_document

    return load(demo_document())


@pytest.fixture(scope="session")
def graph_simulator(demo_org: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The Graph simulator serving the demo organisation, its tokens on behalf of people
    checked against the development issuer's; shared by the session (faults: `graph_sim`)."""
    from graph_simulator import GraphSimulator
    from support import dev_issuer

    issuer = dev_issuer()
    sim = GraphSimulator(demo_org, cert_dir=tmp_path_factory.mktemp("graph-sim"),
                         assertion_issuer=issuer.issuer, assertion_jwks=issuer.jwks_url,
                         assertion_audiences=(issuer.audience,)).start()
    yield sim
    sim.stop()


@pytest.fixture
def graph_sim(graph_simulator: Any) -> Iterator[Any]:
    """The shared Graph simulator, well behaved at the start and the end of the test."""
    graph_simulator.apply_faults("")
    yield graph_simulator
    graph_simulator.apply_faults("")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Any]:
    """A private redis-server for the session (Debian's; .ci/run installs it). Missing: the
    Redis cases skip, except under CI, which must run them."""
    from rollcall.dev.local_redis import LocalRedis, available

    if not available():
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; CI must run the Redis tests")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = LocalRedis().start()
    yield server
    server.close()
