"""Per-recipient behaviours, so a test or the demo can script what a relay does to each address.

A rule matches the RCPT TO address (case-insensitively) by a full address, `*@domain` or `*`,
and names what the relay does, with the replies real relays give:

    greylist      451 4.7.1 for the first `times` attempts (default 1), then accepted
    reject        550 5.1.1 User unknown (a hard bounce)
    defer         452 4.2.2 Mailbox full (for `times` attempts when given, else always)
    drop          the TCP connection is cut when the RCPT arrives; no reply at all
    relay_denied  550 5.7.1 Unable to relay (a relay problem, not the recipient's)
    quota         RCPT accepted, then 554 5.2.0 SubmissionQuotaExceeded at DATA (Exchange Online)
    throttle      421 4.4.2 rate limit, then the connection is closed (Exchange Online)

Three more accept the message (250 at RCPT and at DATA, with a queue id, as for any message)
and then, as a relay does when the next hop refuses it later, send a delivery status
notification (RFC 3464, built in dsn.py) back to the envelope sender:

    bounce        a bounce: Action failed, Status 5.1.1, the remote server's 550 5.1.1
                  "User unknown in virtual mailbox table"
    bounce_policy a bounce: Action failed, Status 5.7.1, 550 5.7.1 "Message rejected as spam"
    delay_dsn     a delay notice, not a bounce: Action delayed, Status 4.4.7; nothing follows,
                  as if the message got through later

A message with an empty envelope sender (MAIL FROM:<>, itself a DSN) never gets one.

Any rule may carry `times`: it then acts on the first `times` attempts for each address it
matches and steps aside afterwards. The first matching rule still in force wins.

As text (the command line, the demo): `ACTION:ADDRESS[=TIMES]`, several joined by commas, e.g.
`greylist:*@slow.example=2,reject:nobody@contoso.com,bounce:gone@fabrikam.com`; `-` may stand
for `_` in an action (`delay-dsn`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

REPLIES: dict[str, str] = {
    "greylist": "451 4.7.1 Greylisted, please try again later",
    "reject": "550 5.1.1 <{address}>: Recipient address rejected: User unknown",
    "defer": "452 4.2.2 Mailbox full",
    "drop": "",  # no reply: the connection is gone
    "relay_denied": "550 5.7.1 Unable to relay",
    "quota": "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
    "throttle": "421 4.4.2 Message submission rate for this client has exceeded the "
    "configured limit",
    "bounce": "250 2.1.5 Ok",  # the DSN comes later
    "bounce_policy": "250 2.1.5 Ok",
    "delay_dsn": "250 2.1.5 Ok",
}
ACTIONS = tuple(REPLIES)


@dataclass(frozen=True)
class Notice:
    """What a DSN says about one recipient: RFC 3464's Action and Status, and the reply the
    next hop gave (`{address}` is the recipient), quoted as the Diagnostic-Code."""

    action: str  # "failed" or "delayed"
    status: str
    remote_reply: str


NOTICES: dict[str, Notice] = {
    "bounce": Notice("failed", "5.1.1", "550 5.1.1 <{address}>: Recipient address rejected: "
                     "User unknown in virtual mailbox table"),
    "bounce_policy": Notice("failed", "5.7.1", "550 5.7.1 Message rejected as spam"),
    "delay_dsn": Notice("delayed", "4.4.7", "451 4.4.7 Message delayed: the remote server "
                        "did not answer, still trying"),
}
DEFAULT_TIMES = {"greylist": 1}  # greylisting lets the retry through; the others last


class RuleSpecError(ValueError):
    """A rule, or rule text, that makes no sense; the message names the item and the problem."""


@dataclass(frozen=True)
class Rule:
    """What the relay does to the addresses `pattern` matches (see the module's docstring)."""

    pattern: str
    action: str
    times: int | None = None

    def __post_init__(self) -> None:
        pattern = self.pattern.strip().lower()
        _check_pattern(pattern)
        if self.action not in REPLIES:
            raise RuleSpecError(f"unknown action {self.action!r}; known: {', '.join(ACTIONS)}")
        times = self.times if self.times is not None else DEFAULT_TIMES.get(self.action)
        if times is not None and (isinstance(times, bool) or times < 1):
            raise RuleSpecError(f"times must be 1 or more, not {self.times!r}")
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "times", times)

    def matches(self, address: str) -> bool:
        address = address.lower()
        if self.pattern == "*":
            return True
        if self.pattern.startswith("*@"):
            return address.rpartition("@")[2] == self.pattern[2:]
        return address == self.pattern

    def reply(self, address: str) -> str:
        """The SMTP reply line for `address` ("" for drop, which answers nothing)."""
        return REPLIES[self.action].format(address=address)

    @property
    def notice(self) -> Notice | None:
        """What the DSN this rule sends says (None: this rule sends none)."""
        return NOTICES.get(self.action)

    def __str__(self) -> str:
        """The rule as text parse_rules reads back."""
        times = "" if self.times is None else f"={self.times}"
        return f"{self.action}:{self.pattern}{times}"


def _check_pattern(pattern: str) -> None:
    if pattern == "*":
        return
    local, at, domain = pattern.rpartition("@")
    if not at or not local or not domain or "*" in domain or (local != "*" and "*" in local):
        raise RuleSpecError(
            f"{pattern!r} is not an address: use a full address, *@domain or *")


def parse_rules(text: str) -> list[Rule]:
    """The rules `ACTION:ADDRESS[=TIMES],...` names, in order ("" names none)."""
    rules = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        action, colon, rest = item.partition(":")
        if not colon:
            raise RuleSpecError(
                f"{item!r}: expected ACTION:ADDRESS[=TIMES], like greylist:*@slow.example=2")
        pattern, has_times, times_text = rest.partition("=")
        times: int | None = None
        if has_times:
            try:
                times = int(times_text.strip())
            except ValueError:
                raise RuleSpecError(f"{item!r}: times {times_text!r} is not a number") from None
        try:
            rules.append(Rule(pattern, action.strip().lower().replace("-", "_"), times))
        except RuleSpecError as e:
            raise RuleSpecError(f"{item!r}: {e}") from None
    return rules


def choose(rules: Sequence[Rule], address: str, seen: dict[tuple[Rule, str], int]) -> Rule | None:
    """The rule acting on this attempt at `address`, counted in `seen`; None: accept it."""
    address = address.lower()
    for rule in rules:
        if not rule.matches(address):
            continue
        key = (rule, address)
        count = seen.get(key, 0)
        if rule.times is not None and count >= rule.times:
            continue
        seen[key] = count + 1
        return rule
    return None
