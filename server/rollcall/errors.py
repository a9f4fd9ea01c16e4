"""One error hierarchy: every API error answers {"error": {"code", "message"}} with its status."""

from __future__ import annotations


class RollcallError(Exception):
    """An error a caller can act on; `code` is stable (the pane switches on it), `status` HTTP."""

    code = "error"
    status = 500
    headers: dict[str, str] = {}  # sent with the answer (RFC 6750's WWW-Authenticate, say)

    def __init__(self, message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status

    def to_json(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(RollcallError):
    code = "bad_request"
    status = 400


class TooLarge(RollcallError):
    code = "too_many_recipients"
    status = 413


class NotConfigured(RollcallError):
    code = "not_configured"
    status = 503


class DirectoryUnavailable(RollcallError):
    """The organisation's directory could not be asked at all (unreachable, credentials
    refused). The codes keep saying "exchange": Exchange is behind every directory adapter."""

    code = "exchange_unreachable"
    status = 502


class ExchangeBusy(DirectoryUnavailable):
    """Exchange is throttling Rollcall past what a count can wait; `retry_after` seconds, when
    Exchange named a wait, travel as the Retry-After header."""

    code = "exchange_busy"
    status = 503

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else {}
