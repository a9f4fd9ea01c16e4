"""Secrets Rollcall makes for itself: created once, owner-only, in the instance folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def instance_key(instance_path: str, name: str, size: int = 32) -> bytes:
    """The key in INSTANCE/NAME, made on first use (two processes racing agree on one)."""
    path = Path(instance_path) / name
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(size))
    for _ in range(50):  # the winner may still be writing
        data = path.read_bytes()
        if len(data) >= size:
            return data
        import time

        time.sleep(0.01)
    raise OSError(f"{path} holds no key: delete it and Rollcall makes a new one")


def given_key(path: str, size: int = 32) -> bytes:
    """A key from a file an administrator made (`head -c 32 /dev/urandom > FILE`), the same on
    every machine; ValueError naming the file when it is too short to be one."""
    data = Path(path).read_bytes()
    if len(data) < size:
        raise ValueError(f"{path} holds {len(data)} bytes; a key needs at least {size} "
                         f"(head -c {size} /dev/urandom > {path})")
    return data
