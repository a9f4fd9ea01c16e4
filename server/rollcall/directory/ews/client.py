"""Exchange over EWS: exchangelib's transport, Rollcall's own reading of answers.

exchangelib sends every request (authentication, impersonation, version handling); its object
model is bypassed where it hides facts (ExpandDL's `IncludesLastItemInRange`) or costs too much
(about 56 us per member against about 1 us with lxml). Retries are not exchangelib's: its policy
is FailFast and the count engine decides about back-off against its deadline.

Two ways to act as a sender: a service account with the impersonation right (basic or NTLM, on
premises), or with `auth="oauth"` each sender's own Exchange token (`tokens`, the on-behalf-of
exchange in rollcall.identity), where Exchange itself enforces whose contact groups are read.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    Account,
    Build,
    Configuration,
    Credentials,
    Version,
)
from exchangelib.items import DistributionList
from exchangelib.properties import DLMailbox, ItemId, Member
from exchangelib.services import ExpandDL, GetMailTips, ResolveNames
from exchangelib.transport import OAUTH2
from exchangelib.util import add_xml_child, create_element
from lxml import etree

from rollcall.core.entries import clean_domains
from rollcall.core.entries import internal_domains as default_domains
from rollcall.core.model import DirectoryError, Entry, Expansion, Kind, NotFound, Resolution

from ..candidates import decide
from .auth import AccessToken, BearerCredentials, PrivateCA, forget
from .errors import RECONNECT_AFTER_S, FailFastWithRetryAfter, mapped, response_error
from .parse import (
    M,
    T,
    entry_from_fields,
    mailbox_entry,
    read_expansion,
    read_recipient_check,
)
from .settings import EwsSettings

log = logging.getLogger(__name__)

MAX_OAUTH_ACCOUNTS = 256  # senders whose connections stay open (each has its own token)


class EwsConnections:
    """One exchangelib Account per acting mailbox, built once and shared across counts.

    With `auth="oauth"`, `tokens(mailbox)` gives that person's Exchange token (raising
    DirectoryError when it cannot); each person then has connections of their own, so only the
    most recently used MAX_OAUTH_ACCOUNTS are kept open.
    """

    def __init__(self, settings: EwsSettings,
                 tokens: Callable[[str], AccessToken] | None = None, *, connections: int = 8,
                 internal_domains: Sequence[str] = ()) -> None:
        if settings.auth == "oauth" and tokens is None:
            raise ValueError("OAuth to EWS needs a source of the senders' tokens")
        if not settings.url:
            raise ValueError("EWS needs its endpoint URL")
        self.settings = settings
        self.tokens = tokens
        self.connections = connections  # HTTP connections per account: requests in flight
        self.internal_domains = tuple(internal_domains)  # as configured; see domains_for
        if settings.ca_file:
            PrivateCA.trust(settings.url, settings.ca_file)
        self._accounts: OrderedDict[str, Account] = OrderedDict()
        self._version: Version | None = None  # the first probe's answer serves later accounts
        self._lock = threading.Lock()

    @property
    def oauth(self) -> bool:
        return self.settings.auth == "oauth"

    def directory(self, mailbox: str | None) -> EwsDirectory:
        """The directory as `mailbox` sees it (its own Contacts); the service account's if None."""
        if mailbox is None and self.oauth:
            raise DirectoryError("not_signed_in", "With ROLLCALL_EWS_AUTH=oauth there is no "
                                 "service account: a count acts as a signed-in person")
        acting = mailbox or self.settings.username or ""
        return EwsDirectory(self.account(acting), self.settings, self.domains_for(acting))

    def domains_for(self, mailbox: str | None) -> tuple[str, ...]:
        """The organisation's domains for a count acting as `mailbox`: the configured ones, else
        that mailbox's and the service account's (an unknown address there is nobody's)."""
        return default_domains(self.internal_domains, mailbox, self.settings.username)

    def account(self, mailbox: str) -> Account:
        """The Account acting as `mailbox`, its server version known; raises DirectoryError."""
        key = mailbox.lower()
        token = self.tokens(key) if self.tokens is not None else None
        with self._lock:
            account = self._accounts.get(key)
            if account is None:
                account = self._build(key, token)
                try:
                    account.version  # noqa: B018 - the probe (ConvertId) unless a build is set
                except Exception as e:  # noqa: BLE001 - mapped to Rollcall's errors in one place
                    if self.oauth:  # this person's own pool (a service account's is shared)
                        forget(account)
                    raise mapped(e, "the version probe", self.settings.auth) from None
                self._version = self._version or account.version
                self._accounts[key] = account
                self._evict()
            elif token is not None:
                BearerCredentials.use(account, token)
            self._accounts.move_to_end(key)
            return account

    def _build(self, mailbox: str, token: AccessToken | None) -> Account:
        s = self.settings
        version = self._version
        if s.build:
            version = Version(build=Build(*(int(p) for p in s.build.split("."))))
        if token is not None:
            credentials: object = BearerCredentials(mailbox, token)
            auth_type = OAUTH2
        else:
            credentials = Credentials(s.username or "", s.password or "")
            auth_type = NTLM if s.auth == "ntlm" else BASIC
        config = Configuration(
            service_endpoint=s.url or "",
            credentials=credentials,
            auth_type=auth_type,
            retry_policy=FailFastWithRetryAfter(),
            max_connections=self.connections,
            version=version,
        )
        # Over OAuth the token is the sender's own; impersonation is a service account's.
        own = token is not None or mailbox == (s.username or "").lower()
        account = Account(mailbox, config=config, autodiscover=False,
                          access_type=DELEGATE if own else IMPERSONATION)
        account.protocol.TIMEOUT = s.timeout_s  # exchangelib's default waits 120 s
        # The wait exchangelib puts on a dropped connection (10 s by default) reaches the
        # engine as a back-off; a dropped socket deserves a quick second try instead.
        account.protocol.RETRY_WAIT = RECONNECT_AFTER_S
        return account

    def _evict(self) -> None:
        """Close the least recently used senders' connections beyond the bound (OAuth only:
        with a service account every Account shares one connection pool)."""
        while self.oauth and len(self._accounts) > MAX_OAUTH_ACCOUNTS:
            _, account = self._accounts.popitem(last=False)
            forget(account)

    def server_version(self) -> str | None:
        """The Exchange build as the server reported it, once anything was asked."""
        for account in list(self._accounts.values()):
            build = account.protocol.config.version and account.protocol.config.version.build
            if build:
                return str(build)
        return None


