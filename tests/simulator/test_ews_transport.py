"""Authentication, version probing, injected faults, counters and the command line."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from exchangelib import Build, Version
from exchangelib.errors import (
    ErrorInvalidOperation,
    ErrorServerBusy,
    TransportError,
    UnauthorizedError,
)
from exchangelib.properties import DLMailbox
from exchangelib.protocol import FaultTolerance

from ews_simulator import load
from ews_simulator.server import COUNTERS_PATH
from ews_simulator.soap import SOAP_NS

ORG = Path(__file__).with_name("org.yaml")
SALES = DLMailbox(email_address="sales@contoso.com", mailbox_type="PublicDL")


def expand_sales(acc):
    return [m.email_address for m in acc.protocol.expand_dl(SALES)]


def test_requests_without_credentials_get_401_with_a_challenge_on_a_kept_connection(sim):
    server, _ = sim
    answer = requests.post(server.url, data=b"<x/>", headers={"Content-Type": "text/xml"})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert answer.headers.get("Connection", "").lower() != "close"


def test_a_wrong_password_is_unauthorized_not_server_busy(sim, account):
    server, _ = sim
    with pytest.raises(UnauthorizedError):
        account(server, "megan@contoso.com", "not-the-password")


@pytest.mark.parametrize(
    ("build", "version_name", "api"),
    [
        ((15, 1, 2507, 6), "V2017_07_11", "Exchange2016"),  # as Exchange 2016 answers
        ((15, 2, 1118, 7), None, "Exchange2016"),  # no Version: from the build (2019 speaks 2016)
    ],
)
def test_the_version_probe_reads_the_server_version_header(
    start_simulator, account, build, version_name, api
):
    org = load(ORG)
    org.build, org.version_name = build, version_name
    server, wire = start_simulator(org)
    acc = account(server)
    assert acc.version.build == Build(*build)
    assert acc.version.api_version == api
    assert b"ConvertId" in wire.exchanges[0][0]


def test_a_configured_version_skips_the_probe(sim, account):
    server, _ = sim
    server.reset_counters()
    acc = account(server, version=Version(build=Build(15, 1, 2507, 6)))
    assert expand_sales(acc) == ["alex@contoso.com", "adele@contoso.com"]
    assert "ConvertId" not in server.snapshot()


def test_an_unknown_operation_is_a_soap_fault_not_a_crash(sim, account):
    server, _ = sim
    acc = account(server)
    with pytest.raises(ErrorInvalidOperation, match="does not implement"):
        list(acc.protocol.get_roomlists())
    assert server.snapshot().get("_internal_error") is None


def test_malformed_xml_is_a_fault(sim):
    server, _ = sim
    answer = requests.post(server.url, data=b"<s:Envelope", auth=("megan@contoso.com", "megan-pw"))
    assert answer.status_code == 500
    assert SOAP_NS.encode() in answer.content and b"ErrorSchemaValidation" in answer.content


def test_server_busy_carries_the_back_off_to_a_fail_fast_client(sim, account):
    server, _ = sim
    acc = account(server)
    server.set_faults(busy_every=1, back_off_ms=2500)
    with pytest.raises(ErrorServerBusy) as caught:
        expand_sales(acc)
    assert caught.value.back_off == 2.5


def test_a_fault_tolerant_client_waits_out_a_short_back_off(sim, account):
    server, _ = sim
    acc = account(server, retry_policy=FaultTolerance(max_wait=5))
    server.set_faults(busy_every=2, back_off_ms=200)
    server.reset_counters()
    results = [expand_sales(acc) for _ in range(3)]
    assert results == [["alex@contoso.com", "adele@contoso.com"]] * 3
    assert server.snapshot()["_busy"] >= 1


def test_http_503_honours_retry_after(sim, account):
    server, _ = sim
    acc = account(server, retry_policy=FaultTolerance(max_wait=5))
    server.set_faults(http503_every=2, retry_after_s=1)
    server.reset_counters()
    started = time.monotonic()
    assert [expand_sales(acc) for _ in range(2)][1] == ["alex@contoso.com", "adele@contoso.com"]
    assert server.snapshot()["_http503"] >= 1
    assert time.monotonic() - started >= 1.0  # the client waited as Retry-After asked


def test_a_dropped_connection_is_a_transport_error_for_fail_fast(sim, account):
    server, _ = sim
    acc = account(server)
    server.set_faults(drop_every=1)
    with pytest.raises(TransportError):  # exchangelib's ErrorTimeoutExpired, not throttling
        expand_sales(acc)
    server.set_faults(drop_every=None)
    assert expand_sales(acc) == ["alex@contoso.com", "adele@contoso.com"]


def test_too_many_concurrent_requests_are_throttled_per_account(sim, account):
    server, _ = sim
    server.set_faults(max_concurrent=1, latency_ms=300)
    outcomes: list[object] = []

    def one() -> None:
        try:
            acc = account(server, version=Version(Build(15, 1, 2507, 6)), max_connections=3)
            outcomes.append(expand_sales(acc))
        except ErrorServerBusy as e:
            outcomes.append(e)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(o, ErrorServerBusy) for o in outcomes) >= 1
    assert sum(isinstance(o, list) for o in outcomes) >= 1


def test_injected_latency_delays_every_answer(sim, account):
    server, _ = sim
    acc = account(server)
    server.set_faults(latency_ms=150)
    started = time.monotonic()
    expand_sales(acc)
    assert time.monotonic() - started >= 0.15


def test_counters_are_readable_from_python_and_over_http(sim, account):
    server, _ = sim
    acc = account(server)
    server.reset_counters()
    expand_sales(acc)
    expand_sales(acc)
    base = server.url.split("/EWS/")[0]
    assert server.snapshot() == {"ExpandDL": 2}
    assert requests.get(base + COUNTERS_PATH).json() == {"ExpandDL": 2}
    assert requests.delete(base + COUNTERS_PATH).status_code == 204
    assert server.snapshot() == {}


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ews_simulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    while line.startswith("certificate:"):
        line = proc.stdout.readline()
    return proc, line.strip()


def test_the_command_line_serves_the_demo_organisation(tmp_path):
    proc, line = _start_cli()
    try:
        assert line.startswith("listening on http://127.0.0.1:")
        assert line.endswith("/EWS/Exchange.asmx")
        url = line.removeprefix("listening on ")
        assert requests.post(url, data=b"").status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_command_line_serves_https_with_a_self_signed_certificate(tmp_path):
    proc, line = _start_cli("--org", str(ORG), "--tls", "--cert-dir", str(tmp_path))
    try:
        url = line.removeprefix("listening on ")
        assert url.startswith("https://")
        answer = requests.post(url, data=b"", verify=str(tmp_path / "cert.pem"))
        assert answer.status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_bad_org_file_is_named_in_the_error(tmp_path):
    bad = tmp_path / "org.yaml"
    bad.write_text("lists:\n  - {address: a@contoso.com, members: [nobody@contoso.com]}\n")
    result = subprocess.run(
        [sys.executable, "-m", "ews_simulator", "--org", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "nobody@contoso.com is not in the organisation" in result.stderr
