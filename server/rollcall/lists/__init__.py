"""Rollcall lists: senders' own mailing lists. The API and the command line go through
`ListsService`, naming who acts (`access.principal` for a signed-in caller, `access.operator`
for the command line); it keeps the store and what needs a count (history, snapshots)
together."""

from rollcall.store.access import NotYourList, Principal

from .access import counting_as_operator, operator, principal, signed_in
from .service import ListsService

__all__ = ["ListsService", "NotYourList", "Principal", "counting_as_operator", "operator",
           "principal", "signed_in"]
