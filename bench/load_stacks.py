"""The two deployments the load test compares, each one object: `Scaled` (PostgreSQL, Redis,
gunicorn with 4 workers, 2 `rollcall worker`s, an SMTP simulator) and `Single` (the embedded
default: one process, SQLite, no Redis). Both count against one DemoSimulator."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from .load_procfs import cpu_s, pss_mb, rss_mb
from .load_procs import (
    Gunicorn,
    Logs,
    Postgres,
    SendWorkers,
    free_port,
    relay,
    rollcall_env,
    start,
    wait_healthy,
)
from .load_sim import DemoSimulator

GUNICORN_WORKERS, GUNICORN_THREADS = 4, 8  # the README's production line
SEND_WORKERS, SEND_CONNECTIONS = 2, 2
RELAY_SLOW_MS = 15  # the relay answers each SMTP reply after this: a send takes seconds
SEND_LEASE_S = 10  # a killed worker's recipients go back to the queue after this


def common_settings(sim: DemoSimulator, identity: dict[str, str], instance: Path
                    ) -> dict[str, str]:
    """What every Rollcall process of either deployment gets (one environment file)."""
    return {
        "ews_url": sim.url, "ews_username": "svc-rollcall@contoso.com",
        "ews_password": "Passw0rd!", "internal_domains": "contoso.com",
        "mailbox": "megan@contoso.com", "instance_path": str(instance), **identity,
        # 200 simulated senders each ask 1-2 times a second, past the 60 a minute a person
        # may; and the send check's policy limits are out of the way, so every check takes
        # the complete path (the hourly window is read and written), as bench/validate.py does.
        "rate_limit_per_minute": "0", "policy_per_message_max": "1000000000",
        "policy_per_hour_max": "1000000000000",
    }


class Scaled:
    def __init__(self, logs: Logs, sim: DemoSimulator, identity: dict[str, str]) -> None:
        from rollcall.dev.local_redis import LocalRedis

        self.sim, self.logs = sim, logs
        self._first_pids: set[int] = set()
        self._stops: list[Callable[[], object]] = []  # what started, stopped last first
        try:
            self.postgres = Postgres()
            self._stops.append(self.postgres.stop)
            self.redis = LocalRedis().start()
            self._stops.append(self.redis.close)
            self.relay, smtp_url, self.spool = relay(logs, RELAY_SLOW_MS)
            self._stops.append(self.relay.terminate)
            key = logs.folder / "tracking.key"  # one key for every process, as the README says
            key.write_bytes(secrets.token_bytes(32))
            self.settings = {
                **common_settings(sim, identity, logs.folder / "instance-scaled"),
                "tracking_key_file": str(key),
                "database_url": self.postgres.url, "redis_url": self.redis.url,
                "worker": "off", "smtp_url": smtp_url, "send_rate_per_minute": "100000",
                "send_rate_per_hour": "1000000", "send_connections": str(SEND_CONNECTIONS),
                "send_lease_s": str(SEND_LEASE_S)}
            env = rollcall_env(self.settings)
            self.gunicorn = Gunicorn(logs, env, GUNICORN_WORKERS, GUNICORN_THREADS)
            self._stops.append(self.gunicorn.stop)
            self.url = self.gunicorn.url
            self.senders = SendWorkers(logs, env, SEND_WORKERS)
            self._stops.append(self.senders.stop)
        except BaseException:
            self.stop()
            raise

    def web_pids(self) -> list[int]:
        return self.gunicorn.worker_pids()

    def notable(self) -> dict[str, int]:
        return self.logs.notable("gunicorn")

    def roots(self) -> list[int]:
        """What the load test started (PostgreSQL's server is a daemon, not our child)."""
        return [os.getpid(), self.postgres.pid]

    def side_pids(self) -> list[int]:
        """PostgreSQL's processes and Redis's: the shared engines' CPU."""
        redis = self.redis.process
        return self.postgres.pids() + ([redis.pid] if redis is not None else [])

    def rss(self) -> dict[str, str]:
        """RSS in MB by process, a process that replaced a killed one marked so."""
        if not self._first_pids:
            self._first_pids = set(self.web_pids() + [p.pid for p in self.senders.procs]
                                   + [self.gunicorn.proc.pid])

        def mb(pid: int) -> str:
            return _mb(rss_mb(pid)) + ("" if pid in self._first_pids else " (restarted)")

        out = {"gunicorn master": mb(self.gunicorn.proc.pid)}
        out.update({f"gunicorn worker {i}": mb(pid) for i, pid in enumerate(self.web_pids(), 1)})
        out.update({f"rollcall worker {i}": mb(p.pid)
                    for i, p in enumerate(self.senders.procs, 1)})
        redis = self.redis.process
        out["redis-server"] = _mb(rss_mb(redis.pid) if redis is not None else None)
        out["PostgreSQL (all its processes, PSS)"] = _mb(
            sum(pss_mb(p) for p in self.postgres.pids()))
        return out

    def stop(self) -> None:
        while self._stops:
            part = self._stops.pop()
            try:
                part()
            except Exception as e:  # noqa: BLE001 - stop the rest whatever one did
                print(f"load test: stopping {part}: {e}", file=sys.stderr)


class Single:
    """bench/load_single.py: werkzeug's threaded server in one process, as `rollcall serve`."""

    def __init__(self, logs: Logs, sim: DemoSimulator, identity: dict[str, str]) -> None:
        self.sim, self.logs = sim, logs
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = rollcall_env(common_settings(sim, identity, logs.folder / "instance-single"))
        self.proc = start(logs, "single", [sys.executable, "-m", "bench.load_single", "--port",
                                           str(port)], env)
        try:
            wait_healthy(self.url, proc=self.proc)
        except BaseException:
            self.stop()
            raise

    def web_pids(self) -> list[int]:
        return [self.proc.pid]

    def side_pids(self) -> list[int]:
        return []

    def roots(self) -> list[int]:
        return [os.getpid()]

    def notable(self) -> dict[str, int]:
        return self.logs.notable("single")

    def rss(self) -> dict[str, str]:
        return {"rollcall (one process)": _mb(rss_mb(self.proc.pid))}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def cpu(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_s(pid) for pid in pids}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes alive at both ends used in between."""
    return sum(after[p] - before[p] for p in before if p in after and after[p] >= before[p])


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
