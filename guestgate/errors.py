"""The exception tree. No HTTP here: `web/errors.py` maps each class to a status and code.

GuestgateError
├── ConfigError                 invalid configuration, raised at start
├── ValidationError             the caller sent bad data (code names the rule)
├── NotFound                    an id or name that does not exist (for this caller)
├── Conflict                    the request clashes with stored state
├── AuthenticationError         bad, missing or expired bearer token
├── PermissionDenied            a valid caller lacks the permission or policy allows it not
├── OAuthError                  a token-endpoint failure (RFC 6749 §5.2 shape)
├── Throttled                   too many requests; retry after `retry_after` seconds
└── Unavailable                 a dependency (database, mail, Graph) is down
"""

from __future__ import annotations


class GuestgateError(Exception):
    """Base of every error guestgate raises on purpose."""

    code = "InternalServerError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(GuestgateError):
    code = "InvalidConfiguration"


class ValidationError(GuestgateError):
    code = "Request_BadRequest"


class NotFound(GuestgateError):
    code = "Request_ResourceNotFound"


class Conflict(GuestgateError):
    code = "Conflict"


class AuthenticationError(GuestgateError):
    code = "InvalidAuthenticationToken"


class PermissionDenied(GuestgateError):
    code = "Authorization_RequestDenied"


class UnsupportedMediaType(GuestgateError):
    code = "UnsupportedMediaType"


class Throttled(GuestgateError):
    code = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class RequestTimeout(GuestgateError):
    """The client did not send its request body in time (a slow or stalled client)."""

    code = "RequestTimeout"


class Unavailable(GuestgateError):
    code = "ServiceUnavailable"


class OAuthError(GuestgateError):
    """An OAuth 2.0 error with Entra's AADSTS numbering for compatibility."""

    def __init__(
        self,
        error: str,
        aadsts: int,
        description: str,
        *,
        status: int = 400,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description, code=error)
        self.error = error
        self.aadsts = aadsts
        self.status = status
        self.retry_after = retry_after


class UpstreamError(GuestgateError):
    """Microsoft Graph did not give a usable answer; `status` is 502, 503 or 504."""

    code = "GraphUnavailable"

    def __init__(self, message: str, *, status: int, code: str, retry_after: int = 5) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after


class GraphRefused(GuestgateError):
    """Microsoft Graph refused the request for a reason that is the caller's: its status stays."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message, code=code)
        self.status = status
