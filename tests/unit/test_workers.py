"""The shared directory pool: bounded, as many threads as work needs, daemons, cancellable."""

from __future__ import annotations

import threading

import pytest

from rollcall.counting import workers
from rollcall.counting.workers import DaemonPool


def test_calls_run_at_once_up_to_the_bound_then_queue():
    pool, release = DaemonPool(3, "t"), threading.Event()
    started = threading.Semaphore(0)

    def hold():
        started.release()
        release.wait()
        return threading.current_thread().daemon

    futures = [pool.submit(hold) for _ in range(5)]
    for _ in range(3):
        assert started.acquire(timeout=10)  # three run together
    assert not started.acquire(timeout=0.2)  # the other two wait for a thread
    assert futures[4].cancel()  # a queued call can still be dropped
    release.set()
    assert [f.result(timeout=10) for f in futures[:4]] == [True] * 4  # daemon threads
    assert pool._threads == 3


def test_an_error_reaches_the_caller():
    pool = DaemonPool(1, "t")
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(timeout=10)


def test_connect_gives_up_at_its_timeout_and_leaves_the_call_behind():
    release = threading.Event()
    with pytest.raises(TimeoutError):
        workers.connect(release.wait, 0.05)
    release.set()
