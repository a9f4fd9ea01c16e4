"""The Directory port over Microsoft Graph for one acting sender; safe on several threads.

resolve: a typed address through one `$batch` over users, groups and org contacts
(`proxyAddresses/any(...)`), a typed name through `$search` (ConsistencyLevel: eventual) and the
sender's own contacts and contact groups. expand: one level per list, `members?$top=999`
following every nextLink; never `transitiveMembers`, which loses the paths that explain
duplicates, loops and depth. What only Exchange sees is exchange_only.py's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from rollcall.core.entries import clean_domains
from rollcall.core.model import DirectoryError, Entry, Expansion, Kind, NotFound, Resolution

from ..candidates import decide
from .contact_groups import ContactGroups
from .exchange_only import ExchangeAdmin, MailTips, dynamic_members, exchange_only_members
from .parse import (
    CONTACT_FIELDS,
    GROUP,
    GROUP_FIELDS,
    ORG_CONTACT,
    SELECT,
    USER,
    USER_FIELDS,
    entry_of,
    hidden_membership,
    is_limited,
)
from .tokens import TokenSource
from .transport import Figures, GraphTransport, first_failure, quoted

PAGE = 999  # Graph's largest page of members
BATCH = 20  # requests in one $batch
# Lists whose ids a process keeps (about 200 bytes each): every list of a large tenant.
MAX_GROUP_IDS = 100_000
EVENTUAL = {"ConsistencyLevel": "eventual"}  # $search reads Graph's eventually consistent index
COLLECTIONS = (("users", USER, USER_FIELDS), ("groups", GROUP, GROUP_FIELDS),
               ("contacts", ORG_CONTACT, CONTACT_FIELDS))


class GroupIds:
    """Lists' Graph ids by address, learnt from every answer, shared by counts. An id outlives
    its list only when the list is deleted and made again under the same address: the expand
    that meets the 404 forgets it and looks the address up again."""

    def __init__(self, max_entries: int = MAX_GROUP_IDS) -> None:
        # address -> (id, hidden membership, kind), least recently used first
        self._ids: OrderedDict[str, tuple[str, bool, Kind]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def learn(self, obj: dict[str, Any]) -> None:
        if obj.get("@odata.type") == GROUP and obj.get("mail") and obj.get("id"):
            address = str(obj["mail"]).lower()
            with self._lock:
                self._ids[address] = (str(obj["id"]), hidden_membership(obj),
                                      entry_of(obj).kind)
                self._ids.move_to_end(address)
                while len(self._ids) > self._max:
                    self._ids.popitem(last=False)

    def get(self, address: str) -> tuple[str, bool, Kind] | None:
        with self._lock:
            known = self._ids.get(address.lower())
            if known is not None:
                self._ids.move_to_end(address.lower())
            return known

    def forget(self, address: str) -> None:
        with self._lock:
            self._ids.pop(address.lower(), None)


class GraphDirectory:
    """One count's view of Graph, acting as `path` (/me on behalf of the sender, /users/ID with
    Rollcall's own token); `figures` adds up what the count cost."""

    def __init__(self, transport: GraphTransport, path: str, token: TokenSource,
                 admin: ExchangeAdmin, ids: GroupIds, internal_domains: Sequence[str] = ()
                 ) -> None:
        self.transport = transport
        self.path = path
        self.token = token
        self.admin = admin
        self.ids = ids
        self.figures = Figures()
        self.tips = MailTips(transport, path, token)
        self.own = ContactGroups(transport, path, token, self.figures)
        self._internal = clean_domains(internal_domains)

    # -- the port ----------------------------------------------------------------------------

    def resolve(self, name: str, address: str | None) -> Resolution:
        address = (address or "").strip()
        if address.startswith("/"):
            smtp = self.smtp_for_legacy_dn(address) or ""
            if not smtp:
                return Resolution(address, None, "unresolved")
        else:
            smtp = address if "@" in address else ""
        query = smtp or name.strip()
        if not query:
            return Resolution(query="", entry=None, problem="unresolved")
        found = self._by_address(smtp) if smtp else self._by_name(query)
        # An address Graph does not know may be a dynamic list or public folder Exchange has.
        return decide(query, found, smtp, name, self._internal, self._exchange_recipient)

    def expand(self, entry: Entry) -> Expansion:
        if entry.kind is Kind.CONTACT_GROUP and entry.item_id:
            expansion = self.own.expand(entry)
            return replace(expansion, members=self._lists_among(expansion.members))
        if entry.kind is Kind.DYNAMIC_DL:
            return dynamic_members(entry, self.admin, self.tips, self.figures)
        group = self._group(entry)
        what = f"the list {entry.name or entry.address}"
        try:
            members, limited = self._members(entry, group[0], what)
        except DirectoryError as e:
            if e.code == "denied" and group[1]:
                raise DirectoryError(
                    "hidden_membership", f"The members of {entry.name or entry.address} are "
                    "hidden: only its owners may see them, and Rollcall has not been granted "
                    "Member.Read.Hidden, so they are not counted", detail=e.detail) from None
            raise
        if limited:
            raise DirectoryError(
                "denied", f"Rollcall may not read the addresses of {limited} members of "
                f"{entry.name or entry.address} (it lacks User.Read.All or OrgContact.Read.All)",
                detail="limited information")
        if entry.kind is Kind.GROUP:  # Microsoft 365 groups hold only Entra objects
            return Expansion(tuple(members), complete=True, total_in_view=len(members))
        extra, exchange_count = exchange_only_members(entry, members, self.admin, self.tips,
                                                      self.figures)
        members.extend(extra)
        return Expansion(tuple(members), complete=True, total_in_view=len(members),
                         estimate=exchange_count)

    def smtp_for_legacy_dn(self, legacy_dn: str) -> str | None:
        """The owner of an X.500 address (Exchange keeps old DNs as X500: proxy addresses)."""
        for obj in self._lookup(f"X500:{legacy_dn}"):
            if obj.get("mail"):
                return str(obj["mail"])
        return None

    # -- Graph calls -------------------------------------------------------------------------

    def _lookup(self, proxy: str) -> list[dict[str, Any]]:
        """Users, groups and org contacts holding a proxy address: one $batch of three."""
        answers = self.transport.batch(
            [(c, holding(c, proxy, fields)) for c, _, fields in COLLECTIONS],
            self.token, self.figures, f"the address {proxy.split(':', 1)[1]}")
        failed = first_failure(answers, f"the address {proxy.split(':', 1)[1]}")
        if failed is not None:
            raise failed
        found: list[dict[str, Any]] = []
        for collection, odata, _ in COLLECTIONS:
            for obj in answers[collection].body.get("value", ()):
                obj.setdefault("@odata.type", odata)
                self.ids.learn(obj)
                found.append(obj)
        return found

    def _by_address(self, smtp: str) -> list[Entry]:
        return [e for e in (entry_of(o) for o in self._lookup(f"smtp:{smtp}")) if e.address]

    def _by_name(self, name: str) -> list[Entry]:
        """Directory objects whose names match (Graph's $search), then the sender's own
        contacts and contact groups, as Outlook's address book offers them."""
        words = name.replace("\\", " ").replace('"', " ")
        search = quote(f'"displayName:{words}"')
        what = f"the name {name!r}"
        answers = self.transport.batch(
            [(c, f"/{c}?$search={search}&$select={fields}&$top={PAGE}")
             for c, _, fields in COLLECTIONS],
            self.token, self.figures, what, headers=EVENTUAL)
        failed = first_failure(answers, what)
        if failed is not None:
            raise failed
        found: list[Entry] = []
        for collection, odata, _ in COLLECTIONS:
            for obj in answers[collection].body.get("value", ()):
                obj.setdefault("@odata.type", odata)
                self.ids.learn(obj)
                entry = entry_of(obj)
                if entry.address:
                    found.append(entry)
        found.extend(self.own.contacts_named(name))
        found.extend(self.own.named(name))
        return found

    def _lists_among(self, members: Sequence[Entry]) -> tuple[Entry, ...]:
        """A contact group's directory members that are lists, as lists: Graph types them all
        `mailbox`, so they are looked up (20 to a $batch), once per address and process."""
        unknown = sorted({(m.address or "").lower() for m in members
                          if m.kind is Kind.MAILBOX and m.address
                          and self.ids.get(m.address) is None})
        for start in range(0, len(unknown), BATCH):
            chunk = unknown[start:start + BATCH]
            what = "the lists in a contact group"
            answers = self.transport.batch(
                [(str(i), holding("groups", "smtp:" + a, GROUP_FIELDS))
                 for i, a in enumerate(chunk)],
                self.token, self.figures, what)
            failed = first_failure(answers, what)
            if failed is not None:
                raise failed
            for answer in answers.values():
                for obj in answer.body.get("value", ()):
                    obj.setdefault("@odata.type", GROUP)
                    self.ids.learn(obj)
        result = []
        for m in members:
            known = self.ids.get(m.address) if m.kind is Kind.MAILBOX and m.address else None
            result.append(replace(m, kind=known[2]) if known is not None else m)
        return tuple(result)

    def _members(self, entry: Entry, group_id: str, what: str,
                 again: bool = True) -> tuple[list[Entry], int]:
        """A group's direct members, every page, and how many came with limited information."""
        members: list[Entry] = []
        limited = 0
        try:
            for obj in self.transport.get_all(
                    f"/v1.0/groups/{group_id}/members?$select={SELECT}&$top={PAGE}",
                    self.token, what, self.figures):
                self.ids.learn(obj)
                limited += is_limited(obj)
                members.append(entry_of(obj))
        except NotFound:
            if not again or entry.address is None:
                raise
            # An id learnt earlier for a list since deleted and made again: ask once more.
            self.ids.forget(entry.address)
            return self._members(entry, self._group(entry)[0], what, again=False)
        return members, limited

    def _group(self, entry: Entry) -> tuple[str, bool, Kind]:
        """(Graph id, hidden membership, kind) of a list, looked up by address when not known."""
        address = entry.address or ""
        known = self.ids.get(address)
        if known is None and address:
            self._lookup(f"smtp:{address}")
            known = self.ids.get(address)
        if known is None:
            raise NotFound(f"Microsoft 365 has no list {entry.name or address}")
        return known

    def _exchange_recipient(self, smtp: str, name: str) -> Entry | None:
        """An address Graph does not know but Exchange delivers to (a dynamic list or a public
        folder, which are no Entra objects): MailTips says whether Exchange knows it, and the
        admin API (when open) whether it is a dynamic list."""
        counts = self.tips.member_counts([smtp], self.figures)
        if smtp.lower() not in counts:
            return None
        total = counts[smtp.lower()]
        is_dynamic = (total or 0) > 1
        if self.admin.open:
            try:
                is_dynamic = self.admin.members("DynamicDistributionGroupMember", smtp,
                                                f"the address {smtp}", self.figures,
                                                result_size=1) is not None or is_dynamic
            except NotFound:
                is_dynamic = False
        return Entry(name.strip() or smtp, smtp, Kind.DYNAMIC_DL if is_dynamic else Kind.MAILBOX)


def holding(collection: str, proxy: str, fields: str) -> str:
    """The relative URL of the objects in `collection` with this proxy address (smtp:, X500:)."""
    flt = quote(f"proxyAddresses/any(p:p eq {quoted(proxy)})", safe="/:(),'")
    return f"/{collection}?$filter={flt}&$select={fields}"
