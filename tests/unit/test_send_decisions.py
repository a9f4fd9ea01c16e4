"""What one SMTP reply does to its recipient (sending/worker.decide), and each copy's message:
the per-send template gives the same bytes the email package would build for that copy."""

from __future__ import annotations

import email
import email.policy
import email.utils
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollcall.sending import message
from rollcall.sending.model import Claimed, SendContent, State
from rollcall.sending.replies import Reply, Stage
from rollcall.sending.retry import RetryPolicy
from rollcall.sending.worker import decide

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
RETRY = RetryPolicy(schedule_s=(60, 300), then_every_s=3600, expire_s=86400, jitter=0)


def claimed(attempts: int = 0, queued: datetime = NOW, address: str = "ana@fabrikam.com",
            token: str = "a" * 24) -> Claimed:
    return Claimed(1, 7, address, token, f"<{token}.7@contoso.com>", 11, attempts, queued)


def test_a_250_is_sent_with_the_relays_queue_id():
    out = decide(Reply(250, "2.0.0 Ok: queued as 4F2A1C0B7", Stage.DATA), claimed(), RETRY)
    assert out is not None and out.state is State.SENT and out.remote_id == "4F2A1C0B7"


def test_unknown_user_fails_at_once_with_the_meaning():
    out = decide(Reply(550, "5.1.1 <ana@fabrikam.com>: User unknown", Stage.RCPT), claimed(),
                 RETRY)
    assert out is not None and out.state is State.FAILED and out.charge
    assert "does not exist" in (out.meaning or "")


def test_greylisting_defers_by_the_schedule():
    out = decide(Reply(451, "4.7.1 Greylisted", Stage.RCPT), claimed(attempts=1), RETRY,
                 now=NOW.timestamp())
    assert out is not None and out.state is State.DEFERRED
    assert out.next_attempt_at == NOW + timedelta(seconds=300)


def test_the_last_try_is_at_the_expiry_then_it_fails():
    queued = NOW - timedelta(seconds=86400 - 30)
    late = decide(Reply(452, "4.2.2 Mailbox full", Stage.RCPT), claimed(5, queued), RETRY,
                  now=NOW.timestamp())
    assert late is not None and late.next_attempt_at == queued + timedelta(seconds=86400)
    gone = decide(Reply(452, "4.2.2 Mailbox full", Stage.RCPT), claimed(6, queued), RETRY,
                  now=NOW.timestamp() + 31)
    assert gone is not None and gone.state is State.FAILED and "Gave up" in (gone.meaning or "")


@pytest.mark.parametrize("reply", [
    Reply(None, "connection refused", Stage.CONNECT),
    Reply(421, "4.4.2 Message submission rate exceeded", Stage.MAIL),
    Reply(535, "5.7.3 Authentication unsuccessful", Stage.AUTH),
    Reply(554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
          Stage.DATA),
])
def test_the_relays_trouble_is_nobodys_fault(reply):
    assert decide(reply, claimed(), RETRY) is None


def test_a_connection_dropped_mid_message_charges_the_recipient_so_it_cannot_loop():
    out = decide(Reply(None, "the relay closed the connection", Stage.RCPT), claimed(), RETRY,
                 now=NOW.timestamp())
    assert out is not None and out.state is State.DEFERRED and out.charge


CONTENT = SendContent(7, "Megan Bowen <megan@contoso.com>", "Q3: résumé of the year",
                      '<p>Hello <a href="https://intranet.contoso.com/q3">report</a></p>',
                      "Hello", "anonymous", "https://rollcall.contoso.com")


@settings(deadline=None)  # the first copy builds the send's template (lxml, the email package)
@given(st.from_regex(r"[a-z][a-z0-9.]{0,20}@[a-z]{1,12}\.(com|example)", fullmatch=True),
       st.from_regex(r"[0-9a-f]{24}", fullmatch=True))
def test_the_template_gives_the_bytes_the_email_package_builds(address, token):
    copy = claimed(address=address, token=token)
    fast = message.render(CONTENT, copy, bounce_template=None, tracking_key=b"k" * 32)
    slow, links = message._build(CONTENT, address, copy.message_id, token,
                                 _date_of(fast.data), b"k" * 32)
    assert _unbound(fast.data) == _unbound(slow) and fast.links == links
    sent = email.utils.parsedate_to_datetime(_date_of(fast.data))
    assert abs((sent - datetime.now(UTC)).total_seconds()) < 60  # now, not the stand-in's


def test_each_copy_names_its_own_recipient_and_unsubscribe_link():
    one = message.render(CONTENT, claimed(token="1" * 24), bounce_template="b+{token}@c.com",
                         tracking_key=b"k" * 32)
    parsed = email.message_from_bytes(one.data, policy=email.policy.SMTP)
    assert one.mail_from == f"b+{'1' * 24}@c.com" and one.rcpt == "ana@fabrikam.com"
    assert parsed["To"] == "ana@fabrikam.com" and parsed["Subject"] == CONTENT.subject
    assert parsed["List-Unsubscribe"] == f"<https://rollcall.contoso.com/u/{'1' * 24}>"
    assert parsed["X-Rollcall-R"] == "1" * 24
    assert "/t/c/" in parsed.get_body(("html",)).get_content()


def _date_of(data: bytes) -> str:
    parsed = email.message_from_bytes(data, policy=email.policy.SMTP)
    return str(parsed["Date"])


def _unbound(data: bytes) -> bytes:
    """The message with its random MIME boundary named alike."""
    parsed = email.message_from_bytes(data, policy=email.policy.SMTP)
    boundary = parsed.get_boundary()
    assert boundary
    return data.replace(boundary.encode(), b"BOUNDARY")


@pytest.mark.parametrize(("messages", "per_minute", "per_hour", "seconds"), [
    (0, 30, 416, 0), (14, 30, 416, 0), (30, 30, 416, 0), (31, 30, 416, 60),
    (416, 30, 416, 13 * 60), (417, 30, 416, 3600), (10_000, 30, 416, 24 * 3600),
])
def test_the_estimate_lets_each_window_go_at_once_then_waits(messages, per_minute, per_hour,
                                                            seconds):
    from rollcall.sending.service import Plan

    plan = Plan(messages, {}, "relay:25", None, per_minute, per_hour, {}, {})
    assert plan.estimated_s == seconds
