"""Store fixtures: every test runs on SQLite (a temp file) and PostgreSQL (a fresh database).

PostgreSQL comes from ROLLCALL_TEST_DATABASE_URL (`scripts/test-postgres start` prints one); each
test gets its own database, created and dropped around it. Without the variable the PostgreSQL
cases skip, saying so, except under CI=true, where they fail: CI must test PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from rollcall.store import ListStore, open_store

PG_ENV = "ROLLCALL_TEST_DATABASE_URL"
PG_MISSING = (
    f"{PG_ENV} is not set: run `scripts/test-postgres start` and export the URL it prints "
    "(or use `scripts/test-postgres run pytest tests/store`)"
)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the test server, for CREATE/DROP DATABASE."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(PG_MISSING + "; CI must run the PostgreSQL tests")
        pytest.skip(PG_MISSING)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    name = f"rollcall_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(pg_admin.url).set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'rollcall.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[ListStore]:
    """A migrated store on each database."""
    opened = open_store(db_url, str(tmp_path / "instance"))
    yield opened
    opened.close()


@pytest.fixture
def pg_store(pg_url: str, tmp_path: Path) -> Iterator[ListStore]:
    """A migrated store on PostgreSQL only (row locks and concurrent sessions)."""
    opened = open_store(pg_url, str(tmp_path / "instance"))
    yield opened
    opened.close()
