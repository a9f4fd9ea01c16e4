"""The threads that talk to the directory, shared by every count in the process and bounded.

A count never waits for a stuck call (it answers at its deadline), but the call's thread stays
busy until the directory's own timeout. With a pool per count, a hung Exchange and a stream of
send checks piled up hundreds of such threads; one bounded pool keeps the process's threads, and
the load a hung or slow directory sees, fixed: calls past the bound queue, and the deadline drops
them from the queue without ever starting them.

The threads are daemons: a command line that has printed its count exits at once, instead of
waiting (as ThreadPoolExecutor's threads make it) for Exchange's hung answers to time out.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

DIRECTORY_THREADS = 64  # calls in flight across all counts (each count also has its own limit)
CONNECT_THREADS = 8  # first connections (exchangelib's version probe), which can hang too

class DaemonPool:
    """At most `size` daemon threads running submitted calls in order; threads start as work
    arrives and none is idle."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]]
        self._work = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads waiting for work
        self._pending = 0  # calls queued that no thread has taken yet

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self._work.put((future, fn, args))
        with self._lock:
            self._pending += 1
            if self._pending > self._idle and self._threads < self.size:
                self._threads += 1
                threading.Thread(target=self._run, name=f"{self.name}-{self._threads}",
                                 daemon=True).start()
        return future

    def _run(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            future, fn, args = self._work.get()
            with self._lock:
                self._idle -= 1
                self._pending -= 1
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued: its count has answered already
            try:
                future.set_result(fn(*args))
            except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(e)


_lock = threading.Lock()
_pools: dict[str, DaemonPool] = {}


def _pool(name: str, size: int) -> DaemonPool:
    # Created on first use in each process, so a server that forks workers gets its own.
    with _lock:
        pool = _pools.get(name)
        if pool is None:
            pool = _pools[name] = DaemonPool(size, f"rollcall-{name}")
        return pool


def directory_call(fn: Callable[..., T], *args: Any) -> Future[T]:
    """Run one directory call on the shared, bounded pool."""
    return _pool("directory", DIRECTORY_THREADS).submit(fn, *args)


def connect(fn: Callable[[], T], timeout_s: float) -> T:
    """fn() on the connect pool, or TimeoutError after `timeout_s` (fn keeps its thread until
    it ends on its own; nobody waits for it)."""
    future = _pool("connect", CONNECT_THREADS).submit(fn)
    try:
        return future.result(timeout=max(0.0, timeout_s))
    except TimeoutError:
        future.cancel()  # still queued behind hung connects: it never starts
        raise
