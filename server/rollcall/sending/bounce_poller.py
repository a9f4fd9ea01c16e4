"""The bounce mailbox route: bounce-backs read from an Exchange mailbox (ROLLCALL_BOUNCE_MAILBOX,
over EWS as the service account), each handed to the intake, then moved to the mailbox's
Processed folder. A report the intake cannot record stays in the inbox for the next round."""

from __future__ import annotations

import email
import email.policy
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from .bounces import BounceIntake

log = logging.getLogger(__name__)
BATCH = 100  # reports read per round


class Mailbox(Protocol):
    """What the poller needs of a mailbox (directory/ews/bounce_mailbox.py is the real one)."""

    def fetch(self, limit: int = 100) -> list[Any]: ...

    def processed(self, items: Any) -> None: ...


class BouncePoller:
    def __init__(self, intake: BounceIntake, mailbox: Mailbox) -> None:
        self.intake = intake
        self.mailbox = mailbox

    def once(self) -> int:
        """One round: every new report in, and out of the inbox; how many were recorded."""
        items = self.mailbox.fetch(BATCH)
        done = []
        for item in items:
            try:
                self.intake.receive(item.mime, _addressed_to(item.mime), "mailbox")
            except Exception:  # noqa: BLE001 - the database: leave it in the inbox, try later
                log.exception("a bounce from the mailbox could not be recorded; it stays there")
                continue
            done.append(item)
        if done:
            self.mailbox.processed(done)
        return len(done)

    def run(self, stop: threading.Event, every_s: float) -> None:
        """Rounds every `every_s` until `stop`; Exchange being away only delays them."""
        while not stop.is_set():
            try:
                while self.once() >= BATCH and not stop.is_set():
                    pass  # a backlog: the next round at once
            except Exception as e:  # noqa: BLE001 - Exchange down or busy: the next round
                log.warning("the bounce mailbox could not be read: %s", e)
            stop.wait(every_s)


def _addressed_to(raw: bytes) -> str | None:
    """Where a report was sent (its envelope is gone by the time it is in a mailbox): the
    Delivered-To/X-Original-To a transport adds, else To, which for a DSN is the envelope
    sender of the copy, Rollcall's VERP address."""
    try:
        head = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n",
                                        policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - a message the parser rejects: no envelope then
        return None
    for name in ("Delivered-To", "X-Original-To", "To"):
        value = head.get(name)
        if value:
            _, address = email.utils.parseaddr(str(value))
            if address:
                return address
    return None


def start(make: Callable[[], BouncePoller | None], every_s: float) -> Callable[[], None] | None:
    """The poller on a daemon thread; returns its stop (None when there is no mailbox)."""
    poller = make()
    if poller is None:
        return None
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop, every_s), name="bounce-poller",
                              daemon=True)
    thread.start()

    def stopped() -> None:
        stop.set()
        thread.join(timeout=10)

    return stopped
