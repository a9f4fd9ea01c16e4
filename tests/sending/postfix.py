"""A private Postfix for tests: its own configuration, queue and log in a scratch folder,
listening on 127.0.0.1 at a free high port and relaying everything to a next hop on loopback.

It never changes /etc/postfix, the system queue (/var/spool/postfix) or the system instance,
and never starts the system service: every `postfix` command is given `-c CONFIG_DIR`, and that
main.cf names its own queue_directory, data_directory and maillog_file. Postfix still reads its
installation (/usr/lib/postfix/sbin; /etc/postfix/postfix-files and post-install, which lay out
the private queue) and uses the `postfix` user and `postdrop` group the Debian package creates.
Starting a master process needs root; its daemons then run as `postfix`, so the instance's
folder must be reachable by that user (the system temporary folder is; pytest's is not).

Where Postfix is missing or cannot start, `unavailable()` says why and `skip_or_fail()` skips,
except under CI=true, where the tests must run: there it fails instead.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

POSTFIX = Path("/usr/sbin/postfix")
POSTCONF = Path("/usr/sbin/postconf")
# A delivery attempt in the log: "ID: to=<a@b>, relay=HOST[IP]:PORT, …, status=sent (TEXT)".
STATUS = re.compile(r"postfix/\S+: (?P<queue_id>[0-9A-Za-z]+): to=<(?P<to>[^>]*)>,"
                    r"(?: orig_to=<[^>]*>,)? relay=(?P<relay>[^,]*),.*? "
                    r"status=(?P<status>\w+) \((?P<text>.*)\)$")

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{listen}  inet  n       -       n       -       -       smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixUnavailable(RuntimeError):
    """Postfix is not installed here, or this process cannot run a private instance."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable() -> str | None:
    """Why a private Postfix cannot run here, or None when it can (it may still fail to start)."""
    if not POSTFIX.exists() or not POSTCONF.exists():
        return f"Postfix is not installed ({POSTFIX} not found): apt-get install postfix"
    if os.geteuid() != 0:
        return "a private Postfix needs root to start its master process"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError as e:
        return f"Postfix's account is missing ({e.args[0]}): reinstall the postfix package"
    version = mail_version()
    if tuple(int(n) for n in re.findall(r"\d+", version)[:2]) < (3, 4):
        return f"Postfix {version or '(unknown version)'} is older than 3.4 (no maillog_file)"
    return None


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with `reason`; under CI=true fail instead, as CI must run the Postfix tests."""
    if in_ci():
        if not POSTFIX.exists():
            pytest.fail(f"install postfix: CI must run the real-MTA tests ({reason})",
                        pytrace=False)
        pytest.fail(f"CI must run the real-MTA tests, but {reason}", pytrace=False)
    pytest.skip(reason)


def mail_version() -> str:
    """The installed Postfix's version, e.g. 3.7.11 (Debian 12)."""
    return _run([str(POSTCONF), "-h", "mail_version"]).stdout.strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"})


