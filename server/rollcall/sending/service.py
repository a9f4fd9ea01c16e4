"""Tracked send's service: a send made from a complete count (the send check's policy applies),
its recipients queued in the outbox, and what senders and support ask about it afterwards."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..core.model import Recipient
from ..core.policy import BLOCK, OFF, Policy, evaluate
from ..counting.service import CountService, no_count
from ..errors import BadRequest, NotConfigured, RollcallError
from ..store.access import Principal
from .bounce_rate import PAUSED_BY, judge, limits
from .model import (
    SUPPRESSION_WORDS,
    NewRecipient,
    NewSend,
    RecipientRecord,
    SendSummary,
    State,
    Status,
    Suppression,
    subject_problem,
)
from .settings import SendSettings
from .smtp import parse_relay_url

log = logging.getLogger(__name__)
MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER


class SendError(RollcallError):
    code = "send_refused"
    status = 409


class CountIncomplete(SendError):
    code = "count_incomplete"


class SendBlocked(SendError):
    code = "send_blocked"

    def __init__(self, message: str, verdict: dict[str, Any]) -> None:
        super().__init__(message)
        self.verdict = verdict

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = super().to_json()
        body["error"]["send_check"] = self.verdict
        return body


class NoRelay(NotConfigured):
    code = "smtp_not_configured"


class SendNotFound(RollcallError):
    code = "send_not_found"
    status = 404


@dataclass(frozen=True, slots=True)
class Plan:
    """What a send will do, before it is queued (the pane's confirmation)."""

    messages: int
    suppressed: dict[str, int]
    relay: str
    fallback: str | None
    per_minute: int
    per_hour: int
    send_check: dict[str, Any]
    report: dict[str, Any]

    @property
    def estimated_s(self) -> int:
        """Seconds at the rate limits, were the relay instant."""
        # Each window lets its allowance go at once, then waits for the next window: 30 go in
        # the first minute, the next 30 a minute later, and so on, within the hour's allowance.
        minutes = math.ceil(self.messages / self.per_minute) - 1 if self.messages else 0
        hours = math.ceil(self.messages / self.per_hour) - 1 if self.messages else 0
        return max(minutes * 60, hours * 3600)

    def to_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "suppressed": self.suppressed,
                "suppressed_words": {k: SUPPRESSION_WORDS[Suppression(k)]
                                     for k in self.suppressed},
                "relay": self.relay, "fallback": self.fallback,
                "rate": {"per_minute": self.per_minute, "per_hour": self.per_hour},
                "estimated_s": self.estimated_s, "send_check": self.send_check,
                "report": self.report}


