"""Opening the store: engine set-up per database, and Alembic `upgrade head` on every open."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text

from rollcall.store.repository import ListStore

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: every process that opens the same PostgreSQL database migrates in turn.
_MIGRATION_LOCK = 0x526F6C6C  # "Roll"
WRITE = {"rollcall_write": True}
_UPGRADING = threading.Lock()


def default_url(instance_path: str) -> str:
    """The embedded default: a SQLite file in the instance folder."""
    return f"sqlite:///{Path(instance_path).resolve() / 'rollcall.db'}"


def open_store(url: str | None, instance_path: str) -> ListStore:
    """Connect and migrate to the newest schema; raises SQLAlchemy errors if the database fails."""
    url = url or default_url(instance_path)
    engine = make_engine(url)
    try:
        upgrade(engine)
    except Exception:
        engine.dispose()
        raise
    return ListStore(engine)


def make_engine(url: str) -> Engine:
    """An engine with Rollcall's settings for SQLite (WAL, foreign keys, immediate writes) or PG."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        # Created on first use, owner-only: it holds people's addresses. SQLite gives its -wal
        # and -shm files the database file's permissions.
        Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Only when it is not there: closing any descriptor of an open SQLite file drops every
        # lock this process holds on it (POSIX), and a second engine on a database in use
        # would then let another process delete the write-ahead log under the first.
        if not Path(database).exists():
            try:
                os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_RDONLY, 0o600))
            except FileExistsError:
                pass
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself, so writes can take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough with WAL, and much faster
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that reads, then writes, fails at once (SQLITE_BUSY_SNAPSHOT) when
    # another writer committed in between; BEGIN IMMEDIATE waits for the lock instead.
    immediate = conn.get_execution_options().get("rollcall_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic on one connection, serialised against other processes opening the database."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    # Alembic's `context` and `op` are process-wide proxies: two migrations running at once in
    # one process (a warm-up thread and a request both opening the store) would share them.
    with _UPGRADING, engine.execution_options(**WRITE).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def alembic_config(url: str) -> Config:
    """Alembic's configuration built in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", os.fspath(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
