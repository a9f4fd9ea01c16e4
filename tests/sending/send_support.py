"""Helpers the tracked-send tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

FAST = {"send_rate_per_minute": 100000, "send_rate_per_hour": 1000000, "send_retry_s": (1,),
        "send_lease_s": 5.0}


def drain(services: Any, timeout_s: float = 60, name: str | None = None) -> Any:
    """Run a send worker until every send is final (failing the test after `timeout_s`)."""
    from rollcall.bootstrap import send_worker

    worker = send_worker(services, name=name)
    assert worker is not None
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, True), daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        stop.set()
        thread.join(10)
        pytest.fail(f"the send did not finish within {timeout_s} s")
    return worker


def create(services: Any, *entries: str, sender: str = "megan@contoso.com",
           subject: str = "Quarterly update", html: str | None = "<p>Hello</p>",
           text: str | None = "Hello", **options: Any) -> Any:
    """A send of `entries`, counted as the command line counts (every Rollcall list)."""
    from rollcall.core.recipients import parse_recipient
    from rollcall.lists import counting_as_operator

    with counting_as_operator():
        summary, _ = services.sends.create(sender, [parse_recipient(e) for e in entries],
                                           subject, html, text, **options)
    return summary


def records(services: Any, send_id: int) -> dict[str, Any]:
    """address -> its record, as an administrator reads them."""
    from rollcall.lists import operator

    return {r.address: r for r in services.sends.recipients(send_id, operator())}


def show(services: Any, send_id: int) -> Any:
    from rollcall.lists import operator

    return services.sends.show(send_id, operator())


def run_for(services: Any, seconds: float) -> Any:
    """Run a send worker for `seconds`, then stop it (for relays that never take everything)."""
    from rollcall.bootstrap import send_worker

    worker = send_worker(services)
    assert worker is not None
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    thread.join(seconds)
    stop.set()
    thread.join(30)
    assert not thread.is_alive(), "the worker did not stop within 30 s"
    return worker


def relay_health(services: Any, name: str = "primary") -> Any:
    """The relay's shared health as the workers left it."""
    from rollcall.store.relay_state import RelayStates

    return RelayStates(services.sends.outbox.engine).all()[name]
