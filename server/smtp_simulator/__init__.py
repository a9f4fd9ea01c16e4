"""A stand-alone SMTP relay simulator for Rollcall's tracked-send tests and demo.

It speaks real SMTP over TCP (aiosmtpd on a background thread) and answers each recipient the
way Postfix or Exchange Online would, as scripted by rules: greylisting, unknown users, full
mailboxes, dropped connections, relay denial, submission quota and rate throttling, and returns
bounce-backs (RFC 3464 reports) for chosen addresses a moment after accepting them. It offers
AUTH (PLAIN and LOGIN with a password, XOAUTH2 with an OAuth issuer's tokens, as Exchange Online
does) and STARTTLS when asked to, and can write what it accepts to a spool folder for another
process to read. Like aiosmtpd, it does not offer the ESMTP DSN extension (RFC 3461), though
it sends delivery status reports. It never imports `rollcall`.
"""

from .ledger import Accepted, Bounce
from .oauth import BearerCheck, SignIn
from .rules import ACTIONS, Rule, RuleSpecError, parse_rules
from .server import SmtpSimulator
from .spool import read as read_spool

__all__ = [
    "ACTIONS",
    "Accepted",
    "Bounce",
    "BearerCheck",
    "Rule",
    "RuleSpecError",
    "SignIn",
    "SmtpSimulator",
    "parse_rules",
    "read_spool",
]
