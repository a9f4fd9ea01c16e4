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


class SendCheck:
    """Verdicts for messages about to be sent, and background warm-ups that make them fast."""

    def __init__(self, counts: CountService, policy: Policy,
                 store: Callable[[], Any] | None = None, warm_workers: int = 2) -> None:
        self.counts = counts
        self.policy = policy
        self.deadline_s = policy.deadline_s
        self.store = store
        self._pool = ThreadPoolExecutor(warm_workers, "rollcall-warmup")
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
        try:
            report = self.counts.count(recipients, expected, acting, remember=False,
                                       deadline_s=left, request_id=request_id)
        except DirectoryUnavailable as e:
            # Exchange refused before the count began: the policy's incomplete rule still
            # answers, in words, rather than Outlook sending unchecked on an error.
            report = self.counts.unreachable(recipients, acting, e)
        if record and not report.complete:
            # Finish the lists in the background: a second Send then finds them cached.
            self.warm_up(recipients, acting)
        # Without the add-in's per-message id, the same subject to the same entries is the same
        # message sent again (after Don't send); only a hash is stored, never the subject.
        identity = message_id or f"{subject}\n{count_key(recipients, acting)}"
        key = hashlib.sha256(identity.encode("utf-8")).hexdigest()
        verdict = self._decide(report, acting, key, record)
        if record and verdict.action != BLOCK:
            # "Last time" moves on only when the message may go: a blocked one keeps being
            # compared with what was really sent.
            self.counts.remember(recipients, report)
        log.info("send check action=%s rules=%s total=%d complete=%s elapsed_ms=%d",
                 verdict.action, ",".join(sorted({f.rule or "" for f in verdict.findings})),
                 report.total, report.complete, (time.monotonic() - started) * 1000)
        return {**verdict.to_json(), "report": report.to_json()}

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
