"""What to run on the server side next for a traced copy (Exchange Online's message trace,
Exchange's tracking log, Postfix's mail log), and the report support asks for. Pure."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta

from .model import State
from .trace import Trace

# --- What to run next ------------------------------------------------------------------------

_EXCHANGE_REPLY = re.compile(r"\[InternalId=|queued mail for delivery", re.I)
TRACE_WINDOW = timedelta(days=10)  # Get-MessageTraceV2: 10 days a query, 90 days kept
TRACE_KEPT = timedelta(days=90)


def _ps(value: str) -> str:
    # PowerShell: double quotes expand $ and backticks; single quotes are literal.
    return f"'{value.replace(chr(39), chr(39) * 2)}'" if re.search(r'["$`]', value) \
        else f'"{value}"'


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"  # Exchange's documented UTC form


def _exchange_id(trace: Trace) -> bool:
    rid = trace.remote_id or ""
    return rid.isdigit() or rid.startswith("<") or bool(
        trace.last_reply and _EXCHANGE_REPLY.search(trace.last_reply))


def next_steps(trace: Trace, now: datetime | None = None) -> list[dict[str, str]]:
    """Where to look next on the server side, and the command to run there."""
    now = now or datetime.now(UTC)
    if trace.state in (State.SUPPRESSED, State.CANCELLED):
        return [{"where": "Rollcall", "why": f"Rollcall never offered this copy to a relay "
                 f"({trace.state}), so no mail server has anything to find.",
                 "command": f"rollcall send recipients {trace.send_id} --state {trace.state}"}]
    accepted = trace.remote_id is not None or trace.sent_at is not None
    if not accepted and trace.last_reply is None:
        return [{"where": "Rollcall", "command": f"rollcall send show {trace.send_id}",
                 "why": "The relay never took this copy: it has not been tried yet (or only "
                        "hit a relay that was down). `rollcall send show` says why the send "
                        "waits (a rate limit, a relay down or paused); a send worker "
                        "(`rollcall worker`) must be running."}]
    if not accepted:
        who = shlex.quote(trace.address)
        return [
            {"where": "Relay log", "command": f"grep -F {who} /var/log/mail.log",
             "why": f"The relay never took this copy (its last reply: {trace.last_reply}), so "
                    "it has no queue id and nothing beyond the relay (Exchange, the "
                    "recipient's server) has seen it: the relay's own log is where to look. "
                    "Postfix logs the refusal as a 'NOQUEUE: reject: RCPT' line with the "
                    "address (/var/log/maillog on Red Hat)."},
            {"where": "Exchange on premises",
             "command": f"Select-String -SimpleMatch -Pattern {_ps(trace.address)} -Path "
                        '"$env:ExchangeInstallPath\\TransportRoles\\Logs\\FrontEnd\\'
                        'ProtocolLog\\SmtpReceive\\*.log"',
             "why": "If the relay is an Exchange server: a refusal before acceptance is not in "
                    "message tracking, only in the receive connector's protocol log (when its "
                    "ProtocolLoggingLevel is Verbose)."}]
    start = trace.queued_at - timedelta(hours=1)
    end = (trace.sent_at or now) + timedelta(days=1)
    online_start = max(start, end - TRACE_WINDOW)
    mid, rid = _ps(trace.message_id), trace.remote_id
    exchange = _exchange_id(trace)
    online_why = ("Exchange Online's message trace, by the Message-ID Rollcall gave this copy "
                  "(each recipient's copy has its own). Times are UTC (the Z). One query covers "
                  "at most 10 days and message trace keeps 90 days; pipe the result to "
                  "Get-MessageTraceDetailV2 for each event.")
    if now - trace.queued_at > TRACE_KEPT:
        online_why += " This copy is older than 90 days: message trace no longer has it."
    onprem_why = ("Each Exchange server keeps its own message tracking log (30 days by "
                  "default); Get-TransportService searches them all. The Z means UTC.")
    if not rid:
        online_why += (f" The relay's reply carried no queue id Rollcall recognises: "
                       f"{trace.last_reply}.")
    elif exchange and rid.isdigit():
        onprem_why += (f" The relay's id {rid} is an Exchange InternalId: on the server that "
                       f"accepted the copy, -InternalMessageId {rid} finds it too (the id differs "
                       "on every server). Message trace does not search by it.")
    elif exchange:
        onprem_why += f" The relay's id {rid} looks like Exchange's."
    steps = [
        {"where": "Exchange Online",
         "command": f"Get-MessageTraceV2 -MessageId {mid} -StartDate \"{_utc(online_start)}\" "
                    f"-EndDate \"{_utc(end)}\"", "why": online_why},
        {"where": "Exchange on premises",
         "command": f"Get-TransportService | Get-MessageTrackingLog -MessageId {mid} -Start "
                    f"\"{_utc(start)}\" -End \"{_utc(end)}\" -ResultSize Unlimited",
         "why": onprem_why}]
    if rid and not exchange:
        q = shlex.quote(rid)
        steps.append({
            "where": "Postfix", "command": f"grep -F {q} /var/log/mail.log",
            "alternative": f"journalctl -u 'postfix*' --since "
                           f"\"{start.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC\" | grep -F {q}",
            "why": f"The relay's queue id {rid}: every line Postfix logged for this copy "
                   "carries it, and the 'to=<...>' line says status=sent, deferred or bounced "
                   "with the next server's reply (/var/log/maillog on Red Hat; the journal "
                   "where there is no log file)."})
    return steps


# --- The support report ------------------------------------------------------------------------

SUPPORT_LABELS = {"date": "Date (UTC)", "time": "Time (UTC)", "recipient": "Recipient",
                  "recipient_domain": "Recipient's domain", "sending_method": "Sending method",
                  "message_id": "Message-ID", "remote_id": "Remote id",
                  "last_reply": "Last reply", "state": "State"}


def support_report(trace: Trace) -> dict[str, str]:
    """The fields support asks for, in their order; the time is when it went (or was last
    tried, or queued)."""
    tried = [e.at for e in trace.events if e.kind == "attempt"]
    at = (trace.sent_at or (tried[-1] if tried else trace.queued_at)).astimezone(UTC)
    if trace.relay is None:
        method = "Rollcall tracked send (not handed to a relay yet)"
    else:
        method = f"Rollcall tracked send via {trace.relay} relay" + (
            f" {trace.relay_label}" if trace.relay_label else "")
    if trace.test:
        method += " (a test copy)"
    accepted = trace.sent_at is not None
    remote = trace.remote_id or ("none (the relay's reply carried no id Rollcall recognises)"
                                 if accepted else "none (the relay did not take it)")
    return {"date": f"{at:%Y-%m-%d}", "time": f"{at:%H:%M:%S}", "recipient": trace.address,
            "recipient_domain": trace.address.rpartition("@")[2].lower(),
            "sending_method": method, "message_id": trace.message_id, "remote_id": remote,
            "last_reply": trace.last_reply or "none", "state": trace.state}


def support_text(trace: Trace) -> str:
    """The support report as "Field: value" lines, for the clipboard."""
    return "\n".join(f"{SUPPORT_LABELS[k]}: {v}" for k, v in support_report(trace).items())
