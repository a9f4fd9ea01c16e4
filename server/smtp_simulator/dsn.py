"""Delivery status notifications (RFC 3464): made for the recipients a bounce rule names, and
sent back to the accepted message's envelope sender, as a relay does when the next hop refuses
a message it has already queued.

One DSN per accepted message and Action: its bounces (Action failed) together, its delay
notices (Action delayed) in another, as Postfix does. Each is a multipart/report with a
human-readable text/plain part, the message/delivery-status part and a text/rfc822-headers part
holding the original's headers as received. It goes out from the empty envelope sender
(MAIL FROM:<>, RFC 5321 section 4.5.5), so a DSN that bounces makes no other: a message whose
envelope sender is empty never gets one.
"""

from __future__ import annotations

import logging
import smtplib
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage, Message
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from .ledger import Accepted, Bounce, Ledger
from .rules import Notice

log = logging.getLogger("smtp_simulator")

NULL_SENDERS = ("", "<>")  # how an empty MAIL FROM reaches the handler ("<>" from aiosmtpd)
BACKOFF_S = (0.1, 0.3, 0.6)  # the pauses between tries: four tries in all, over about 1 s
SEND_TIMEOUT_S = 5.0
RETRY_FOR_S = 5 * 24 * 3600  # Postfix's maximal_queue_lifetime, quoted in delay notices
SUBJECTS = {"failed": "Undelivered Mail Returned to Sender",
            "delayed": "Delayed Mail (still being retried)"}

Sink = Callable[[str, bytes], None]


def build(message: Accepted, notices: Sequence[tuple[str, Notice]], *, hostname: str,
          now: float | None = None) -> tuple[str, bytes]:
    """The DSN telling `message`'s envelope sender about `notices` (recipient, what happened),
    all of one Action: its Message-ID and its bytes (CRLF line ends)."""
    now = time.time() if now is None else now
    [action] = {notice.action for _, notice in notices}
    report = EmailMessage(policy=SMTP)
    message_id = make_msgid(domain=hostname)
    report["From"] = f"Mail Delivery System <MAILER-DAEMON@{hostname}>"
    report["To"] = message.mail_from
    report["Subject"] = SUBJECTS[action]
    report["Date"] = formatdate(now, localtime=True)
    report["Message-ID"] = message_id
    report["Auto-Submitted"] = "auto-replied"  # RFC 3834: no vacation reply to this, please
    report["MIME-Version"] = "1.0"
    report["Content-Type"] = "multipart/report; report-type=delivery-status"  # boundary: later
    report.attach(_text("plain", _explanation(action, notices, hostname, message.at),
                        "Notification"))

    status = EmailMessage(policy=SMTP)
    status["Content-Description"] = "Delivery report"
    status["Content-Type"] = "message/delivery-status"
    per_message = EmailMessage(policy=SMTP)
    per_message["Reporting-MTA"] = f"dns; {hostname}"
    per_message["X-Simulator-Queue-ID"] = message.queue_id
    per_message["Arrival-Date"] = formatdate(message.at, localtime=True)
    # The generator writes each block's fields, blocks apart by one empty line (RFC 3464 2.1).
    blocks: list[Message | str] = [per_message]
    blocks += [_per_recipient(address, notice, now, message.at) for address, notice in notices]
    status.set_payload(blocks)
    report.attach(status)

    report.attach(_text("rfc822-headers", _header_section(message.data),
                        "Undelivered Message Headers"))
    return message_id, report.as_bytes(policy=SMTP)


def _text(subtype: str, text: str, description: str) -> EmailMessage:
    """A text/`subtype` part holding `text` unencoded, as MTAs send it, however long its
    lines."""
    part = EmailMessage(policy=SMTP)
    ascii = text.isascii()
    part.set_content(text, subtype=subtype, charset="us-ascii" if ascii else "utf-8",
                     cte="7bit" if ascii else "8bit")
    del part["MIME-Version"]  # set_content adds one; it belongs at the top only
    part["Content-Description"] = description
    return part


def _per_recipient(address: str, notice: Notice, now: float, arrived: float) -> EmailMessage:
    fields = EmailMessage(policy=SMTP)
    fields["Final-Recipient"] = f"rfc822; {address}"
    # Postfix writes it even without an ORCPT: the address as the sender gave it.
    fields["Original-Recipient"] = f"rfc822; {address}"
    fields["Action"] = notice.action
    fields["Status"] = notice.status
    fields["Remote-MTA"] = f"dns; mx.{address.rpartition('@')[2]}"
    fields["Diagnostic-Code"] = f"smtp; {notice.remote_reply.format(address=address)}"
    fields["Last-Attempt-Date"] = formatdate(now, localtime=True)
    if notice.action == "delayed":
        fields["Will-Retry-Until"] = formatdate(arrived + RETRY_FOR_S, localtime=True)
    return fields


