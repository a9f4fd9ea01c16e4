"""Each mailbox's mail folders and messages: the Inbox, folders people make, raw RFC 5322 messages.

The store is changed while the server answers (deliveries from tests or an SMTP simulator,
CreateFolder, MoveItem), so every read and write holds one lock and readers get copies.

Ids: folders and messages get ItemIds in the same opaque form as Contacts items (org.item_id):
`folder:NAME` for distinguished folders (root, msgfolderroot, inbox, contacts), `folder:uN` for
folders people make, `msg:N` for messages. A moved message gets a new id, as in Exchange.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.utils import getaddresses, parsedate_to_datetime

from .org import Organisation

# Distinguished folders every mailbox has: id -> (display name, FolderClass, parent).
DISTINGUISHED = {
    "root": ("Top of Information Store", None, None),
    "msgfolderroot": ("Top of Information Store", "IPF.Note", "root"),
    "inbox": ("Inbox", "IPF.Note", "msgfolderroot"),
    "contacts": ("Contacts", "IPF.Contact", "msgfolderroot"),
}


class MailStoreError(LookupError):
    """A folder or message that is not there; `code` is the EWS ResponseCode to answer with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class MailFolder:
    local: str  # "inbox", "u3", ...
    name: str
    klass: str | None  # FolderClass
    parent: str | None
    distinguished: bool


@dataclass(frozen=True, slots=True)
class Headers:
    """What EWS shows of a message without reading its body."""

    subject: str | None
    sender: tuple[str, str] | None  # (display name, address) from From:
    to: tuple[tuple[str, str], ...]
    message_id: str | None
    item_class: str  # a delivery status notification is a report (REPORT.IPM.Note.NDR)
    sent: datetime | None  # the Date: header


@dataclass(frozen=True, slots=True)
class StoredMessage:
    local: str  # "msg:N"
    folder: str
    raw: bytes
    received: datetime
    seq: int  # delivery order: the tie-break between equal DateTimeReceived
    headers: Headers

    @property
    def subject(self) -> str | None:
        return self.headers.subject

    @property
    def sender(self) -> tuple[str, str] | None:
        return self.headers.sender

    @property
    def to(self) -> tuple[tuple[str, str], ...]:
        return self.headers.to

    @property
    def message_id(self) -> str | None:
        return self.headers.message_id

    @property
    def item_class(self) -> str:
        return self.headers.item_class

    @property
    def sent(self) -> datetime | None:
        return self.headers.sent


