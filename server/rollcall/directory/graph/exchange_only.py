"""What only Exchange sees: dynamic distribution lists, and members of static lists that are no
Entra objects (a dynamic list or a public folder inside a list). Graph cannot list them
(groups-overview: dynamic distribution groups "can't be managed or retrieved through Microsoft
Graph"), so they come from Exchange Online's admin API where the tenant lets Rollcall's app in
(Exchange.ManageAsAppV2 and an RBAC role), else from MailTips' member count as an estimate that
leaves the count incomplete, never silently low.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import quote

from rollcall.core.model import DirectoryError, Entry, Expansion, NotFound

from .errors import graph_error
from .parse import exchange_member
from .tokens import TokenSource
from .transport import Figures, GraphTransport

log = logging.getLogger(__name__)

PAGE = 1000  # the admin API's page (ResultSize)
RETRY_CLOSED_S = 60.0  # an admin API that refused Rollcall is asked again after this
STORED = ("Exchange calculates this dynamic list's members about once a day: these are its "
          "members as Exchange last stored them, so people added or changed since may be missing.")


class ExchangeAdmin:
    """Exchange Online's admin API with Rollcall's own app token; remembers a refusal a while so
    every list does not ask again, and says whether it is open (Server information)."""

    def __init__(self, transport: GraphTransport, exchange_url: str, tenant: str,
                 app_token: TokenSource | None, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.transport = transport
        self.base = f"{exchange_url.rstrip('/')}/adminapi/v2.0/{quote(tenant)}"
        self.app_token = app_token
        self.clock = clock
        self.closed_until = 0.0
        self.last_refusal: str | None = None
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self.app_token is not None and self.clock() >= self.closed_until

    def members(self, cmdlet: str, address: str, what: str, figures: Figures,
                result_size: int = PAGE) -> list[Entry] | None:
        """Get-(Dynamic)DistributionGroupMember for one list, every page; None when the admin
        API is not open to Rollcall (then callers estimate); NotFound when Exchange has no
        such list of that kind."""
        if not self.open or self.app_token is None:
            return None
        body = {"CmdletInput": {"CmdletName": f"Get-{cmdlet}",
                                "Parameters": {"Identity": address, "ResultSize": result_size}}}
        url: str | None = f"{self.base}/{cmdlet}"
        found: list[Entry] = []
        while url:
            try:
                answer = self.transport.call("POST", url, self.app_token, what, figures,
                                             body=body,
                                             headers={"X-AnchorMailbox": f"UPN:{address}"})
            except DirectoryError as e:
                if e.code not in ("unauthorized", "unreachable"):
                    raise
                self._close(e.message)  # no app token for Exchange: estimate instead
                return None
            if answer.status in (401, 403):
                self._close(f"HTTP {answer.status}")
                return None
            if answer.status in (400, 404):
                raise NotFound(f"Exchange has no {cmdlet_words(cmdlet)} {address}",
                               detail=f"HTTP {answer.status}")
            if not answer.ok:
                raise graph_error(answer.status, answer.body, answer.headers, what)
            found.extend(exchange_member(item) for item in answer.body.get("value", ()))
            url = answer.body.get("@odata.nextLink") if result_size >= PAGE else None
        return found

    def _close(self, why: str) -> None:
        with self._lock:
            self.closed_until = self.clock() + RETRY_CLOSED_S
            self.last_refusal = why
        log.info("Exchange admin API not open to Rollcall (%s): estimating from MailTips", why)


def cmdlet_words(cmdlet: str) -> str:
    return "dynamic list" if cmdlet.startswith("Dynamic") else "distribution list"


class MailTips:
    """getMailTips as the acting sender: Exchange's own member counts (its group metrics,
    computed periodically, so an estimate) and whether it knows an address at all."""

    def __init__(self, transport: GraphTransport, path: str, token: TokenSource) -> None:
        self.transport = transport
        self.path = path
        self.token = token

    def member_counts(self, addresses: Sequence[str], figures: Figures
                      ) -> dict[str, int | None]:
        """address (lower-case) -> totalMemberCount, None where Exchange gave no count; an
        address Exchange does not know is left out."""
        what = "Exchange's member counts"
        answer = self.transport.call(
            "POST", f"/v1.0{self.path}/getMailTips", self.token, what, figures,
            body={"EmailAddresses": list(addresses), "MailTipsOptions": "totalMemberCount"})
        if not answer.ok:
            raise graph_error(answer.status, answer.body, answer.headers, what)
        counts: dict[str, int | None] = {}
        for tip in answer.body.get("value", ()):
            address = str((tip.get("emailAddress") or {}).get("address") or "").lower()
            if not address or tip.get("error"):
                continue
            total = tip.get("totalMemberCount")
            counts[address] = int(total) if isinstance(total, int) else None
        return counts


def estimated(entry: Entry, total: int | None, why: str) -> Expansion:
    """A list nobody could list: nobody counted, Exchange's count named, the count incomplete."""
    return Expansion((), complete=False, total_in_view=total, note=why, estimate=total)


def dynamic_members(entry: Entry, admin: ExchangeAdmin, tips: MailTips, figures: Figures
                    ) -> Expansion:
    """A dynamic distribution list's members: the admin API's stored list, else an estimate."""
    address = entry.address or ""
    what = f"the dynamic list {entry.name or address}"
    members = admin.members("DynamicDistributionGroupMember", address, what, figures)
    if members is not None:
        return Expansion(tuple(members), complete=True, total_in_view=len(members),
                         note=f"{entry.name or address}: {STORED}")
    counts = tips.member_counts([address], figures)
    return estimated(entry, counts.get(address.lower()), (
        f"{entry.name or address} is a dynamic list: Microsoft Graph cannot list its members "
        "and Exchange's admin API is not open to Rollcall, so nobody in it is counted or checked "
        "for duplicates."))


def exchange_only_members(entry: Entry, listed: Sequence[Entry], admin: ExchangeAdmin,
                          tips: MailTips, figures: Figures) -> tuple[list[Entry], int | None]:
    """Members of a static list that only Exchange sees, or Exchange's own count of the people
    it reaches for the report to check against (core/report.py: fewer means incomplete).

    With the admin API: Exchange's own direct members, those Graph did not list added (a
    dynamic list, a public folder), and nothing to check. Without it: MailTips' count.
    """
    address = entry.address or ""
    what = f"the list {entry.name or address}"
    exchange = admin.members("DistributionGroupMember", address, what, figures)
    if exchange is not None:
        seen = {(m.address or "").lower() for m in listed if m.address}
        return [m for m in exchange if m.address and m.address.lower() not in seen], None
    return [], tips.member_counts([address], figures).get(address.lower())
