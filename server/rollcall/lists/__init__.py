"""Rollcall lists: senders' own mailing lists. The API and the command line go through
`ListsService`; it keeps the store and what needs a count (history, snapshots) together."""

from .service import ListsService

__all__ = ["ListsService"]
