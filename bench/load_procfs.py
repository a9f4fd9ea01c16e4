"""What /proc says about the load test's processes: memory (RSS, PSS), CPU (a process, a
process tree, the whole machine), children, and the client connections a process holds."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _field_mb(path: str, key: str) -> float | None:
    """A kB figure from a /proc file of "Key:  1234 kB" lines, in MB; None once it is gone."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb(pid: int) -> float | None:
    return _field_mb(f"/proc/{pid}/status", "VmRSS:")


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages split between their users (PostgreSQL's shared
    buffers would otherwise count once per backend); 0 once `pid` is gone."""
    return _field_mb(f"/proc/{pid}/smaps_rollup", "Pss:") or 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of `pid` (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores; /proc/stat)."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK  # all but idle and iowait


def tree_cpu_s(roots: list[int]) -> float:
    """CPU seconds of `roots` and every process below them, with the children they reaped (a
    finished wrk, a killed worker): the load test's own share of the machine."""
    parents: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            f = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents.setdefault(int(f[1]), []).append(pid)
        times[pid] = sum(int(x) for x in f[11:15]) / CLK_TCK  # utime stime cutime cstime
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(parents.get(pid, ()))
    return sum(times.get(pid, 0.0) for pid in seen)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(found)


def client_connections(pid: int, port: int) -> int:
    """Established TCP connections `pid` holds on local `port` (its clients')."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return 0
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "01" and int(parts[1].split(":")[1], 16) == port and parts[9] in inodes:
            count += 1
    return count
