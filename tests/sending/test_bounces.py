"""Bounce-backs over real SMTP: the SMTP simulator (the relay) accepts, then returns DSNs for
chosen addresses to the envelope sender through Rollcall's listener; each is matched to its
recipient, acted on, and counted in the send's bounce rate, which pauses a send past its stop
figure. The listener takes mail only for Rollcall's bounce addresses."""

from __future__ import annotations

import re
import smtplib
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from send_support import FAST, create, drain, records, run_for, show

from smtp_simulator import SmtpSimulator
from support import demo_config

PARTNERS = "partners@contoso.com"
GONE = "kim.abercrombie@fabrikam.com"
SPAM = "jon.morris@fabrikam.com"
DATA = Path(__file__).parent / "data" / "bounces"
TEMPLATE = "bounces+{token}@rollcall.contoso.com"


@pytest.fixture
def bouncing(demo_simulator: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """bouncing(rules, **settings) -> (services, relay, listener): Rollcall's services with a
    bounce listener, and a relay that sends its DSNs there."""
    from rollcall.bootstrap import bootstrap
    from rollcall.sending.bounce_listener import BounceListener

    started: list[Any] = []

    def make(rules: str, **settings: Any) -> Any:
        values = {"instance_path": str(tmp_path / "instance"), "bounce_address": TEMPLATE,
                  **FAST, **settings}
        services = bootstrap(demo_config(demo_simulator[0], smtp_url="smtp://127.0.0.1:9",
                                         **values))
        listener = BounceListener(services.bounces, port=0).start()
        relay = SmtpSimulator(rules=rules, bounce_to=("127.0.0.1", listener.port)).start()
        started.extend([listener, relay])
        services = bootstrap(demo_config(demo_simulator[0], smtp_url=relay.url, **values))
        listener.intake = services.bounces
        return services, relay, listener

    yield make
    for thing in started:
        thing.stop()


def bounce_reports(services: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    from rollcall.lists import operator

    found: list[dict[str, Any]] = services.bounces.reports(operator(), *args, **kwargs)
    return found


def wait_for(check: Callable[[], Any], timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail("timed out waiting")


def test_a_bounce_comes_back_matched_and_the_address_is_suppressed(bouncing):
    services, relay, _ = bouncing(f"bounce:{GONE},bounce_policy:{SPAM}")
    send = create(services, PARTNERS)
    drain(services)
    wait_for(lambda: len(bounce_reports(services, send.id)) == 2)
    mine = records(services, send.id)
    assert mine[GONE].state.value == "bounced" and mine[GONE].enhanced == "5.1.1"
    assert "does not exist" in (mine[GONE].meaning or "") or mine[GONE].meaning
    assert mine[SPAM].state.value == "bounced" and mine[SPAM].enhanced == "5.7.1"
    reports = {r["address"]: r for r in bounce_reports(services, send.id)}
    assert reports[GONE]["kind"] == "hard" and reports[GONE]["matched_by"] == "verp"
    assert reports[GONE]["remote_mta"] == "mx.fabrikam.com"
    assert reports[SPAM]["kind"] == "policy"
    summary = show(services, send.id)
    assert summary.counts["bounced"] == 2 and summary.counts["sent"] == 12
    # The next send does not try the address that does not exist; the policy one it does.
    later = create(services, PARTNERS)
    assert later.suppressed == {"hard_bounce": 1}
    assert records(services, later.id)[GONE].state.value == "suppressed"
    assert records(services, later.id)[SPAM].state.value == "queued"
    # ...and the next count says so, in the sender's words.
    from rollcall.core.recipients import parse_recipient

    report = services.counts.count([parse_recipient(PARTNERS)], mailbox="megan@contoso.com")
    (found,) = [f for f in report.findings if f.code.value == "bounced"]
    assert found.addresses == (GONE,) and found.severity.value == "warning"
    assert found.message == (f"1 recipient bounced last time ({GONE}): the address does not "
                             "exist, so a tracked send leaves it out. Correct or remove it where "
                             "the list is kept.")
    assert report.total == 14  # still counted: Outlook would still send to them
    # A trace tells the copy's story to the end: accepted, then the report that came back.
    from rollcall.lists import operator

    (trace,) = services.diagnostics.trace(operator(), GONE, send.id)["traces"]
    kinds = [e["kind"] for e in trace["events"]]
    assert kinds[:3] == ["queued", "attempt", "sent"] and "bounced" in kinds
    bounced = next(e for e in trace["events"] if e["kind"] == "bounced")
    assert bounced["enhanced"] == "5.1.1" and "mx.fabrikam.com" in bounced["meaning"]


def test_the_listener_takes_only_rollcalls_bounce_addresses(bouncing):
    _, _, listener = bouncing("")
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.mail("spammer@example.net")[0] == 250
        code, said = smtp.rcpt("someone@example.org")  # relaying: never
        assert code == 550 and b"relays nothing" in said
        code, _ = smtp.rcpt("megan@contoso.com")
        assert code == 550
        code, _ = smtp.rcpt("bounces+0123456789abcdef01234567@rollcall.contoso.com")
        assert code == 250


def _deliver(listener: Any, raw: bytes, rcpt: str) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as smtp:
        smtp.sendmail("", [rcpt], raw)


def test_an_out_of_office_and_a_delay_notice_change_nothing(bouncing):
    services, _, listener = bouncing("")
    send = create(services, "alex@contoso.com")
    drain(services)
    (record,) = records(services, send.id).values()
    token = record.message_id[1:25]
    rcpt = TEMPLATE.replace("{token}", token)
    for name in ("out_of_office.eml", "delayed_4.4.7.eml"):
        _deliver(listener, (DATA / name).read_bytes(), rcpt)
    found = wait_for(lambda: len(bounce_reports(services, send.id)) == 2 and
                     bounce_reports(services, send.id))
    assert sorted(r["kind"] for r in found) == ["autoreply", "delayed"]
    assert records(services, send.id)["alex@contoso.com"].state.value == "sent"
    assert show(services, send.id).counts.get("bounced", 0) == 0


def test_a_report_matching_nobody_is_kept_and_shown(bouncing):
    services, _, listener = bouncing("")
    raw = (DATA / "exchange_online_5.1.10.eml").read_bytes()
    _deliver(listener, raw, TEMPLATE.replace("{token}", "ffffffffffffffffffffffff"))
    (kept,) = wait_for(lambda: bounce_reports(services, unmatched=True))
    assert kept["send_id"] is None and kept["kind"] == "hard"
    assert kept["status"] == "5.1.10"


def test_failures_at_the_relay_past_the_stop_figure_pause_the_send(bouncing):
    # Three of the partners refused for good at the relay, three greylisted (so the send is
    # still going when the rate is judged): 3 of 11 tried is 27%, over 20% of at least 10.
    rules = ("reject:nancy.davolio@northwind.example,reject:andrew.fuller@northwind.example,"
             "reject:janet.leverling@northwind.example,greylist:*@fabrikam.com=100")
    services, relay, _ = bouncing(rules, bounce_min_sample=10, send_retry_s=(3600,))
    send = create(services, PARTNERS)
    run_for(services, 2)
    paused = show(services, send.id)
    assert paused.status.value == "paused"
    assert paused.paused["by"] == "rollcall"
    assert paused.paused["reason"] == ("bounce rate 27% is over 20%: check the relay's "
                                       "reputation (blacklists) and the list")
    assert paused.bounce_warning == paused.paused["reason"]
    # Its sender resumes it: it is not paused for bounces again.
    from rollcall.store.access import Principal

    megan = Principal.person("megan@contoso.com")
    services.controls.resume(send.id, megan, "the list is old, go on")
    assert services.bounces.guard.check(send.id).level == "stop"  # still over...
    assert show(services, send.id).status.value == "sending"  # ...but not paused again


def test_bounces_arriving_later_pause_a_send_still_going(bouncing):
    rules = (f"bounce:{GONE},bounce:nancy.davolio@northwind.example,"
             "bounce:andrew.fuller@northwind.example,greylist:jon.morris@fabrikam.com=100")
    services, relay, _ = bouncing(rules, bounce_min_sample=10, send_retry_s=(3600,))
    send = create(services, PARTNERS)
    run_for(services, 1.5)
    wait_for(lambda: show(services, send.id).status.value == "paused")
    summary = show(services, send.id)
    assert summary.counts["bounced"] == 3 and summary.counts["deferred"] == 1
    # Judged as each bounce arrives: at the third, 3 of however many copies were tried by then,
    # which depends on when the bounce-backs come in: at least the 10 of the minimum sample
    # (30%), at most all 14 that can be tried (21%).
    judged = re.fullmatch(r"bounce rate (\d+)% is over 20%: check the relay's reputation "
                          r"\(blacklists\) and the list", summary.paused["reason"])
    assert judged, summary.paused["reason"]
    assert int(judged[1]) in {round(100 * 3 / tried) for tried in range(10, 15)}


def test_a_warning_below_the_stop_figure(bouncing):
    services, _, _ = bouncing(f"reject:{GONE},reject:{SPAM}")
    send = create(services, PARTNERS)
    drain(services)
    summary = show(services, send.id)
    assert summary.status.value == "done"
    assert summary.bounce_warning.startswith("bounce rate 14% is at or over 10% (of the first "
                                             "14 tried")


def test_a_message_to_the_listener_while_the_database_is_down_is_refused_for_later(
        bouncing, tmp_path):
    services, _, listener = bouncing("")
    services.bounces._engine = lambda: (_ for _ in ()).throw(RuntimeError("database down"))
    message = EmailMessage()
    message["From"] = "MAILER-DAEMON@example.net"
    message["Subject"] = "Undelivered Mail"
    message.set_content("gone")
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail("", [TEMPLATE.replace("{token}", "0" * 24)], message.as_bytes())
    assert refused.value.smtp_code == 451