class PostfixRelay:
    """One private Postfix instance under `home` (config/, queue/, data/, maillog)."""

    def __init__(self, home: Path, next_hop_port: int,
                 transports: Mapping[str, int] | None = None) -> None:
        self.home = home
        self.config_dir = home / "config"
        self.queue_dir = home / "queue"
        self.data_dir = home / "data"
        self.log_path = home / "maillog"
        self.next_hop_port = next_hop_port
        self.transports = dict(transports or {})
        self.port = 0
        self.running = False

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    # Configuration

    def main_cf(self) -> str:
        routes = ", ".join(f"{domain}=smtp:[127.0.0.1]:{port}"
                           for domain, port in self.transports.items())
        settings = {
            "compatibility_level": "3.6",
            "myhostname": "relay.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "relay_domains": "",
            "local_recipient_maps": "",
            "local_transport": "error:5.1.1 local delivery is disabled",
            "alias_maps": "",
            "alias_database": "",
            "relayhost": f"[127.0.0.1]:{self.next_hop_port}",
            "transport_maps": f"inline:{{{routes}}}" if routes else "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "disable_dns_lookups": "yes",
            "smtp_host_lookup": "native",
            # Deferred mail comes back within seconds, not the default 5 to 67 minutes.
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "in_flow_delay": "0",  # never slow Rollcall down while the queue drains
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.home),  # the default allows /var only
            "biff": "no",
        }
        return "".join(f"{k} = {v}\n" for k, v in settings.items())

    def master_cf(self) -> str:
        return MASTER_CF.format(listen=f"127.0.0.1:{self.port}")

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "main.cf").write_text(self.main_cf())
        (self.config_dir / "master.cf").write_text(self.master_cf())

    # Running

    def postfix(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """`postfix -c CONFIG_DIR COMMAND…`: never the system instance."""
        return _run([str(POSTFIX), "-c", str(self.config_dir), *command], timeout=timeout)

    def start(self, attempts: int = 3) -> PostfixRelay:
        """Configure, check and start the instance on a free port; raise PostfixUnavailable
        (with Postfix's own words and log) when it does not come up."""
        self.queue_dir.mkdir(parents=True, exist_ok=True)  # post-install fills it in
        os.chmod(self.queue_dir, 0o755)
        problem = ""
        for _ in range(attempts):  # a port taken between free_port() and Postfix: try again
            self.port = free_port()
            self.write_config()
            check = self.postfix("check")
            if check.returncode != 0:
                raise PostfixUnavailable(f"`postfix check` failed: {_said(check)}")
            started = self.postfix("start")
            if started.returncode == 0 and self._listening(timeout=10):
                self.running = True
                return self
            problem = f"`postfix start` failed: {_said(started)}"
            self.stop()
            if "Address already in use" not in self.log() + problem:
                break
        raise PostfixUnavailable(f"{problem}\n--- {self.log_path} ---\n{self.log()[-3000:]}")

    def _listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    banner = s.recv(512)
                    s.sendall(b"QUIT\r\n")
                    return banner.startswith(b"220 relay.test ")  # our smtpd, not another
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop the master and its processes (`stop`, then `abort` if it lingers)."""
        if not (self.queue_dir / "pid" / "master.pid").exists():
            self.running = False
            return
        if self.postfix("status").returncode == 0:
            if self.postfix("stop", timeout=20).returncode != 0:
                self.postfix("abort")
        self.running = False

    # The log

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def deliveries(self, since: int = 0) -> list[dict[str, str]]:
        """Each delivery attempt logged since byte `since`: queue_id, to, relay, status, text."""
        with open(self.log_path, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        return [m.groupdict() for line in text.splitlines() if (m := STATUS.search(line))]


def _said(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr + result.stdout).strip() or f"exit status {result.returncode}"


@contextmanager
def postfix_relay(tmp_dir: Path | None, next_hop_port: int,
                  transports: Mapping[str, int] | None = None,
                  keep_log: Path | None = None) -> Iterator[PostfixRelay]:
    """A running private Postfix relaying to 127.0.0.1:`next_hop_port`, stopped afterwards.

    `transports` routes whole domains elsewhere on loopback (domain -> port), e.g. the bounce
    domain to a simulator catching DSNs. The instance lives in a fresh folder under `tmp_dir`
    (or the system's temporary folder), whose every parent Postfix's unprivileged daemons can
    traverse; it is removed afterwards, its log first copied to `keep_log` when given.
    Raises PostfixUnavailable when Postfix cannot run here or does not start.
    """
    reason = unavailable()
    if reason is not None:
        raise PostfixUnavailable(reason)
    home = Path(tempfile.mkdtemp(prefix="rollcall-postfix-", dir=tmp_dir))
    os.chmod(home, 0o755)
    closed = [p for p in home.parents if not os.stat(p).st_mode & 0o001]
    if closed:  # e.g. pytest's own tmp_path, under a 0700 /tmp/pytest-of-root
        shutil.rmtree(home, ignore_errors=True)
        raise PostfixUnavailable(
            f"Postfix's daemons (user postfix) cannot traverse {closed[0]}: give a folder "
            "whose every parent is searchable by others (the system temporary folder is)")
    relay = PostfixRelay(home, next_hop_port, transports)
    try:
        yield relay.start()
    finally:
        relay.stop()
        if keep_log is not None and relay.log_path.exists():
            shutil.copyfile(relay.log_path, keep_log)
        shutil.rmtree(home, ignore_errors=True)
