"""How to reach Microsoft Graph (the configuration's `graph` section); no msal or O365 here, so
reading the configuration does not load them."""

from __future__ import annotations

from dataclasses import dataclass

GRAPH_URL = "https://graph.microsoft.com"
EXCHANGE_URL = "https://outlook.office365.com"  # the Exchange Online admin API's resource


@dataclass(frozen=True, slots=True)
class GraphSettings:
    """Rollcall's app registration in Entra ID and how it acts: on behalf of each caller (obo,
    the server's default) or as itself with client credentials (app: the CLI, the send worker)."""

    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    auth: str = "obo"  # or "app"
    url: str = GRAPH_URL  # national clouds: https://graph.microsoft.us, ...
    authority: str | None = None  # default Entra ID for the tenant; any OpenID authority
    ca_file: str | None = None  # Graph's and the authority's certificates from a private CA
    exchange_url: str = EXCHANGE_URL  # where the admin API lives (dynamic lists' members)
    timeout_s: float = 30.0  # per HTTP request; the count's own deadline is usually shorter

    @property
    def entra_authority(self) -> str:
        """The token authority: the configured one, else Entra ID's for the tenant."""
        return (self.authority or
                f"https://login.microsoftonline.com/{self.tenant_id}/v2.0").rstrip("/")


@dataclass(frozen=True, slots=True)
class DirectorySettings:
    """Which directory answers for the organisation: Exchange over EWS or Microsoft Graph."""

    kind: str = "ews"  # or "graph"
