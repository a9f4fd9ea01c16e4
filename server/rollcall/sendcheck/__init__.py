"""The send check: Outlook's Smart Alerts ask before a message goes; a count under a short
deadline, the policy (core/policy.py) and the sender's hourly window (`window`, its rows
kept in store/send_checks.py) answer."""

from .service import SendCheck

__all__ = ["SendCheck"]
