"""How EWS failures become Rollcall's directory errors, with the waits Exchange asked for.

exchangelib's FailFast policy raises at once; the count engine decides about back-off against
its deadline, so every failure must say whether (and after how long) a retry makes sense.
"""

from __future__ import annotations

import re

import requests
from exchangelib import errors as ews_errors
from exchangelib.protocol import FailFast
from oauthlib.oauth2 import TokenExpiredError

from rollcall.core.model import DirectoryError, NotFound, Throttled

RECONNECT_AFTER_S = 0.5  # a dropped connection is usually one bad socket: try once more soon


class FailFastWithRetryAfter(FailFast):
    """FailFast, but a 503's Retry-After travels with the error (as FaultTolerance passes it),
    so the count engine can decide whether that wait fits its deadline."""

    def raise_response_errors(self, response: requests.Response) -> None:
        try:
            super().raise_response_errors(response)
        except (ews_errors.ErrorInternalServerTransientError, ews_errors.ErrorServerBusy) as e:
            busy = ews_errors.ErrorServerBusy(e.args[0], back_off=_retry_after(response))
            busy.http_status = response.status_code  # type: ignore[attr-defined]
            raise busy from None
        except ews_errors.UnauthorizedError as e:
            # A refused bearer token says why in its challenge (RFC 6750): keep the reason.
            reason = _bearer_error(response.headers.get("WWW-Authenticate", ""))
            if not reason:
                raise
            refused = ews_errors.UnauthorizedError(f"{e}: {reason}")
            refused.reason = reason  # type: ignore[attr-defined]  # Exchange's own words
            raise refused from None


def _bearer_error(challenge: str) -> str:
    """The challenge's error_description, as people may read it: Exchange Online's names the
    request URL ("request url is 'https://mail.corp.example/EWS/Exchange.asmx'"), which is
    Exchange's own address and no business of a sender's."""
    found = re.search(r'error_description="([^"]*)"', challenge)
    return _without_addresses(found.group(1))[:300] if found else ""


# URLs, and host=/port= as urllib3 writes them: where Exchange lives stays in the server's log.
_ADDRESSES = ((re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]*", re.IGNORECASE), "(a URL)"),
              (re.compile(r"\b(host|port)=('[^']*'|\"[^\"]*\"|[^\s,)]+)"), r"\1=..."))


def _without_addresses(text: str) -> str:
    for pattern, replacement in _ADDRESSES:
        text = pattern.sub(replacement, text)
    return "".join(c if c.isprintable() else " " for c in text).strip()


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


_NOT_FOUND = {"ErrorNameResolutionNoResults", "ErrorItemNotFound", "ErrorInvalidIdMalformed"}
_DENIED = {"ErrorAccessDenied", "ErrorImpersonateUserDenied", "ErrorNonExistentMailbox"}
# exchangelib's service classes name `what` in the adapter: said in words here.
_OPERATIONS = {"_ResolveOne": "a name lookup", "_ExpandOne": "a list expansion",
               "_MailTipsOne": "a recipient check"}


def response_error(code: str | None, what: str) -> DirectoryError:
    """A response message's ResponseCode (other than NoError) as Rollcall's error: the same
    codes mean the same whichever operation answered them, and whether exchangelib raised
    them (`mapped`) or Rollcall read them from the XML."""
    what = _OPERATIONS.get(what, what)
    if code in _NOT_FOUND:
        return NotFound(f"Exchange does not know {what}", detail=code)
    if code in _DENIED:
        return DirectoryError("access_denied", f"Exchange denied access to {what}", detail=code)
    return DirectoryError("ews_error", f"Exchange answered {what} with an error", detail=code)


def mapped(error: Exception, what: str, auth: str = "basic") -> DirectoryError:
    """exchangelib's and requests' exceptions as Rollcall's directory errors; `auth` (basic,
    ntlm, oauth) says which settings a refusal points at. Messages are plain words; the
    exception itself travels as `cause`, for the server's log."""
    if isinstance(error, DirectoryError):
        return error
    what = _OPERATIONS.get(what, what)
    # exchangelib wraps a busy answer to its version probe in a TransportError: still busy.
    busy = _in_chain(error, ews_errors.ErrorServerBusy)
    if isinstance(busy, ews_errors.ErrorServerBusy):
        status = getattr(busy, "http_status", None)
        return Throttled("Exchange is busy and asked Rollcall to wait", back_off=busy.back_off,
                         detail=f"HTTP {status}" if status else "ErrorServerBusy", cause=error)
    if isinstance(error, (ews_errors.ErrorNameResolutionNoResults, ews_errors.ErrorItemNotFound)):
        return NotFound(f"Exchange does not know {what}", detail=type(error).__name__)
    if isinstance(error, (ews_errors.ErrorAccessDenied, ews_errors.ErrorImpersonateUserDenied,
                          ews_errors.ErrorNonExistentMailbox)):
        return DirectoryError("access_denied", f"Exchange denied access to {what}",
                              detail=type(error).__name__, cause=error)
    if isinstance(error, TokenExpiredError):
        # exchangelib has opened a new session with the newest token: retry at once.
        return DirectoryError("token_expired", "The Exchange token expired", back_off=0.0,
                              detail="token expired", cause=error)
    if isinstance(error, ews_errors.UnauthorizedError):
        if auth == "oauth":
            why = getattr(error, "reason", "")
            return DirectoryError("unauthorized", "Exchange refused the sign-in token"
                                  + (f" ({why})" if why else "") + ": check "
                                  "ROLLCALL_EWS_OAUTH_SCOPE and the app's EWS.AccessAsUser.All "
                                  "permission and consent", detail="HTTP 401", cause=error)
        return DirectoryError("unauthorized", "Exchange rejected Rollcall's credentials: check "
                              "ROLLCALL_EWS_USERNAME and ROLLCALL_EWS_PASSWORD",
                              detail="HTTP 401", cause=error)
    if isinstance(error, (ews_errors.TransportError, requests.RequestException, OSError)):
        # Retried by the engine while the deadline allows; a server that stays away makes the
        # count incomplete rather than failing it at the first dropped connection.
        return DirectoryError("unreachable", "Exchange could not be reached",
                              back_off=RECONNECT_AFTER_S, detail=transport_detail(error),
                              cause=error)
    return DirectoryError("ews_error", f"Exchange answered {what} with an error",
                          detail=type(error).__name__, cause=error)


def _in_chain(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of `kind` in the error's cause/context chain (itself included)."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def transport_detail(error: BaseException) -> str:
    """What went wrong on the wire, in a few words: the chain's most telling exception."""
    chain: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(f"{type(e).__name__} {e}" for e in chain)
    # The most telling first: exchangelib wraps every failure of its version probe in
    # ErrorTimeoutExpired, so "Timeout" comes after the failures it may wrap.
    for needle, words in (("RemoteDisconnected", "connection dropped"),
                          ("Connection aborted", "connection dropped"),
                          ("ConnectionRefused", "connection refused"),
                          ("Connection refused", "connection refused"),
                          ("NameResolution", "host name not found"),
                          ("getaddrinfo", "host name not found"),
                          ("Name or service not known", "host name not found"),
                          ("Timeout", "no answer in time"), ("timed out", "no answer in time"),
                          ("SSL", "TLS handshake failed"), ("CERTIFICATE", "TLS handshake failed")):
        if needle in text:
            return words
    return "connection failed"
