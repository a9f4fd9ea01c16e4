"""One transaction per public call, re-run when a concurrent session made it fail harmlessly."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

T = TypeVar("T")
ATTEMPTS = 6
log = logging.getLogger(__name__)


def should_retry(exc: DBAPIError) -> bool:
    """Whether re-running the whole transaction can succeed; every retry decision lives here."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01"):
        # PostgreSQL serialization failure or deadlock: it rolled us back; a re-run is safe.
        return True
    if sqlstate == "23505":
        # Unique violation: a concurrent session inserted the same contact, list or active
        # membership first. The re-run sees its row and is idempotent or raises AlreadyExists.
        return True
    text = str(exc.orig)
    if isinstance(exc, IntegrityError) and "UNIQUE constraint failed" in text:
        return True  # SQLite's unique violation, same reasoning
    if isinstance(exc, OperationalError) and "database is locked" in text:
        return True  # SQLite's busy timeout ran out under a long writer: wait and try again
    return False  # anything else is a real fault (a foreign key, a lost server): raise it


# SQLite lets one writer in at a time and makes the others sleep in growing steps (up to 100 ms)
# until the lock is free. Writers in one process queue on a Python lock instead, which hands the
# database over the moment it is free: the send worker's lanes commit once a message each.
_SQLITE_WRITERS: dict[str, threading.RLock] = {}
_REGISTRY = threading.Lock()


def _writer_lock(engine: Engine) -> threading.RLock | None:
    if engine.dialect.name != "sqlite":
        return None
    key = engine.url.render_as_string(hide_password=True)
    with _REGISTRY:
        return _SQLITE_WRITERS.setdefault(key, threading.RLock())


class Transactor:
    """Runs a function in a session inside one transaction; writes retry on conflicts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = engine.execution_options(rollcall_write=True)
        self._write_lock = _writer_lock(engine)
        # Reads see one snapshot across their queries; SQLite transactions already do.
        postgres = engine.dialect.name == "postgresql"
        self._read = (
            engine.execution_options(isolation_level="REPEATABLE READ") if postgres else engine
        )

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a read-only transaction (retried like writes on serialization errors)."""
        return self._run(lambda: _in_session(self._read, work))

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction; all or nothing, re-run on conflicts."""
        return self._locked(lambda: self._run(lambda: _in_session(self._write, work)))

    def read_rows(self, work: Callable[[Connection], T]) -> T:
        """As `read`, on a bare connection, for a read of one statement: the paths every send
        check takes, which need Core statements only and no ORM session (half their cost,
        bench/). One statement sees one snapshot at any isolation level, so PostgreSQL's is
        left at its default: setting it and resetting it would cost two more round trips."""
        return self._run(lambda: _on_connection(self.engine, work))

    def write_rows(self, work: Callable[[Connection], T]) -> T:
        """As `write`, on a bare connection (see `read_rows`)."""
        return self._locked(lambda: self._run(lambda: _on_connection(self._write, work)))

    def _locked(self, run: Callable[[], T]) -> T:
        if self._write_lock is None:
            return run()
        with self._write_lock:
            return run()

    def _run(self, once: Callable[[], T]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return once()
            except DBAPIError as exc:
                if attempt == ATTEMPTS or not should_retry(exc):
                    raise
                log.info("store: retrying after a concurrent conflict (attempt %d)", attempt)
                # Jittered back-off so sessions that collided do not collide again in step.
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")


def _in_session(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(engine, expire_on_commit=False, autoflush=True) as session:
        with session.begin():
            return work(session)


def _on_connection(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.begin() as connection:
        return work(connection)
