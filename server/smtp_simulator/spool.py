"""Accepted messages written to a folder, so another process can see what the simulator took.

Each message is `<queue_id>.eml` (the data bytes as received) and `<queue_id>.json`
(`{"queue_id", "mail_from", "rcpt_to", "at"}`). Both are written to a temporary name and renamed,
the JSON last: a reader that finds the JSON finds the whole message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .ledger import Accepted


def write(folder: Path, message: Accepted) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"queue_id": message.queue_id, "mail_from": message.mail_from,
            "rcpt_to": list(message.rcpt_to), "at": message.at}
    _replace(folder / f"{message.queue_id}.eml", message.data)
    _replace(folder / f"{message.queue_id}.json", json.dumps(meta, indent=1).encode())


def read(folder: str | Path) -> list[Accepted]:
    """Every complete message in `folder`, oldest first ([] when there is no folder yet)."""
    found = []
    for meta_path in Path(folder).glob("*.json"):
        meta = json.loads(meta_path.read_text("utf-8"))
        data = meta_path.with_suffix(".eml").read_bytes()
        found.append(Accepted(meta["queue_id"], meta["mail_from"], tuple(meta["rcpt_to"]),
                              data, float(meta["at"])))
    return sorted(found, key=lambda m: (m.at, m.queue_id))


def _replace(path: Path, content: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)