class EwsDirectory:
    """The Directory port over EWS for one acting mailbox; safe to call from several threads."""

    def __init__(self, account: Account, settings: EwsSettings,
                 internal_domains: Sequence[str] = ()) -> None:
        self.account = account
        self.settings = settings
        self._internal = clean_domains(internal_domains)

    # -- the port ----------------------------------------------------------------------------

    def resolve(self, name: str, address: str | None) -> Resolution:
        """ResolveNames for one recipient; SMTP addresses outside the directory are one-offs,
        inside it GetMailTips says whether a recipient hidden from address lists has them."""
        address = (address or "").strip()
        smtp = address if "@" in address and not address.startswith("/") else ""
        query = smtp or (address if address.startswith("/") else "") or name.strip()
        if not query:
            return Resolution(query="", entry=None, problem="unresolved")
        # ResolveNames never finds recipients hidden from address lists; Exchange still
        # delivers to them by address, and GetMailTips says so.
        return decide(query, self._resolve(query), smtp, name, self._internal,
                      self._recipient_check)

    def expand(self, entry: Entry) -> Expansion:
        """One level of a list: ExpandDL for public lists, GetItem for contact groups."""
        if entry.kind is Kind.CONTACT_GROUP and entry.item_id:
            return self._contact_group(entry)
        target = DLMailbox(
            email_address=entry.address,
            routing_type=entry.routing_type if entry.routing_type == "EX" else "SMTP",
            mailbox_type="PublicDL" if entry.kind is not Kind.GROUP else "GroupMailbox",
        )
        if entry.item_id:
            target = DLMailbox(item_id=ItemId(entry.item_id), mailbox_type="PrivateDL")
        svc = _ExpandOne(self.account)
        messages = self._send(svc, lambda: svc.get_payload(distribution_list=target))
        return read_expansion(messages[0], entry)

    def smtp_for_legacy_dn(self, legacy_dn: str) -> str | None:
        """ResolveNames on the DN: Exchange answers the owner's primary SMTP address."""
        for candidate in self._resolve(legacy_dn):
            if candidate.address and candidate.routing_type == "SMTP":
                return candidate.address
        return None

    # -- EWS calls ---------------------------------------------------------------------------

    def _resolve(self, query: str) -> list[Entry]:
        """Candidates for one name: one ResolveNames request with one entry, schema-valid."""
        svc = _ResolveOne(self.account, chunk_size=1)
        messages = self._send(svc, lambda: svc.get_payload([query], None, False, None, None))
        message = messages[0]
        code = message.findtext(f"{M}ResponseCode")
        if code == "ErrorNameResolutionNoResults":
            return []
        if code not in ("NoError", "ErrorNameResolutionMultipleResults"):
            raise response_error(code, f"the name {query!r}")
        return [mailbox_entry(r.find(f"{T}Mailbox")) for r in message.iter(f"{T}Resolution")]

    def _recipient_check(self, smtp: str, name: str) -> Entry | None:
        """GetMailTips' InvalidRecipient for one address: an Entry if Exchange delivers there."""
        svc = _MailTipsOne(self.account)
        sender = self.account.primary_smtp_address
        messages = self._send(svc, lambda: svc.get_payload([smtp], sender, _TIPS_REQUESTED))
        return read_recipient_check(messages[0], smtp, name)

    def _contact_group(self, entry: Entry) -> Expansion:
        """GetItem with Members: each member's Status (Demoted = its contact was deleted)."""
        try:
            [item] = list(self.account.fetch(ids=[ItemId(entry.item_id)],
                                             only_fields=["display_name", "members"]))
        except Exception as e:  # noqa: BLE001 - mapped to Rollcall's errors in one place
            raise mapped(e, f"contact group {entry.name!r}", self.settings.auth) from None
        if isinstance(item, Exception):
            raise mapped(item, f"contact group {entry.name!r}", self.settings.auth)
        if not isinstance(item, DistributionList):
            raise NotFound(f"{entry.name!r} is not a contact group")
        members = tuple(_member_entry(m) for m in item.members or ())
        return Expansion(members, complete=True, total_in_view=len(members))

    def _send(self, service: _AsAccount,
              payload: Callable[[], etree._Element]) -> list[etree._Element]:
        """The response messages of one request; EWS and transport errors mapped to ours."""
        try:
            return list(service._get_response_xml(payload=payload()))  # type: ignore[attr-defined]
        except Exception as e:  # noqa: BLE001 - mapped to Rollcall's errors in one place
            raise mapped(e, type(service).__name__, self.settings.auth) from None


