"""The SMTP service's controls and Server information's SMTP section: who may do what.

Administrators stop, start and empty the queue, and pause, resume, cancel or retry any send;
a sender may pause or cancel their own send, and resume it unless an administrator paused it.
Every change is audited in the store with who, when and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..errors import BadRequest, RollcallError
from ..identity.errors import Forbidden
from ..store.access import Principal
from .bounce_rate import judge, limits
from .service import MAX_ID, SendNotFound
from .settings import SendSettings
from .smtp import parse_relay_url

MAX_REASON = 500


class NotNow(RollcallError):
    """The send is not in a state the control applies to (pausing a finished send)."""

    code = "send_state"
    status = 409


class NotSuppressed(RollcallError):
    code = "not_suppressed"
    status = 404


class SmtpControls:
    """Controls and the status section; every call names who asks."""

    def __init__(self, settings: SendSettings, engine: Callable[[], Any]) -> None:
        self.settings = settings
        self._engine = engine
        self._control: Any = None

    @property
    def control(self) -> Any:
        if self._control is None:
            from ..store.queue_control import QueueControl

            self._control = QueueControl(self._engine())
        return self._control

    # -- the section ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Server information's SMTP service section (the caller checked the admin role)."""
        from ..store.queue_status import QueueStatus

        now = datetime.now(UTC)
        view = QueueStatus(self._engine()).read(self.relay_labels(), self.settings.rate_per_hour,
                                                now)
        bounces = limits(self.settings)
        view = replace(view, sends=tuple(
            replace(a, summary=replace(a.summary, bounce_warning=judge(
                a.summary.counts, bounces).words)) for a in view.sends))
        return {"ok": True, **view.to_json(now)}

    def relay_labels(self) -> list[tuple[str, str]]:
        out = []
        for name, relay in self.settings.relays():
            host, port, _, _ = parse_relay_url(relay.url)
            out.append((name, f"{host}:{port}"))
        return out

    # -- the whole queue: administrators only ---------------------------------------------------

    def stop(self, who: Principal, reason: str | None) -> dict[str, Any]:
        require_admin(who)
        self.control.stop(who.name, _reason(reason))
        return self.status()

    def start(self, who: Principal, reason: str | None) -> dict[str, Any]:
        require_admin(who)
        self.control.start(who.name, _reason(reason))
        return self.status()

    def empty(self, who: Principal, reason: str | None, send_id: int | None = None) -> int:
        """Cancel what waits (queued, deferred), of one send or all: how many."""
        require_admin(who)
        if send_id is not None:
            self._send(send_id, who)
        cancelled: int = self.control.empty(who.name, _reason(reason), send_id)
        return cancelled

    # -- the suppression list: administrators only ---------------------------------------------

    def suppressions(self, who: Principal) -> list[dict[str, Any]]:
        require_admin(who)
        found: list[dict[str, Any]] = self.control.suppressions()
        return found

    def lift(self, who: Principal, address: Any, reason: str | None) -> None:
        """Let sends reach an address again (a hard bounce that was a passing fault)."""
        require_admin(who)
        if not isinstance(address, str) or "@" not in address:
            raise BadRequest("'address' must be the suppressed email address",
                             code="bad_address")
        if not self.control.lift(address.strip(), who.name, _reason(reason)):
            raise NotSuppressed(f"{address.strip()} is not on the suppression list")

    # -- one send ----------------------------------------------------------------------------

    def pause(self, send_id: int, who: Principal, reason: str | None) -> None:
        send = self._send(send_id, who)
        self._going(send, "pause")
        if send.state == "paused":
            raise NotNow(f"Send {send_id} is already paused")
        self.control.pause(send_id, who.name, _reason(reason))

    def resume(self, send_id: int, who: Principal, reason: str | None) -> None:
        send = self._send(send_id, who)
        if send.state != "paused":
            raise NotNow(f"Send {send_id} is not paused" + (
                " (it was cancelled)" if send.state == "cancelled" else ""))
        by = (send.paused_by or "").lower()
        # What Rollcall paused itself (a bounce rate too high), its sender may resume.
        if not who.admin and by not in ((who.mailbox or "").lower(), "rollcall"):
            raise Forbidden(f"An administrator ({send.paused_by}) paused send {send_id}: only "
                            "an administrator can resume it")
        self.control.resume(send_id, who.name, _reason(reason))

    def cancel(self, send_id: int, who: Principal, reason: str | None) -> int:
        """Cancel the send and its waiting recipients: how many."""
        send = self._send(send_id, who)
        self._going(send, "cancel")
        cancelled: int = self.control.cancel(send_id, who.name, _reason(reason))
        return cancelled

    def retry(self, send_id: int, who: Principal, reason: str | None) -> int:
        """Deferred recipients due now, and those that failed by deferral queued again."""
        send = self._send(send_id, who)
        require_admin(who)
        if send.state == "cancelled":
            raise NotNow(f"Send {send_id} was cancelled: there is nothing to retry")
        retried: int = self.control.retry(send_id, who.name, _reason(reason))
        return retried

    def _send(self, send_id: int, who: Principal) -> Any:
        found = self.control.send(send_id) if 0 < send_id <= MAX_ID else None
        # Someone else's send is "not found": its existence is not theirs to learn.
        if found is None or (found.sender != (who.mailbox or "").lower() and not who.admin):
            raise SendNotFound(f"There is no send {send_id}" + ("" if who.admin
                                                                 else " of yours"))
        return found

    @staticmethod
    def _going(send: Any, verb: str) -> None:
        if send.state == "cancelled":
            raise NotNow(f"Send {send.id} was cancelled: there is nothing to {verb}")
        if send.finished:
            raise NotNow(f"Send {send.id} is done: there is nothing left to {verb}")


def require_admin(who: Principal) -> None:
    if not who.admin:
        raise Forbidden("This needs Rollcall's administrator role (Rollcall.Admin)")


def _reason(text: str | None) -> str | None:
    """Why, as the audit keeps it: one line, at most MAX_REASON characters."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise BadRequest("'reason' must be text", code="bad_reason")
    text = " ".join(text.split())
    if len(text) > MAX_REASON:
        raise BadRequest(f"'reason' is longer than {MAX_REASON} characters", code="bad_reason")
    return text or None
