"""Exchange Online through Microsoft Graph as the organisation's directory: connected on first
need, shared by every count and by Server information."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from rollcall.core.entries import internal_domains as default_domains
from rollcall.core.model import Directory, DirectoryError
from rollcall.errors import NotConfigured

from .permissions import permissions_report
from .settings import GraphSettings

if TYPE_CHECKING:
    from rollcall.identity.on_behalf_of import OnBehalfOf

    from .directory import GroupIds
    from .exchange_only import ExchangeAdmin
    from .tokens import AppTokens, TokenSource
    from .transport import GraphTransport

VERSION = "Microsoft Graph v1.0"


class GraphOrganisation:
    """The Organisation seam over Graph; msal and O365 are loaded only when first needed.

    With `auth="obo"` each count acts as its caller (`user_tokens(mailbox)`, on behalf of);
    with `auth="app"` Rollcall's own token acts for the mailbox a count names, else `mailbox`
    (ROLLCALL_MAILBOX). The admin API is always asked with Rollcall's own token: dynamic lists'
    members are the organisation's, and ordinary senders hold no Exchange admin role.
    """

    kind = "graph"

    def __init__(self, settings: GraphSettings, *, missing: Sequence[str] = (),
                 problem: str | None = None, connections: int = 8,
                 internal_domains: Sequence[str] = (), mailbox: str | None = None,
                 user_tokens: OnBehalfOf | None = None) -> None:
        self.settings = settings
        self.auth = settings.auth
        self._missing = list(missing)
        self._problem = problem
        self._connections = connections
        self._internal_domains = tuple(internal_domains)
        self._mailbox = mailbox
        self._user_tokens = user_tokens
        self._parts: tuple[GraphTransport, AppTokens, ExchangeAdmin, GroupIds] | None = None
        self._asked = False
        self._lock = threading.Lock()

    def missing(self) -> list[str]:
        return list(self._missing)

    def parts(self) -> tuple[GraphTransport, AppTokens, ExchangeAdmin, GroupIds]:
        """The connection and token sources, made on first use; NotConfigured naming a setting."""
        with self._lock:
            if self._parts is None:
                if self._problem:
                    raise NotConfigured(self._problem)
                from .directory import GroupIds
                from .exchange_only import ExchangeAdmin
                from .tokens import AppTokens
                from .transport import GraphTransport

                transport = GraphTransport(self.settings, self._connections)
                app = AppTokens(self.settings)
                exchange = self.settings.exchange_url
                admin = ExchangeAdmin(transport, exchange, self.tenant(),
                                      lambda renew: app.token(exchange, renew))
                self._parts = (transport, app, admin, GroupIds())
            return self._parts

    def tenant(self) -> str:
        """The tenant id: configured, else the authority's first path segment."""
        if self.settings.tenant_id:
            return self.settings.tenant_id
        path = urlsplit(self.settings.entra_authority).path.strip("/")
        return path.split("/")[0] if path else "common"

    def acting(self, mailbox: str | None) -> tuple[str, TokenSource]:
        """(Graph path for the sender, their token source) for a count acting as `mailbox`."""
        transport, app, _, _ = self.parts()
        if self.auth == "obo":
            if mailbox is None or self._user_tokens is None:
                raise DirectoryError("not_signed_in", "With ROLLCALL_GRAPH_AUTH=obo Rollcall "
                                     "reads Microsoft 365 only as a signed-in person")
            tokens, caller = self._user_tokens, mailbox

            def as_caller(renew: bool) -> str:
                if renew:
                    tokens.forget(caller)
                return tokens.token(caller).value

            return "/me", as_caller
        who = mailbox or self._mailbox
        if not who:
            raise NotConfigured("ROLLCALL_MAILBOX is not set: with ROLLCALL_GRAPH_AUTH=app "
                                "Rollcall acts for that mailbox (its contacts, its MailTips)")
        graph = self.settings.url
        return f"/users/{quote(who)}", lambda renew: app.token(graph, renew)

    def directory(self, mailbox: str | None) -> Directory:
        from .directory import GraphDirectory

        transport, _, admin, ids = self.parts()
        path, token = self.acting(mailbox)
        # The token first (msal and the on-behalf-of exchange keep it, so this is cheap when
        # warm): a refused secret or an unreachable authority is then said as what it is,
        # before any entry is looked up, rather than as every entry failing.
        token(False)
        self._asked = True
        return GraphDirectory(transport, path, token, admin, ids,
                              self.internal_domains(mailbox))

    def internal_domains(self, mailbox: str | None) -> tuple[str, ...]:
        """ROLLCALL_INTERNAL_DOMAINS, else the acting mailbox's domain."""
        return default_domains(self._internal_domains, mailbox or self._mailbox)

    def version(self) -> str | None:
        return VERSION if self._asked else None

    def probe(self, mailbox: str | None) -> str | None:
        """Read the acting sender's own entry now; raises what Graph raised."""
        from .errors import graph_error
        from .transport import Figures

        transport, _, _, _ = self.parts()
        path, token = self.acting(mailbox)
        answer = transport.call("GET", f"/v1.0{path}?$select=id,mail", token,
                                "your own entry", Figures())
        if not answer.ok:
            raise graph_error(answer.status, answer.body, answer.headers, "your own entry")
        self._asked = True
        return VERSION

    def details(self, mailbox: str | None) -> dict[str, Any]:
        """Server information's Graph part: endpoint, permissions granted against needed,
        what Graph cannot see here."""
        out: dict[str, Any] = {"endpoint": self.settings.url,
                               "exchange_admin_api": self.settings.exchange_url}
        try:
            transport, app, admin, _ = self.parts()
            _, token = self.acting(mailbox)
            exchange = self.settings.exchange_url
            out.update(permissions_report(lambda: token(False),
                                          lambda: app.token(exchange), self.auth, admin))
        except (DirectoryError, NotConfigured) as e:
            out["permissions_error"] = e.message
        return out