class MailStore:
    """Mail folders and messages of an organisation's mailboxes, made on first use per mailbox."""

    def __init__(self, org: Organisation) -> None:
        self._org = org
        self._lock = threading.Lock()
        self._folders: dict[str, dict[str, MailFolder]] = {}  # mailbox -> local id -> folder
        self._messages: dict[str, dict[str, StoredMessage]] = {}  # mailbox -> local id -> message
        self._next = 0

    def mailbox_for(self, address: str) -> str | None:
        """The mailbox mail to `address` lands in: primary or proxy address, or a plus address
        (bounces+tag@) of one, as Exchange Online delivers them; None if nobody's."""
        wanted = address.strip().lower()
        local, at, domain = wanted.partition("@")
        for candidate in (wanted, f"{local.split('+', 1)[0]}{at}{domain}"):
            obj = self._org.find(candidate)
            if obj is not None and obj.address.lower() in self._org.mailboxes:
                return obj.address.lower()
        return None

    def deliver(self, mailbox: str, raw: bytes, received: datetime | None = None) -> str:
        """Put a raw message into the mailbox's Inbox; returns its local id. KeyError when the
        address is nobody's mailbox."""
        owner = self.mailbox_for(mailbox)
        if owner is None:
            raise KeyError(mailbox)
        when = (received or datetime.now(UTC)).astimezone(UTC)
        headers = _headers(raw)
        with self._lock:
            self._box(owner)
            self._next += 1
            msg = StoredMessage(local=f"msg:{self._next}", folder="inbox", raw=raw, received=when,
                                seq=self._next, headers=headers)
            self._messages[owner][msg.local] = msg
            return msg.local

    def folder(self, mailbox: str, local: str) -> MailFolder:
        with self._lock:
            found = self._box(mailbox).get(local)
        if found is None:
            raise MailStoreError("ErrorFolderNotFound",
                                 "The specified folder could not be found in the store.")
        return found

    def children(self, mailbox: str, parent: str, deep: bool = False) -> list[MailFolder]:
        """The folders under `parent` (all levels when deep), parents before their children."""
        with self._lock:
            folders = list(self._box(mailbox).values())
        out: list[MailFolder] = []
        stack = [parent]
        while stack:
            here = stack.pop(0)
            kids = [f for f in folders if f.parent == here]
            out.extend(kids)
            if deep:
                stack.extend(f.local for f in kids)
        return out

    def create_folder(self, mailbox: str, parent: str, name: str, klass: str | None) -> MailFolder:
        """A new folder; ErrorFolderExists when the parent has one of that name (any case)."""
        with self._lock:
            box = self._box(mailbox)
            if parent not in box:
                raise MailStoreError("ErrorParentFolderNotFound", "Parent folder not found.")
            if any(f.parent == parent and f.name.lower() == name.lower() for f in box.values()):
                raise MailStoreError("ErrorFolderExists",
                                     "A folder with the specified name already exists.")
            self._next += 1
            folder = MailFolder(f"u{self._next}", name, klass or "IPF.Note", parent, False)
            box[folder.local] = folder
            return folder

    def delete_folder(self, mailbox: str, local: str) -> None:
        """Remove a folder people made, with what it holds, as someone in Outlook would."""
        doomed = {local, *(f.local for f in self.children(mailbox, local, deep=True))}
        with self._lock:
            folder = self._box(mailbox).get(local)
            if folder is None or folder.distinguished:
                raise MailStoreError("ErrorDeleteDistinguishedFolder" if folder else
                                     "ErrorFolderNotFound", "No folder of people's to delete.")
            for name in doomed:
                self._folders[mailbox].pop(name, None)
            box = self._messages[mailbox]
            for key in [k for k, m in box.items() if m.folder in doomed]:
                del box[key]

    def messages(self, mailbox: str, folder: str) -> list[StoredMessage]:
        """The folder's messages in delivery order."""
        with self._lock:
            self._box(mailbox)
            found = [m for m in self._messages[mailbox].values() if m.folder == folder]
        return sorted(found, key=lambda m: m.seq)

    def message(self, mailbox: str, local: str) -> StoredMessage:
        with self._lock:
            self._box(mailbox)
            found = self._messages[mailbox].get(local)
        if found is None:
            raise MailStoreError("ErrorItemNotFound",
                                 "The specified object was not found in the store.")
        return found

    def move(self, mailbox: str, local: str, target: str) -> StoredMessage:
        """Move a message; it gets a new id in the target folder (the old one stops working)."""
        with self._lock:
            box = self._box(mailbox)
            if target not in box:
                raise MailStoreError("ErrorToFolderNotFound",
                                     "The destination folder could not be found.")
            msg = self._messages[mailbox].pop(local, None)
            if msg is None:
                raise MailStoreError("ErrorItemNotFound",
                                     "The specified object was not found in the store.")
            self._next += 1
            moved = replace(msg, local=f"msg:{self._next}", folder=target)
            self._messages[mailbox][moved.local] = moved
            return moved

    def count(self, mailbox: str, folder: str) -> tuple[int, int]:
        """(messages, child folders) of a folder."""
        with self._lock:
            box = self._box(mailbox)
            kids = sum(1 for f in box.values() if f.parent == folder)
            return sum(1 for m in self._messages[mailbox].values() if m.folder == folder), kids

    def _box(self, mailbox: str) -> dict[str, MailFolder]:
        """A mailbox's folders, made on first use (the caller holds the lock)."""
        box = self._folders.get(mailbox)
        if box is None:
            box = {name: MailFolder(name, display, klass, parent, True)
                   for name, (display, klass, parent) in DISTINGUISHED.items()}
            self._folders[mailbox] = box
            self._messages[mailbox] = {}
        return box


def _headers(raw: bytes) -> Headers:
    msg = message_from_bytes(raw, policy=policy.default)
    subject = _header(msg, "Subject")
    sender = _addresses(msg, "From")
    item_class = "IPM.Note"
    if msg.get_content_type() == "multipart/report":
        item_class = _report_class(msg)
    return Headers(subject=subject, sender=sender[0] if sender else None,
                   to=tuple(_addresses(msg, "To")), message_id=_header(msg, "Message-ID"),
                   item_class=item_class, sent=_date(_header(msg, "Date")))


def _date(text: str | None) -> datetime | None:
    try:
        when = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when is not None and when.tzinfo is not None else None


def _header(msg: object, name: str) -> str | None:
    try:
        value = msg[name]  # type: ignore[index]
    except (ValueError, TypeError, IndexError):  # a header the parser cannot make sense of
        return None
    return None if value is None else _clean(str(value))


def _clean(text: str) -> str:
    """Header text fit for XML: 8-bit bytes the parser could not decode come back as
    surrogates (read them as UTF-8, as Exchange does with raw UTF-8 headers); no controls."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(c for c in text if c.isprintable() or c == " ").strip()


def _addresses(msg: object, name: str) -> list[tuple[str, str]]:
    try:
        value = msg[name]  # type: ignore[index]
        addresses = getattr(value, "addresses", None)
    except (ValueError, TypeError, IndexError):
        addresses = None
    if addresses is not None:
        return [(_clean(a.display_name), _clean(a.addr_spec)) for a in addresses
                if isinstance(a, Address)]
    text = _header(msg, name)
    return [(n, a) for n, a in getaddresses([text]) if a] if text else []


def _report_class(msg: object) -> str:
    """REPORT.IPM.Note.NDR for failures, .DR for delivered, .Delayed for delays (RFC 3464)."""
    action = ""
    for part in msg.walk():  # type: ignore[attr-defined]
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            text = " ".join(str(p) for p in payload) if isinstance(payload, list) else str(payload)
            action = text.lower()
    if "action: delayed" in action:
        return "REPORT.IPM.Note.Delayed"
    if "action: failed" in action or not action:
        return "REPORT.IPM.Note.NDR"
    return "REPORT.IPM.Note.DR"
