"""The bounce mailbox route: the relay's DSNs land in an Exchange mailbox (the EWS simulator's,
as a transport rule would put `bounces+TOKEN@` there), Rollcall reads them over EWS with
exchangelib, matches and acts on them, and moves them to the Processed folder."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from send_support import FAST, create, drain, records

from smtp_simulator import SmtpSimulator
from support import demo_config

GONE = "kim.abercrombie@fabrikam.com"
BOUNCES = "alex@contoso.com"  # the bounce mailbox (any mailbox the service account may read)


@pytest.fixture
def exchange(optional_ews_schema: Any) -> Iterator[Any]:
    """A simulator of its own: this test fills a mailbox's inbox."""
    from ews_simulator import Simulator, load
    from ews_simulator.demo import demo_document

    sim = Simulator(load(demo_document())).start()
    yield sim
    sim.stop()


def test_bounces_in_the_mailbox_are_matched_and_moved(exchange, tmp_path: Path):
    from rollcall.bootstrap import bootstrap, bounce_poller

    relay = SmtpSimulator(rules=f"bounce:{GONE}",
                          bounce_sink=lambda rcpt, raw: exchange.deliver(BOUNCES, raw)).start()
    try:
        services = bootstrap(demo_config(
            exchange, instance_path=str(tmp_path / "instance"), smtp_url=relay.url,
            bounce_address="bounces+{token}@rollcall.contoso.com", bounce_mailbox=BOUNCES,
            **FAST))
        send = create(services, "partners@contoso.com")
        drain(services)
        poller = bounce_poller(services)
        assert poller is not None
        deadline = time.monotonic() + 20
        read = 0
        while not read and time.monotonic() < deadline:
            read = poller.once()
            time.sleep(0.2)
        assert read == 1
        assert records(services, send.id)[GONE].state.value == "bounced"
        from rollcall.lists import operator

        (report,) = services.bounces.reports(operator(), send.id)
        assert report["source"] == "mailbox" and report["matched_by"] == "verp"
        assert poller.once() == 0  # moved to Processed: not read twice
        (processed,) = [f for f in exchange.mail.children(BOUNCES, "inbox")
                        if f.name == "Processed"]
        assert len(exchange.mail.messages(BOUNCES, processed.local)) == 1
        assert exchange.mail.messages(BOUNCES, "inbox") == []
    finally:
        relay.stop()


def test_rollcall_bounces_poll_needs_a_mailbox(demo_simulator, tmp_path):
    import subprocess
    import sys

    from support import cli_environ

    done = subprocess.run([sys.executable, "-m", "rollcall.cli", "bounces", "poll", "--once"],
                          env=cli_environ(ROLLCALL_INSTANCE_PATH=str(tmp_path)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "ROLLCALL_BOUNCE_MAILBOX" in done.stderr
