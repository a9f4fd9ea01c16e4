"""A bounce mailbox in Exchange, read over EWS: non-delivery reports and other DSNs that arrive
there (plus-addressed bounces+TOKEN@) are fetched oldest first with their MIME, then moved to a
"Processed" folder, so a shop with no inbound SMTP of its own can still match its bounces.

The account is the adapter's own (client.EwsConnections: the service account impersonating the
bounce mailbox, or that mailbox itself); every failure comes back as Rollcall's DirectoryError
(`unreachable`, `unauthorized`, `access_denied`, `throttled`, ...), never exchangelib's.
Importing this module loads no exchangelib; the first fetch does.

The EWS calls, once per process: GetFolder root and inbox (exchangelib's `account.inbox`); once
per reader, for `processed`: FindFolder (Shallow) under the Inbox, then under the message root,
then CreateFolder under the Inbox if neither holds the folder. Each fetch: FindItem (IdOnly,
sorted by DateTimeReceived, paged) and GetItem with MimeContent in chunks of a page; each
`processed`: MoveItem in chunks.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from rollcall.core.model import DirectoryError

from .settings import EwsSettings

if TYPE_CHECKING:
    from exchangelib import Account
    from exchangelib.folders import BaseFolder

    from .client import EwsConnections

WHAT = "the bounce mailbox"  # how errors name what Exchange refused


@dataclass(frozen=True, slots=True)
class MailItem:
    """One message in the bounce mailbox: its EWS id and change key (to move it), when Exchange
    received it, its subject, and the whole message as Exchange hands it out (RFC 5322 bytes;
    empty when Exchange has no MIME for the item)."""

    id: str
    changekey: str
    received_at: datetime | None
    subject: str | None
    mime: bytes


class EwsBounceMailbox:
    """The bounce mailbox `mailbox` over EWS; safe to call from several threads.

    `page_size` is the FindItem page, the GetItem chunk and the MoveItem chunk (EWS's own
    default is 100; Exchange caps FindItem pages at 1,000 by its EWSFindCountLimit).
    """

    def __init__(self, settings: EwsSettings, mailbox: str, processed_folder: str = "Processed",
                 *, page_size: int = 100) -> None:
        if not settings.url:
            raise ValueError("A bounce mailbox over EWS needs the EWS endpoint URL")
        if settings.auth == "oauth":
            raise ValueError("A bounce mailbox over EWS needs a service account (basic or ntlm "
                             "auth); with OAuth each sender signs in and nobody reads it")
        if "@" not in mailbox or not processed_folder.strip() or page_size < 1:
            raise ValueError("A bounce mailbox needs an address, a folder name and a page size")
        self.settings = settings
        self.mailbox = mailbox.strip()
        self.processed_folder = processed_folder.strip()
        self.page_size = page_size
        self._connections: EwsConnections | None = None
        self._folder: BaseFolder | None = None  # the Processed folder, once found or made
        self._lock = threading.Lock()
        self._folder_lock = threading.Lock()  # held while the folder is looked for or made

    def fetch(self, limit: int = 100) -> list[MailItem]:
        """Up to `limit` messages in the Inbox, oldest first, with their MIME; raises
        DirectoryError."""
        if limit < 1:
            return []
        from exchangelib.errors import ErrorItemNotFound

        account = self._account()
        try:
            ids = account.inbox.all().order_by("datetime_received").only("id", "changekey")
            ids.page_size = min(self.page_size, limit)
            # exchangelib stops paging at max_items but hands out the whole last page: cut it.
            oldest = islice(ids[:limit], limit)
            found = list(account.fetch(ids=oldest, chunk_size=self.page_size, only_fields=[
                "mime_content", "subject", "datetime_received"]))
        except Exception as e:  # noqa: BLE001 - mapped to Rollcall's errors in one place
            raise self._mapped(e) from None
        items = []
        for item in found:
            if isinstance(item, ErrorItemNotFound):  # moved or deleted since FindItem saw it
                continue
            if isinstance(item, Exception):
                raise self._mapped(item)
            items.append(MailItem(id=item.id, changekey=item.changekey,
                                  received_at=_utc(item.datetime_received),
                                  subject=item.subject, mime=bytes(item.mime_content or b"")))
        return items

    def processed(self, items: Sequence[MailItem]) -> None:
        """Move the items to the Processed folder (found under the Inbox or the message root,
        made under the Inbox when missing). Items already gone are skipped; raises
        DirectoryError."""
        if not items:
            return
        from exchangelib.errors import ErrorFolderNotFound, ErrorItemNotFound, ErrorToFolderNotFound

        account = self._account()
        ids = [(i.id, i.changekey) for i in items]
        for attempt in (1, 2):
            try:
                results = account.bulk_move(ids=ids, to_folder=self._processed(account),
                                            chunk_size=self.page_size)
            except (ErrorToFolderNotFound, ErrorFolderNotFound) as e:
                # Someone deleted the folder since it was found: look again (made anew) once.
                with self._folder_lock:
                    self._folder = None
                if attempt == 2:
                    raise self._mapped(e) from None
                continue
            except Exception as e:  # noqa: BLE001 - mapped to Rollcall's errors in one place
                raise self._mapped(e) from None
            for result in results:
                # Moved by someone else (another reader, a person) already: that is done too.
                if isinstance(result, Exception) and not isinstance(result, ErrorItemNotFound):
                    raise self._mapped(result)
            return

    # -- private -----------------------------------------------------------------------------

    def _account(self) -> Account:
        with self._lock:
            if self._connections is None:
                from .client import EwsConnections

                # Two connections: one reader and a concurrent move at most.
                self._connections = EwsConnections(self.settings, connections=2)
            connections = self._connections
        return connections.account(self.mailbox)  # raises DirectoryError itself

    def _processed(self, account: Account) -> BaseFolder:
        """The Processed folder: cached, else found by name (any case, as Exchange compares
        folder names), else made under the Inbox; exchangelib errors propagate."""
        from exchangelib import Folder
        from exchangelib.errors import ErrorFolderExists
        from exchangelib.services import CreateFolder

        with self._folder_lock:
            if self._folder is not None:
                return self._folder
            inbox = account.inbox
            folder = self._find(inbox) or self._find(account.msg_folder_root)
            if folder is None:
                try:
                    folder = CreateFolder(account=account).get(
                        parent_folder=inbox, folders=[Folder(parent=inbox,
                                                             name=self.processed_folder)])
                except ErrorFolderExists:  # another reader made it a moment ago
                    folder = self._find(inbox)
                    if folder is None:
                        raise
            self._folder = folder
            return folder

    def _find(self, parent: BaseFolder) -> BaseFolder | None:
        """A direct child of `parent` named like the Processed folder (FindFolder, Shallow)."""
        from exchangelib.folders import SHALLOW, FolderCollection

        wanted = self.processed_folder.lower()
        children = FolderCollection(account=parent.account, folders=[parent]).find_folders(
            depth=SHALLOW)
        for child in children:
            if isinstance(child, Exception):
                raise child
            if (child.name or "").lower() == wanted:
                found: BaseFolder = child
                return found
        return None

    def _mapped(self, error: Exception) -> DirectoryError:
        from .errors import mapped

        return mapped(error, WHAT, self.settings.auth)


def _utc(value: Any) -> datetime | None:
    """exchangelib's EWSDateTime as a plain aware datetime in UTC."""
    if value is None:
        return None
    return datetime.fromtimestamp(value.timestamp(), tz=UTC)
