"""A second engine on a SQLite database this process already uses must not drop its locks:
closing any descriptor of the file releases every POSIX lock the process holds, and another
process closing its connection would then delete the write-ahead log the first is writing to
(found by a new-user pass: the demo lost its sends after the command line read them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from rollcall.store.db import make_engine

READ = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "print(c.execute('select count(*) from t').fetchone()[0]); c.close()")


def _count_elsewhere(db: Path) -> int:
    done = subprocess.run([sys.executable, "-c", READ, str(db)], capture_output=True,
                          text=True, timeout=60, check=True)
    return int(done.stdout)


def test_another_process_reading_after_a_second_engine_loses_nothing(tmp_path):
    db = tmp_path / "rollcall.db"
    first = make_engine(f"sqlite:///{db}")
    with first.begin() as conn:
        conn.execute(text("PRAGMA journal_mode=WAL"))
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    held = first.connect()  # the process keeps a connection open, as a server does
    held.execute(text("SELECT count(*) FROM t")).all()
    make_engine(f"sqlite:///{db}")  # a second store in the same process
    assert _count_elsewhere(db) == 1  # another process reads, then closes...
    wal = db.with_name(db.name + "-wal")
    assert wal.exists()  # ...and, this process still using it, leaves the log alone
    with first.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
    assert _count_elsewhere(db) == 2  # the write after it is seen, not lost with a WAL
    held.close()
    first.dispose()