class _AsAccount:
    """Directory services (ResolveNames, ExpandDL) sent as an Account, impersonation included.

    exchangelib sends these with the protocol alone, so an impersonating service account would
    resolve names in its own Contacts instead of the sender's.
    """

    def __init__(self, account: Account, **kwargs: object) -> None:
        self.account = account
        super().__init__(protocol=account.protocol, **kwargs)  # type: ignore[call-arg]

    @property
    def _account_to_impersonate(self) -> object:
        return self.account.identity if self.account.access_type == IMPERSONATION else None

    def _extra_headers(self) -> dict[str, str]:
        headers: dict[str, str] = super()._extra_headers()  # type: ignore[misc]
        headers["X-AnchorMailbox"] = self.account.primary_smtp_address
        return headers

    @classmethod
    def _get_soap_parts(cls, response: requests.Response) -> object:
        # exchangelib parses `response.iter_content()`, which requests yields one byte at a
        # time once the body is read: 44% of a large count's CPU (bench/). Hand it the bytes.
        return super()._get_soap_parts(response=_WholeBody(response))  # type: ignore[misc]


class _WholeBody:
    """A response whose `iter_content()` is its whole body, as exchangelib's to_xml likes."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response

    def iter_content(self) -> bytes:
        return self._response.content


class _ResolveOne(_AsAccount, ResolveNames):
    """ResolveNames with one UnresolvedEntry per request, as messages.xsd allows."""


class _ExpandOne(_AsAccount, ExpandDL):
    """ExpandDL as the acting mailbox: contact groups are only visible to their owner."""


# InvalidRecipient answers the question; TotalMemberCount tells a hidden list from a person.
_TIPS_REQUESTED = "TotalMemberCount InvalidRecipient"


class _MailTipsOne(_AsAccount, GetMailTips):
    """GetMailTips for one recipient, as messages.xsd has it:
    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getmailtips-operation

    exchangelib 5.6.0 writes SendingAs as t:Mailbox and leaves out m:MailTipsRequested; the
    schema wants m:SendingAs, m:Recipients, m:MailTipsRequested, in that order.
    """

    def get_payload(self, recipients: Sequence[str], sending_as: str,
                    mail_tips_requested: str) -> etree._Element:
        payload = create_element("m:GetMailTips")
        sender = create_element("m:SendingAs")
        add_xml_child(sender, "t:EmailAddress", sending_as)
        payload.append(sender)
        to = create_element("m:Recipients")
        for address in recipients:
            mailbox = create_element("t:Mailbox")
            add_xml_child(mailbox, "t:EmailAddress", address)
            to.append(mailbox)
        payload.append(to)
        add_xml_child(payload, "m:MailTipsRequested", mail_tips_requested)
        return payload


def _member_entry(member: Member) -> Entry:
    """A contact-group member; its Status says whether the contact behind it still exists."""
    mailbox = member.mailbox
    item_id = mailbox.item_id.id if mailbox.item_id else None
    return entry_from_fields(mailbox.name, mailbox.email_address, mailbox.routing_type,
                             mailbox.mailbox_type, item_id, member.status)
