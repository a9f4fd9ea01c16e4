"""The send check: a count under a short deadline, the policy, and the sender's hourly window."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from rollcall.core.drift import count_key, entries
from rollcall.core.model import Recipient
from rollcall.core.policy import BLOCK, OFF, Policy, SendVerdict, evaluate
from rollcall.core.report_types import CountReport
from rollcall.counting.service import CountService
from rollcall.errors import DirectoryUnavailable

from .window import WINDOW_S, usage

log = logging.getLogger(__name__)

_WARMING_MAX = 16  # warm-ups under way or queued at once: keystrokes must not queue Exchange work
_MARGIN_S = 0.5  # what a validate keeps for its own count after waiting for a warm-up
_ANSWER_S = 0.1  # what a validate keeps for writing its answer after the database work
_STORE_S = 0.3  # the most a validate waits for reading and writing the sender's hourly window
_STORE_WORKERS = 4


class SendCheck:
    """Verdicts for messages about to be sent, and background warm-ups that make them fast."""

    def __init__(self, counts: CountService, policy: Policy,
                 store: Callable[[], Any] | None = None, warm_workers: int = 2) -> None:
        self.counts = counts
        self.policy = policy
        self.deadline_s = policy.deadline_s
        self.store = store
        self._pool = ThreadPoolExecutor(warm_workers, "rollcall-warmup")
        # The database work of a verdict (the hourly window, "last time"): bounded threads, and
        # a validate never waits on them past its deadline (a long import holds the write lock).
        self._store_pool = ThreadPoolExecutor(_STORE_WORKERS, "rollcall-sendlog")
        self._lock = threading.Lock()
        # count key -> (acting mailbox, the entries it counts, its future)
        self._warming: dict[str, tuple[str | None, frozenset[str], Future[None]]] = {}
        self._sends: Any = None

    def warm_up(self, recipients: list[Recipient], mailbox: str | None = None) -> bool:
        """Start counting in the background; False when that count is already under way."""
        self.counts.check_size(recipients)
        acting = self.counts.acting(mailbox)
        key = count_key(recipients, acting)
        with self._lock:
            if key in self._warming or len(self._warming) >= _WARMING_MAX:
                return False
            future = self._pool.submit(self._warm, recipients, acting)
            self._warming[key] = (acting, entries(recipients), future)
        future.add_done_callback(lambda _: self._forget(key))
        return True

    def validate(self, recipients: list[Recipient], subject: str = "",
                 expected: int | None = None, mailbox: str | None = None,
                 message_id: str | None = None, record: bool = True,
                 deadline_s: float | None = None,
                 request_id: str | None = None) -> dict[str, Any]:
        """The verdict and its report; raises TooLarge or DirectoryUnavailable like a count."""
        # record=False is a dry run (the CLI): the window is read, nothing is written.
        started = time.monotonic()
        deadline = deadline_s or self.deadline_s
        acting = self.counts.acting(mailbox)
        self._await_warm_up(acting, entries(recipients), deadline - _MARGIN_S)
        left = max(min(_MARGIN_S, deadline), deadline - (time.monotonic() - started))
        # The count leaves the database its share of the deadline (the hourly window).
        left = max(left / 2, left - _STORE_S)
        counted = True
        try:
            report = self.counts.count(recipients, expected, acting, remember=False,
                                       deadline_s=left, request_id=request_id)
        except DirectoryUnavailable as e:
            # Exchange refused before the count began: the policy's incomplete rule still
            # answers, in words, rather than Outlook sending unchecked on an error.
            report = self.counts.unreachable(recipients, acting, e)
            counted = False
        if record and not report.complete:
            # Finish the lists in the background: a second Send then finds them cached.
            self.warm_up(recipients, acting)
        # Without the add-in's per-message id, the same subject to the same entries is the same
        # message sent again (after Don't send); only a hash is stored, never the subject.
        identity = message_id or f"{subject}\n{count_key(recipients, acting)}"
        key = hashlib.sha256(identity.encode("utf-8")).hexdigest()
        # The window normally takes milliseconds; a database that cannot answer in _STORE_S
        # (another writer holds the lock) costs the hourly rule, never the deadline.
        left = min(_STORE_S, deadline - (time.monotonic() - started) - _ANSWER_S)
        verdict = self._decide_within(report, acting, key, record, left)
        if record and verdict.action != BLOCK:
            # "Last time" moves on only when the message may go: a blocked one keeps being
            # compared with what was really sent. Waited for within the store's share of the
            # deadline (so the next check reads it); past that it is finished in the background.
            written = self._store_pool.submit(self._remember, recipients, report)
            try:
                written.result(timeout=max(0.0, min(_STORE_S, deadline
                                                    - (time.monotonic() - started) - _ANSWER_S)))
            except TimeoutError:
                log.info("last time is being written after the verdict")
        log.info("send check action=%s rules=%s total=%d complete=%s elapsed_ms=%d",
                 verdict.action, ",".join(sorted({f.rule or "" for f in verdict.findings})),
                 report.total, report.complete, (time.monotonic() - started) * 1000)
        # No report when nothing was asked: its zeros would be numbers that are not a count.
        return {**verdict.to_json(), "report": report.to_json() if counted else None}

    def _decide_within(self, report: CountReport, sender: str | None, key: str, record: bool,
                       timeout_s: float) -> SendVerdict:
        """The verdict; without the hourly window when the database cannot answer in time."""
        if sender is None or self.store is None or self.policy.action("per_hour") == OFF:
            return evaluate(report, self.policy)
        future = self._store_pool.submit(self._decide, report, sender, key, record)
        try:
            return future.result(timeout=max(0.0, timeout_s))
        except TimeoutError:
            future.cancel()
            log.warning("send window not read within the deadline; checking without the "
                        "hourly rule")
            return evaluate(report, self.policy)

    def _remember(self, recipients: list[Recipient], report: CountReport) -> None:
        try:
            self.counts.remember(recipients, report)
        except Exception:  # noqa: BLE001 - history is a help; the verdict has gone already
            log.exception("could not remember the send check's count")

    def _decide(self, report: CountReport, sender: str | None, key: str,
                record: bool) -> SendVerdict:
        """The verdict, with the sender's hourly window when there is a sender and a store."""
        if sender is None or self.store is None or self.policy.action("per_hour") == OFF:
            return evaluate(report, self.policy)  # no window to keep: nothing is recorded

        def decide(earlier: tuple[Any, ...], now: datetime) -> tuple[SendVerdict, int | None]:
            verdict = evaluate(report, self.policy, usage(earlier, now))
            return verdict, None if verdict.action == BLOCK else report.total

        try:
            sends = self._send_log()
            if record:
                result: SendVerdict = sends.check(sender, key, WINDOW_S, decide)
                return result
            now = datetime.now(UTC)
            return decide(sends.window(sender, WINDOW_S, now), now)[0]
        except Exception:  # noqa: BLE001 - one rule of many: our database must not hold mail
            log.exception("send window unavailable; checking without the hourly rule")
            return evaluate(report, self.policy)

    def _send_log(self) -> Any:
        if self._sends is None:
            from rollcall.store.send_checks import SendLog

            assert self.store is not None
            self._sends = SendLog(self.store().engine)
        return self._sends

    def _await_warm_up(self, mailbox: str | None, entries: frozenset[str],
                       timeout: float) -> None:
        with self._lock:
            pending = [f for m, e, f in self._warming.values() if m == mailbox and e & entries]
        if pending and timeout > 0:
            # A warm-up is already fetching these lists: asking Exchange again would double the
            # load and race it, while waiting lets this count read them from the cache.
            wait(pending, timeout=timeout)

    def _warm(self, recipients: list[Recipient], mailbox: str | None) -> None:
        try:
            self.counts.count(recipients, mailbox=mailbox, remember=False)
        except Exception:  # noqa: BLE001 - a warm-up is a hint; the send check counts anyway
            log.info("send check warm-up failed", exc_info=True)

    def _forget(self, key: str) -> None:
        with self._lock:
            self._warming.pop(key, None)