def _explanation(action: str, notices: Sequence[tuple[str, Notice]], hostname: str,
                 arrived: float) -> str:
    if action == "delayed":
        lead = ("This is a warning only: you need not send your message again.\n\n"
                "Delivery to the recipients below has been delayed. The mail system keeps\n"
                f"trying until {formatdate(arrived + RETRY_FOR_S, localtime=True)}.")
    else:
        lead = ("Your message could not be delivered to the recipients below; the\n"
                "delivery report and your message's headers are attached.")
    lines = [textwrap.fill(
        f"<{address}>: host mx.{address.rpartition('@')[2]} said: "
        f"{notice.remote_reply.format(address=address)} (in reply to RCPT TO command)",
        width=76, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
        for address, notice in notices]
    return f"This is the mail system at host {hostname}.\n\n{lead}\n\n" + "\n".join(lines) + "\n"


def _header_section(data: bytes) -> str:
    """The message's header section as received, without the empty line that ends it."""
    end = len(data)
    for separator in (b"\r\n\r\n", b"\n\n"):
        found = data.find(separator)
        if found != -1:
            end = min(end, found + len(separator) // 2)
    # Headers are ASCII unless the client used SMTPUTF8; anything else is kept as best it can.
    return data[:end].decode("utf-8", "replace")


class Returner:
    """Makes the DSNs and sends each on its own thread after `delay_s`: over SMTP to `to`
    (host, port), or to `sink(recipient, data)`; with neither, they are only kept ("held").

    Every try and its outcome are kept in the ledger; nothing a receiver does reaches the SMTP
    sessions. `cancel()` (the simulator stopping) gives up on the DSNs not yet sent.
    """

    def __init__(self, ledger: Ledger, *, hostname: str, to: tuple[str, int] | None = None,
                 sink: Sink | None = None, delay_s: float = 0.0) -> None:
        self.ledger = ledger
        self.hostname = hostname
        self.to = to
        self.sink = sink
        self.delay_s = delay_s
        self._stopping = threading.Event()

    def cancel(self) -> None:
        """Give up on the DSNs still waiting; those made from now on go out again."""
        self._stopping.set()
        self._stopping = threading.Event()

    def report(self, message: Accepted, notices: Sequence[tuple[str, Notice]]) -> None:
        """Make and send the DSNs `notices` call for (none when the sender is empty)."""
        if message.mail_from in NULL_SENDERS or not notices:
            return
        for action in ("failed", "delayed"):
            about = [(a, n) for a, n in notices if n.action == action]
            if not about:
                continue
            message_id, data = build(message, about, hostname=self.hostname)
            sends = self.to is not None or self.sink is not None
            bounce = Bounce(message_id, message.queue_id, message.mail_from,
                            tuple(a for a, _ in about), action, data, time.time(),
                            state="pending" if sends else "held")
            self.ledger.bounced(bounce)
            if sends:
                threading.Thread(target=self._deliver, args=(bounce, self._stopping),
                                 name=f"dsn-{message.queue_id}", daemon=True).start()

    def _deliver(self, bounce: Bounce, stopping: threading.Event) -> None:
        if stopping.wait(self.delay_s):
            return self._give_up(bounce, "the simulator stopped before it was sent")
        for tried in range(len(BACKOFF_S) + 1):
            try:
                self._send(bounce)
            except Exception as e:  # whatever the receiver does is recorded, never raised
                error = f"{type(e).__name__}: {e}"
                last = tried == len(BACKOFF_S) or not worth_retrying(e)
                self.ledger.bounce_tried(bounce.message_id,
                                         "undelivered" if last else "pending", error)
                if last:
                    log.warning("DSN %s (queue id %s) to %s undelivered after %d tries: %s",
                                bounce.message_id, bounce.queue_id, bounce.to, tried + 1,
                                error)
                    return
                if stopping.wait(BACKOFF_S[tried]):
                    return self._give_up(bounce, f"the simulator stopped; last try: {error}")
            else:
                self.ledger.bounce_tried(bounce.message_id, "delivered", None)
                return

    def _give_up(self, bounce: Bounce, reason: str) -> None:
        """The simulator stopped: no more tries (none is counted for the stopping)."""
        self.ledger.bounce_tried(bounce.message_id, "undelivered", reason, tried=False)

    def _send(self, bounce: Bounce) -> None:
        if self.sink is not None:
            self.sink(bounce.to, bounce.data)
            return
        assert self.to is not None
        host, port = self.to
        with smtplib.SMTP(host, port, local_hostname=self.hostname,
                          timeout=SEND_TIMEOUT_S) as client:
            client.sendmail("", [bounce.to], bounce.data)  # MAIL FROM:<>


def worth_retrying(error: Exception) -> bool:
    """Whether a failed try at sending a DSN is worth another."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # The receiver refused the sender's address: for good when every refusal is a 5xx
        # (a real relay would then tell its postmaster), else it may take it later.
        return any(code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        # A refusal of MAIL FROM:<> or of the data: 4xx is "later", 5xx is "never".
        return error.smtp_code < 500
    if isinstance(error, OSError):
        # Refused, reset, timed out or cut (SMTPServerDisconnected is one): the receiver may
        # not be up yet, as Rollcall's listener may start after the relay.
        return True
    # A bounce_sink that raised: it may be a mailbox that is not there yet.
    return True
