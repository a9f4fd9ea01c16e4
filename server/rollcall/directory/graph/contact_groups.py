"""The sender's own contact groups over Graph: `distributionLists` on v1.0 names them, and their
members are on the beta endpoint only (v1.0 has no members segment yet). A member whose contact
is gone from the sender's contacts was deleted, as EWS's Demoted says."""

from __future__ import annotations

from rollcall.core.model import DirectoryError, Entry, Expansion, Kind

from .parse import contact_group_member
from .tokens import TokenSource
from .transport import Figures, GraphTransport

PAGE = 999


class ContactGroups:
    """One sender's contact groups and contacts, as `path` (/me or /users/ID) reaches them."""

    def __init__(self, transport: GraphTransport, path: str, token: TokenSource,
                 figures: Figures) -> None:
        self.transport = transport
        self.path = path
        self.token = token
        self.figures = figures

    def named(self, name: str) -> list[Entry]:
        """The sender's contact groups called `name` (case-insensitive)."""
        wanted = name.strip().lower()
        return [Entry(g.get("displayName") or "", None, Kind.CONTACT_GROUP,
                      item_id=str(g.get("id")))
                for g in self.transport.get_all(
                    f"/v1.0{self.path}/distributionLists?$select=id,displayName&$top={PAGE}",
                    self.token, "your contact groups", self.figures)
                if str(g.get("displayName") or "").strip().lower() == wanted]

    def contacts_named(self, name: str) -> list[Entry]:
        """The sender's contacts whose name matches `name` as Outlook's address book would:
        every word of it starts a word of the contact's name."""
        words = name.strip().lower().split()
        found: list[Entry] = []
        for c in self.transport.get_all(
                f"/v1.0{self.path}/contacts?$select=id,displayName,emailAddresses&$top={PAGE}",
                self.token, "your contacts", self.figures):
            shown = str(c.get("displayName") or "")
            parts = shown.lower().split()
            if not words or not all(any(p.startswith(w) for p in parts) for w in words):
                continue
            for address in c.get("emailAddresses") or ():
                if address.get("address"):
                    found.append(Entry(shown, address["address"], Kind.CONTACT,
                                       item_id=str(c.get("id"))))
        return found

    def expand(self, entry: Entry) -> Expansion:
        what = f"your contact group {entry.name!r}"
        try:
            items = list(self.transport.get_all(
                f"/beta{self.path}/distributionLists/{entry.item_id}/members?$top={PAGE}",
                self.token, what, self.figures))
        except DirectoryError as e:
            if e.code == "failed":  # the beta members segment is missing in this tenant
                raise DirectoryError(
                    "failed", f"Microsoft Graph could not list {what}: its members are only on "
                    "Graph's beta endpoint, which did not answer", detail=e.detail) from None
            raise
        ids: frozenset[str] | None
        try:
            ids = frozenset(str(c.get("id")) for c in self.transport.get_all(
                f"/v1.0{self.path}/contacts?$select=id&$top={PAGE}", self.token,
                "your contacts", self.figures))
        except DirectoryError as e:
            if e.code != "denied":
                raise
            ids = None  # without the contacts, deleted ones cannot be told: said in the note
        members = tuple(contact_group_member(item, ids) for item in items)
        note = None if ids is not None else (
            f"Rollcall could not read your contacts, so it cannot tell whether any member of "
            f"{entry.name} points to a deleted contact.")
        return Expansion(members, complete=True, total_in_view=len(members), note=note)
