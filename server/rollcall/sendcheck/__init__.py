"""The send check: Outlook's Smart Alerts ask before a message goes; a count under a short
deadline, the policy (core/policy.py) and the sender's hourly window (`window`) answer."""

from .service import SendCheck

__all__ = ["SendCheck"]
