"""The load test's processes, all on 127.0.0.1: PostgreSQL (scripts/test-postgres, a private
data folder), the SMTP simulator, gunicorn serving `rollcall.app:create_app()` and `rollcall
worker`s, with one folder for their logs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .load_procfs import children

REPO = Path(__file__).resolve().parent.parent
KEEP_ALIVE_S = 75  # longer than a proxy's idle timeout (nginx's upstream default is 60 s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rollcall_env(settings: dict[str, str]) -> dict[str, str]:
    """This environment without the developer's ROLLCALL_* settings, plus `settings`
    (names without ROLLCALL_, lower case)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    env.update({f"ROLLCALL_{k.upper()}": v for k, v in settings.items()})
    return env


def wait_healthy(url: str, timeout_s: float = 60, proc: subprocess.Popen[bytes] | None = None
                 ) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url}/healthz did not answer 200 within {timeout_s:g} s")


class Logs:
    """One folder for the run: every process's output, kept for a look after a failure."""

    # What Rollcall logs when it gives something up under load or a fault, counted per run.
    NOTABLE = {"send window not read in time": "send window not read within the deadline",
               "Redis not answering": "is not answering", "Redis back": "answers again",
               "tracebacks": "Traceback", "worker timeouts": "WORKER TIMEOUT"}

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="rollcall-load-"))
        self._read: dict[str, int] = {}

    def open(self, name: str) -> int:
        return os.open(self.folder / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def notable(self, name: str) -> dict[str, int]:
        """NOTABLE lines `name`'s log gained since the last call."""
        path = self.folder / f"{name}.log"
        with path.open("rb") as f:
            f.seek(self._read.get(name, 0))
            text = f.read().decode("utf-8", "replace")
            self._read[name] = f.tell()
        found = {k: text.count(v) for k, v in self.NOTABLE.items()}
        return {k: n for k, n in found.items() if n}


class Postgres:
    """scripts/test-postgres with a data folder of its own (never a developer's server)."""

    def __init__(self) -> None:
        # Not in the logs' folder: run as root, the server runs as `postgres`, which must be
        # able to reach its data folder.
        state = Path(tempfile.gettempdir()) / f"rollcall-load-postgres-{os.getpid()}"
        self.env = {**os.environ, "ROLLCALL_PG_STATE": str(state)}
        started = subprocess.run([str(REPO / "scripts/test-postgres"), "start"], env=self.env,
                                 capture_output=True, text=True)
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(f"scripts/test-postgres start: {started.stderr.strip()}")
        self.url = started.stdout.strip()
        self.pid = int((state / "data/postmaster.pid").read_text().split()[0])

    def pids(self) -> list[int]:
        return [self.pid, *children(self.pid)]

    def stop(self) -> None:
        subprocess.run([str(REPO / "scripts/test-postgres"), "stop"], env=self.env, check=False,
                       capture_output=True)


def start(logs: Logs, name: str, argv: list[str], env: dict[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    fd = logs.open(name)
    try:
        return subprocess.Popen(argv, env=env, cwd=REPO, stdout=fd, stderr=fd,
                                stdin=subprocess.DEVNULL)
    finally:
        os.close(fd)


def relay(logs: Logs, slow_ms: float) -> tuple[subprocess.Popen[bytes], str, Path]:
    """The SMTP simulator answering each reply after `slow_ms`, spooling what it accepts."""
    port, spool = free_port(), logs.folder / "relay-spool"
    proc = start(logs, "relay", [sys.executable, "-m", "smtp_simulator", "--port", str(port),
                                 "--spool", str(spool), "--slow-ms", f"{slow_ms:g}"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"smtp://127.0.0.1:{port}", spool
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the SMTP simulator did not start")


class Gunicorn:
    """gunicorn's master and `workers` gthread workers serving create_app() over plain HTTP."""

    def __init__(self, logs: Logs, env: dict[str, str], workers: int, threads: int) -> None:
        self.port, self.workers = free_port(), workers
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = start(logs, "gunicorn", [
            sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
            str(threads), "--bind", f"127.0.0.1:{self.port}", "--no-control-socket",
            # Idle keep-alive connections are the client's to close, as behind a proxy: with
            # gunicorn's 2 s default, a request sent on a connection just as gunicorn drops it
            # fails (the paced routes' connections sit idle about that long).
            "--keep-alive", str(KEEP_ALIVE_S), "rollcall.app:create_app()"], env)
        try:
            self.wait_workers()
            wait_healthy(self.url, proc=self.proc)
        except BaseException:
            self.stop()
            raise

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid)

    def wait_workers(self, timeout_s: float = 60, gone: int | None = None) -> float:
        """Seconds until the master has all its workers again (and `gone` is not one)."""
        started = time.monotonic()
        while len(pids := self.worker_pids()) < self.workers or gone in pids:
            if time.monotonic() - started > timeout_s or self.proc.poll() is not None:
                raise RuntimeError("gunicorn did not bring up its workers")
            time.sleep(0.05)
        return time.monotonic() - started

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class SendWorkers:
    """`rollcall worker` processes on the shared database; one can be killed and restarted."""

    def __init__(self, logs: Logs, env: dict[str, str], n: int) -> None:
        self.logs, self.env = logs, env
        self.procs = [self._start(i) for i in range(n)]

    def _start(self, i: int) -> subprocess.Popen[bytes]:
        return start(self.logs, f"send-worker-{i}",
                     [sys.executable, "-m", "rollcall.cli", "worker"], self.env)

    def kill(self, i: int) -> int:
        """SIGKILL worker `i`; its pid."""
        pid = self.procs[i].pid
        self.procs[i].kill()
        self.procs[i].wait()
        return pid

    def restart(self, i: int) -> None:
        self.procs[i] = self._start(i)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
