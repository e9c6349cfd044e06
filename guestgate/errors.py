"""The exception tree. No HTTP here: `web/errors.py` maps each class to a status and code.

GuestgateError
├── ConfigError                 invalid configuration, raised at start
├── ValidationError             the caller sent bad data (code names the rule)
│   └── InvalidTenantSettings   the console's tenant form: each bad field with its message
├── NotFound                    an id or name that does not exist (for this caller)
├── Conflict                    the request clashes with stored state
├── Gone                        what was asked for is no longer kept (retention)
├── AuthenticationError         bad, missing or expired bearer token
├── PermissionDenied            a valid caller lacks the permission or policy allows it not
├── UnsupportedMediaType        the body is not in a format the endpoint takes
├── RequestTimeout              the client did not send its body in time
├── Throttled                   too many requests; retry after `retry_after` seconds
├── Unavailable                 a dependency (the database, say) is down
├── OAuthError                  a token-endpoint failure (RFC 6749 §5.2 shape)
├── RedemptionError             a step of redeeming an invitation cannot go on (`reason`)
├── SignInPageError             a sign-in request that cannot redirect safely: a page says why
├── SignInRedirectError         a sign-in error the app hears at its (checked) redirect URI
├── UpstreamError               Microsoft Graph or Entra gave no usable answer
│   ├── UpstreamFailed          it answered with a server error or nonsense
│   ├── UpstreamUnavailable     it could not be reached, or said it is unavailable
│   └── UpstreamTimeout         it did not answer in time
├── UnknownOutcome              a call to Graph got no answer: it may have taken effect
├── GraphRefused                Graph refused the request for a reason that is the caller's
└── PendingApproval             not an error: the invitation waits for an approver (202)

Internal signals between an adapter and its caller, never shown to a client:
DeliveryError                   a message was not delivered (`permanent`: do not retry)
IntegrityError                  a unique or foreign-key constraint refused a write
ApprovalRequired                the gate holds an invitation for an approver (`days` open)
JobStopped                      a bulk row's mark was refused: the job was cancelled or moved
HeadersTooLarge                 a request's target or headers passed their limit (414/431)
ProtocolError                   a webhook receiver's answer is not HTTP/1.x
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


class PendingApproval(GuestgateError):
    """The invitation was held for an approver (docs/governance.md, Approval): nothing was
    sent; the caller is answered 202 with the request's id and where to follow it."""

    code = "PendingApproval"

    def __init__(self, *, request_id: str, status_url: str) -> None:
        super().__init__(
            f"This invitation waits for an approver: request {request_id}, state at {status_url}."
        )
        self.request_id = request_id
        self.status_url = status_url

    def to_json(self) -> dict[str, str]:
        return {"requestId": self.request_id, "status": self.code, "statusUrl": self.status_url}


class ValidationError(GuestgateError):
    code = "Request_BadRequest"


class NotFound(GuestgateError):
    code = "Request_ResourceNotFound"


class Conflict(GuestgateError):
    code = "Conflict"


class Gone(GuestgateError):
    code = "Gone"


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
    """An OAuth 2.0 error (RFC 6749 §5.2) with Entra's AADSTS numbering for compatibility.

    `retry_after` is set when the client is throttled and should wait that many seconds.
    """

    CLIENT_AUTHENTICATION = frozenset({"invalid_client", "unauthorized_client"})

    def __init__(
        self, error: str, aadsts: int, description: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(description, code=error)
        self.error = error
        self.aadsts = aadsts
        self.retry_after = retry_after

    @property
    def client_failed(self) -> bool:
        """The client could not prove who it is (unknown app, wrong or expired secret)."""
        return self.error in self.CLIENT_AUTHENTICATION


class UpstreamError(GuestgateError):
    """Microsoft Graph (or Entra) did not give a usable answer; retry after `retry_after` s."""

    code = "GraphUnavailable"

    def __init__(self, message: str, *, code: str, retry_after: int = 5) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class UpstreamFailed(UpstreamError):
    """It answered, but with a server error or an answer that makes no sense."""


class UpstreamUnavailable(UpstreamError):
    """It could not be reached, or said it is unavailable."""


class UpstreamTimeout(UpstreamError):
    """It did not answer in time."""


class UnknownOutcome(GuestgateError):
    """A request to Microsoft Graph was sent but no answer came: it may or may not have taken
    effect. Never shown to a client: the graph directory looks before it sends again."""

    code = "GraphTimeout"


class GraphRefused(GuestgateError):
    """Microsoft Graph refused the request for a reason that is the caller's; the caller sees
    Graph's own status (`graph_status`, a 4xx) and code."""

    def __init__(self, message: str, *, graph_status: int, code: str) -> None:
        super().__init__(message, code=code)
        self.graph_status = graph_status


class RedemptionError(GuestgateError):
    """A step of redemption that cannot go on; `reason` picks the page the guest sees."""

    def __init__(self, reason: str, message: str, *, attempts_left: int | None = None) -> None:
        super().__init__(message, code=reason)
        self.reason = reason
        self.attempts_left = attempts_left


class DeliveryError(Exception):
    """A message was not delivered. `permanent` ones are not retried."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class IntegrityError(Exception):
    """A unique or foreign-key constraint refused a write."""


class SignInPageError(GuestgateError):
    """The sign-in request cannot be trusted to redirect anywhere: show `message` on a page."""

    code = "invalid_request"


class SignInRedirectError(GuestgateError):
    """An error the app hears about at its (already checked) redirect URI, as OAuth's
    `error` and `error_description`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description, code=error)
        self.error = error
        self.description = description


class InvalidTenantSettings(ValidationError):
    """The console's tenant form: its bad fields, each with its message; nothing was stored."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(" ".join(fields.values()), code="InvalidTenantSettings")
        self.fields = fields


class JobStopped(Exception):
    """A bulk row's mark was refused: the job was cancelled, or another worker holds it now."""


class HeadersTooLarge(Exception):
    """Stops httptools; the protocol then answers 414 or 431 (web/protocol.py)."""


class ProtocolError(Exception):
    """A webhook receiver's answer is not HTTP/1.x as it must be."""


class ApprovalRequired(Exception):
    """The gate's answer for an invitation the policy holds for an approver; the invitation
    service turns it into a stored request and PendingApproval."""

    def __init__(self, days: int) -> None:
        super().__init__("approval required")
        self.days = days  # how long the request stays open
