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
            raise ews_errors.ErrorServerBusy(e.args[0], back_off=_retry_after(response)) from None
        except ews_errors.UnauthorizedError as e:
            # A refused bearer token says why in its challenge (RFC 6750): keep the reason.
            reason = _bearer_error(response.headers.get("WWW-Authenticate", ""))
            if not reason:
                raise
            raise ews_errors.UnauthorizedError(f"{e}: {reason}") from None


def _bearer_error(challenge: str) -> str:
    found = re.search(r'error_description="([^"]*)"', challenge)
    return found.group(1) if found else ""


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


_NOT_FOUND = {"ErrorNameResolutionNoResults", "ErrorItemNotFound", "ErrorInvalidIdMalformed"}
_DENIED = {"ErrorAccessDenied", "ErrorImpersonateUserDenied", "ErrorNonExistentMailbox"}


def response_error(code: str | None, what: str) -> DirectoryError:
    """A response message's ResponseCode (other than NoError) as Rollcall's error: the same
    codes mean the same whichever operation answered them, and whether exchangelib raised
    them (`mapped`) or Rollcall read them from the XML."""
    if code in _NOT_FOUND:
        return NotFound(f"Exchange does not know {what}")
    if code in _DENIED:
        return DirectoryError("access_denied", f"Exchange denied access to {what}")
    return DirectoryError("ews_error", f"Exchange answered {code} for {what}")


def mapped(error: Exception, what: str, auth: str = "basic") -> DirectoryError:
    """exchangelib's and requests' exceptions as Rollcall's directory errors; `auth` (basic,
    ntlm, oauth) says which settings a refusal points at."""
    if isinstance(error, DirectoryError):
        return error
    if isinstance(error, ews_errors.ErrorServerBusy):
        return Throttled(f"Exchange asked us to wait ({what})", back_off=error.back_off)
    if isinstance(error, (ews_errors.ErrorNameResolutionNoResults, ews_errors.ErrorItemNotFound)):
        return NotFound(f"Exchange does not know {what}")
    if isinstance(error, (ews_errors.ErrorAccessDenied, ews_errors.ErrorImpersonateUserDenied,
                          ews_errors.ErrorNonExistentMailbox)):
        return DirectoryError("access_denied", f"Exchange denied access to {what}: {error}")
    if isinstance(error, TokenExpiredError):
        # exchangelib has opened a new session with the newest token: retry at once.
        return DirectoryError("token_expired", f"The Exchange token expired ({what})",
                              back_off=0.0)
    if isinstance(error, ews_errors.UnauthorizedError):
        if auth == "oauth":
            return DirectoryError("unauthorized", f"Exchange refused the token ({error}): check "
                                  "ROLLCALL_EWS_OAUTH_SCOPE and the app's EWS.AccessAsUser.All "
                                  "permission and consent")
        return DirectoryError("unauthorized", "Exchange rejected Rollcall's credentials: check "
                              "ROLLCALL_EWS_USERNAME and ROLLCALL_EWS_PASSWORD")
    if isinstance(error, (ews_errors.TransportError, requests.RequestException, OSError)):
        # Retried by the engine while the deadline allows; a server that stays away makes the
        # count incomplete rather than failing it at the first dropped connection.
        return DirectoryError("unreachable", f"Exchange could not be reached ({what}): {error}",
                              back_off=RECONNECT_AFTER_S)
    return DirectoryError("ews_error", f"Exchange answered an error for {what}: {error}")