class SendService:
    """Creates sends and answers about them; every call names who asks."""

    def __init__(self, counts: CountService, policy: Policy, settings: SendSettings,
                 engine: Callable[[], Any], base_url: str,
                 tracking_key: Callable[[], bytes]) -> None:
        self.counts = counts
        self.policy = policy
        self.settings = settings
        self._engine = engine  # the store's engine, opened on first use
        self.base_url = base_url
        self.tracking_key = tracking_key
        self._outbox: Any = None
        self._records: Any = None

    @property
    def outbox(self) -> Any:
        if self._outbox is None:
            from ..store.outbox import Outbox

            self._outbox = Outbox(self._engine())
        return self._outbox

    @property
    def records(self) -> Any:
        if self._records is None:
            from ..store.send_records import SendRecords

            self._records = SendRecords(self._engine())
        return self._records

    def plan(self, sender: str, recipients: list[Recipient], expected: int | None = None,
             allow_incomplete: bool = False, request_id: str | None = None
             ) -> tuple[Plan, list[NewRecipient]]:
        """Count, apply the policy and the suppression list; raises CountIncomplete,
        SendBlocked, NoRelay, DirectoryUnavailable."""
        relay = self._relay_label()
        report = self.counts.count(recipients, expected, sender, request_id=request_id)
        failure = no_count(report)
        if failure is not None:
            raise failure
        if not report.complete and not allow_incomplete:
            raise CountIncomplete(
                f"The count is incomplete (at least {report.total} people: some lists could "
                "not be expanded), so Rollcall will not send from it. Count again, or choose "
                "to send to the people found so far.")
        policy = self.policy
        if allow_incomplete:
            policy = replace(policy, incomplete=OFF)  # the caller said so explicitly
        verdict = evaluate(report, policy)
        if verdict.action == BLOCK:
            raise SendBlocked(f"The send check blocks this send: {verdict.message}",
                              verdict.to_json())
        suppressed = self.outbox.suppressions(report.recipients)
        queued = [NewRecipient(a, State.SUPPRESSED, suppressed[a.lower()])
                  if a.lower() in suppressed else NewRecipient(a)
                  for a in report.recipients]
        reasons: dict[str, int] = {}
        for r in queued:
            if r.reason is not None:
                reasons[r.reason.value] = reasons.get(r.reason.value, 0) + 1
        fallback = self.settings.smtp_fallback_url
        plan = Plan(messages=sum(r.state is State.QUEUED for r in queued), suppressed=reasons,
                    relay=relay, fallback=_label(fallback) if fallback else None,
                    per_minute=self.settings.rate_per_minute,
                    per_hour=self.settings.rate_per_hour,
                    send_check=verdict.to_json(), report=report.to_json())
        return plan, queued

    def create(self, sender: str, recipients: list[Recipient], subject: str,
               html: str | None, text: str | None, expected: int | None = None,
               allow_incomplete: bool = False, base_url: str | None = None,
               request_id: str | None = None) -> tuple[SendSummary, Plan]:
        """Queue one message per deliverable recipient; raises as `plan` does."""
        _check_subject(subject)
        plan, queued = self.plan(sender, recipients, expected, allow_incomplete, request_id)
        entries = tuple(r.address or r.name for r in recipients)
        new = NewSend(sender=sender.lower(), from_address=sender, subject=subject, html=html,
                      text=text, tracking=self.settings.tracking,
                      base_url=base_url or self.base_url, report=plan.report, entries=entries,
                      recipients=tuple(queued), allow_incomplete=allow_incomplete)
        send_id = self.outbox.create(new, self._message_domain(sender))
        log.info("send %d queued by %s: %d messages, %d suppressed", send_id, sender,
                 plan.messages, sum(plan.suppressed.values()))
        return self._summary(send_id), plan

    def test(self, sender: str, subject: str, html: str | None, text: str | None,
             base_url: str | None = None) -> SendSummary:
        """One copy to the sender, through the same relay and worker as the real send."""
        _check_subject(subject)
        self._relay_label()
        new = NewSend(sender=sender.lower(), from_address=sender, subject=f"[Test] {subject}",
                      html=html, text=text, tracking=self.settings.tracking,
                      base_url=base_url or self.base_url, report={}, entries=(sender,),
                      recipients=(NewRecipient(sender),), test=True)
        return self._summary(self.outbox.create(new, self._message_domain(sender)))

    def show(self, send_id: int, who: Principal) -> SendSummary:
        """One send, to its sender or an administrator; raises SendNotFound."""
        self._may_see(send_id, who)
        return self._summary(send_id)

    def sends(self, who: Principal, everyone: bool = False) -> list[SendSummary]:
        """The asker's sends, newest first (an administrator's `everyone`: all of them)."""
        sender = None if everyone and who.admin else (who.mailbox or "")
        return [self._waiting(s) for s in self.records.sends(sender)]

    def recipients(self, send_id: int, who: Principal,
                   state: State | None = None) -> list[RecipientRecord]:
        """Every recipient's record; raises SendNotFound."""
        self._may_see(send_id, who)
        found: list[RecipientRecord] = self.records.records(send_id, state)
        return found

    def unsubscribe(self, token: str) -> str | None:
        """The person behind a message's unsubscribe link opted out of future sends."""
        address: str | None = self.outbox.unsubscribe(token)
        if address:
            log.info("unsubscribed through a message's link (token %s...)", token[:6])
        return address

    def track(self, kind: str, token: str, user_agent: str, ip: str,
              head: bool = False) -> str | None:
        """Record an open or click with its verdict (never the full IP); a click's target (None
        for an open, or a token Rollcall did not sign)."""
        from .tracking import Kind, classify, read_click, truncate_ip, verify

        key = self.tracking_key()
        index: int | None = None
        if kind == "open":
            who = verify(key, Kind.OPEN, token)
        else:
            click = read_click(key, token)
            who, index = click if click else (None, None)
        origin = self.records.origin(who) if who else None
        if origin is None:
            return None
        send_id, recipient_id, went = origin
        since = (datetime.now(UTC) - went).total_seconds() if went else None
        verdict = classify(kind, user_agent, ip, since, head)
        self.records.tracking_event(send_id, recipient_id, kind, index, verdict.value,
                                    truncate_ip(ip))
        if index is None:
            return None  # an open: the pixel is all there is
        found: str | None = self.records.link(send_id, index)
        return found

    def _may_see(self, send_id: int, who: Principal) -> None:
        # Ids are database integers: anything outside them names no send (and must not reach
        # the driver, which refuses it).
        owner = self.records.owner(send_id) if 0 < send_id <= MAX_ID else None
        # Someone else's send is "not found": its existence is not theirs to learn.
        if owner is None or (owner != (who.mailbox or "").lower() and not who.admin):
            raise SendNotFound(f"There is no send {send_id}" + ("" if who.admin
                                                                 else " of yours"))

    def _summary(self, send_id: int) -> SendSummary:
        found = self.records.summary(send_id)
        if found is None:
            raise SendNotFound(f"There is no send {send_id}")
        return self._waiting(found)

    def _waiting(self, summary: SendSummary) -> SendSummary:
        """Say why a send is not moving (its relays are down or paused, the rate limit holds
        it, it is paused or stopped) and what its bounce rate says."""
        verdict = judge(summary.counts, limits(self.settings))
        if verdict.words:
            summary = replace(summary, bounce_warning=verdict.words)
        if summary.status is Status.PAUSED and summary.paused:
            return replace(summary, waiting=_paused_words(summary.paused))
        if summary.status is Status.STOPPED:
            return replace(summary, waiting=self._stopped_words())
        if summary.status not in (Status.QUEUED, Status.SENDING) or \
                summary.counts.get(State.SENDING.value, 0):
            return summary
        stuck = self._relays_down()
        if stuck:
            return replace(summary, waiting=stuck)
        frees = self.outbox.budget_frees_at(summary.sender, "primary",
                                            self.settings.rate_per_minute,
                                            self.settings.rate_per_hour)
        if frees is None or frees <= datetime.now(UTC):
            return summary
        return replace(summary, waiting=(
            f"Waiting for the sending rate limit ({self.settings.rate_per_minute} a minute, "
            f"{self.settings.rate_per_hour} an hour): goes on at "
            f"{frees.strftime('%H:%M:%S')} UTC"))

    def _stopped_words(self) -> str:
        from ..store.queue_control import QueueControl

        switch = QueueControl(self._engine()).switch()
        who = f" by {switch.changed_by}" if switch.changed_by else ""
        when = f" at {switch.changed_at.strftime('%H:%M')} UTC" if switch.changed_at else ""
        why = f" ({switch.reason})" if switch.reason else ""
        return (f"Waiting: the SMTP service was stopped{who}{when}{why}; nothing is sent "
                "until an administrator starts it again.")

    def _relays_down(self) -> str | None:
        """In words, when no configured relay can take mail now; None when one can."""
        from ..store.relay_state import RelayStates

        health = RelayStates(self._engine()).all()
        now = datetime.now(UTC)
        said = []
        for name, _ in self.settings.relays():
            h = health.get(name)
            if h is None or h.state == "active" or (h.until is not None and h.until <= now):
                return None
            again = h.until.strftime("%H:%M:%S") if h.until else "later"
            down = "is paused" if h.state == "paused" else "cannot be reached"
            said.append(f"the {name} relay {down} ({h.reason or h.last_error}); tried again "
                        f"at {again} UTC")
        return ("Mail is waiting: " + "; ".join(said) + ".") if said else None

    def _message_domain(self, sender: str) -> str:
        # Message-IDs name a domain the organisation owns: the bounce domain, else DKIM's,
        # else the sender's.
        bounce = (self.settings.bounce_address or "").rpartition("@")[2]
        return bounce or self.settings.dkim_domain or sender.rpartition("@")[2] or "rollcall"

    def _relay_label(self) -> str:
        if not self.settings.smtp_url:
            raise NoRelay("No SMTP relay is configured (ROLLCALL_SMTP_URL), so Rollcall "
                          "cannot send. Ask your administrator.")
        return _label(self.settings.smtp_url)


def _paused_words(paused: Any) -> str:
    at = paused.get("at")
    when = f" at {datetime.fromisoformat(at).strftime('%H:%M')} UTC" if at else ""
    why = f" ({paused['reason']})" if paused.get("reason") else ""
    if paused.get("by") == PAUSED_BY:  # it paused itself: too many bounces
        return f"Paused by Rollcall itself{when}{why}: nothing goes out until its sender or " \
            "an administrator resumes it."
    return f"Paused by {paused.get('by') or 'an administrator'}{when}{why}: nothing goes out " \
        "until it is resumed."


def _check_subject(subject: str) -> None:
    problem = subject_problem(subject)
    if problem:
        raise BadRequest(f"The subject {problem}", code="bad_subject")


def _label(url: str) -> str:
    host, port, _, _ = parse_relay_url(url)
    return f"{host}:{port}"
