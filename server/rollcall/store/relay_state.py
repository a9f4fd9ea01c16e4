"""The relays' health as every worker sees it: a circuit opened when a relay cannot be reached,
a pause when it refuses Rollcall (credentials, quota), and when it last took a message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .outbox_models import RelayStateRow
from .queries import utcnow
from .transaction import Transactor


@dataclass(frozen=True, slots=True)
class RelayHealth:
    name: str
    state: str  # active | circuit_open | paused
    until: datetime | None
    reason: str | None
    failures: int
    last_ok_at: datetime | None
    last_error: str | None
    tls: bool | None = None  # the last session that opened was encrypted
    authenticated: bool | None = None  # ... and signed in
    down_since: datetime | None = None  # when the relay last stopped taking mail
    checks: dict[str, Any] | None = None  # the last health check (open relay, DNS)
    checked_at: datetime | None = None


class RelayStates:
    """The relay_state table; one transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self._tx = Transactor(engine)
        self._postgres = engine.dialect.name == "postgresql"

    def all(self) -> dict[str, RelayHealth]:
        """Every relay's shared health, by name."""
        return self._tx.read(lambda s: {r.name: _health(r) for r in s.scalars(
            select(RelayStateRow))})

    def failed(self, relay: str, state: str, until: datetime, reason: str, error: str) -> int:
        """Open the relay's circuit or pause it until `until`; returns consecutive failures."""
        def work(s: Session) -> int:
            at = utcnow()
            row = relay_row(s, relay, at, lock=self._postgres)
            if row.down_since is None:
                row.down_since = at
            row.state, row.until, row.reason, row.last_error = state, until, reason, error
            row.failures += 1
            row.updated_at = at
            return row.failures

        return self._tx.write(work)

    def checked(self, relay: str, checks: dict[str, Any]) -> None:
        """Keep a health check's result (open relay, blacklists, SPF...) for Server
        information to show with its time."""
        def work(s: Session) -> None:
            at = utcnow()
            row = relay_row(s, relay, at, lock=self._postgres)
            row.checks, row.checked_at = checks, at

        self._tx.write(work)

    def ok(self, relay: str, tls: bool | None = None, authenticated: bool | None = None) -> None:
        """The relay took a message: close its circuit (and note how the session went)."""
        def work(s: Session) -> None:
            at = utcnow()
            row = relay_row(s, relay, at, lock=self._postgres)
            row.state, row.until, row.reason, row.failures, row.last_ok_at = (
                "active", None, None, 0, at)
            row.down_since = None
            if tls is not None:
                row.tls, row.authenticated = tls, authenticated
            row.updated_at = at

        self._tx.write(work)


def relay_row(s: Session, relay: str, at: datetime, lock: bool) -> RelayStateRow:
    """The relay's row, made on first use; `lock` (PostgreSQL) holds it to the transaction's
    end, which is what serialises claims against one relay's budget."""
    query = select(RelayStateRow).where(RelayStateRow.name == relay)
    row = s.scalar(query.with_for_update() if lock else query)
    if row is None:
        row = RelayStateRow(name=relay, state="active", failures=0, updated_at=at)
        s.add(row)
        s.flush()
    return row


def _health(r: RelayStateRow) -> RelayHealth:
    return RelayHealth(name=r.name, state=r.state, until=r.until, reason=r.reason,
                       failures=r.failures, last_ok_at=r.last_ok_at, last_error=r.last_error,
                       tls=r.tls, authenticated=r.authenticated, down_since=r.down_since,
                       checks=r.checks, checked_at=r.checked_at)
