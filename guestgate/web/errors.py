"""The one table from errors to HTTP, and the error bodies of each surface.

API errors carry GT365's `message` plus Graph's `error` object; the token endpoint answers in
OAuth's shape with Entra's AADSTS numbers. Expected 4xx are logged at info without a
traceback; anything unexpected is logged once, here, with one, and answered with a bare 500.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from guestgate import errors
from guestgate.logs import request_id_var

log = logging.getLogger("guestgate.web")

STATUS: dict[type[errors.GuestgateError], int] = {
    errors.PendingApproval: 202,
    errors.ValidationError: 400,
    errors.AuthenticationError: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.RequestTimeout: 408,
    errors.UnsupportedMediaType: 415,
    errors.Throttled: 429,
    errors.Unavailable: 503,
    errors.UpstreamFailed: 502,
    errors.UpstreamUnavailable: 503,
    errors.UpstreamTimeout: 504,
    errors.UnknownOutcome: 504,
}

# Framework-raised HTTP errors, with the code and sentence a caller sees.
HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("Request_BadRequest", "The request is malformed."),
    404: ("Request_ResourceNotFound", "There is no resource at this address."),
    405: ("MethodNotAllowed", "This method is not allowed on this resource."),
    413: ("RequestTooLarge", "The request body is larger than this endpoint accepts."),
    415: ("UnsupportedMediaType", "This endpoint accepts application/json only."),
}

JSON = "application/json"
OAUTH_PATHS = ("/oauth2/v2.0/token", "/.well-known/openid-configuration", "/discovery/v2.0/keys")


def _now() -> datetime:
    return datetime.now(UTC)


def api_error_body(code: str, message: str) -> dict[str, Any]:
    return {
        "message": message,
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "request-id": request_id_var.get() or str(uuid.uuid4()),
                "date": _now().strftime("%Y-%m-%dT%H:%M:%S"),
            },
        },
    }


def api_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        msgspec.json.encode(api_error_body(code, message)),
        status_code=status,
        media_type=JSON,
        headers=headers,
    )


def oauth_status(exc: errors.OAuthError) -> int:
    """RFC 6749 §5.2 as Entra answers it: 401 when the client failed to authenticate."""
    if exc.retry_after is not None:
        return 429
    return 401 if exc.client_failed else 400


def oauth_error(
    exc: errors.OAuthError, *, basic_auth: bool = False, status: int | None = None
) -> Response[bytes]:
    status = oauth_status(exc) if status is None else status
    request_id = request_id_var.get() or str(uuid.uuid4())
    now = _now()
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{exc.aadsts}: {exc.message} Trace ID: {request_id} Correlation ID:"
        f" {request_id} Timestamp: {stamp}"
    )
    body = {
        "error": exc.error,
        "error_description": description,
        "error_codes": [exc.aadsts],
        "timestamp": stamp,
        "trace_id": request_id,
        "correlation_id": request_id,
    }
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401 and basic_auth:
        headers["WWW-Authenticate"] = 'Basic realm="guestgate"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return Response(msgspec.json.encode(body), status_code=status, media_type=JSON, headers=headers)


def _is_oauth_path(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.endswith(OAUTH_PATHS)


def status_of(exc: errors.GuestgateError) -> int:
    """The HTTP status of an application error."""
    if isinstance(exc, errors.GraphRefused):
        return exc.graph_status
    if isinstance(exc, errors.OAuthError):
        return oauth_status(exc)
    return next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 500)


def handle_app_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if isinstance(exc, errors.OAuthError):
        log.info("oauth error", extra={"code": exc.error, "aadsts": exc.aadsts})
        return oauth_error(exc, basic_auth="authorization" in request.headers)
    assert isinstance(exc, errors.GuestgateError)
    if isinstance(exc, errors.PendingApproval):
        return Response(msgspec.json.encode(exc.to_json()), status_code=202, media_type=JSON)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    elif isinstance(exc, errors.PermissionDenied):
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    elif isinstance(exc, errors.Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, errors.Unavailable):
        headers["Retry-After"] = "5"
    elif isinstance(exc, errors.UpstreamError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.GraphRefused) and status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if status >= 500 and isinstance(exc, errors.UpstreamError):
        log.warning("Microsoft Graph failed", extra={"status": status, "code": exc.code})
        return api_error(status, exc.code, exc.message, headers)
    if status >= 500:
        log.error("request failed: %s", exc.code, exc_info=exc)
    else:
        log.info("request refused", extra={"status": status, "code": exc.code})
    if _is_oauth_path(request) and status < 500:
        return oauth_error(errors.OAuthError("invalid_request", 900144, exc.message))
    return api_error(status, exc.code, exc.message, headers)


def handle_http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code, message = HTTP_CODES.get(status, ("Request_BadRequest", "The request was refused."))
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    log.info("request refused", extra={"status": status, "code": code})
    if _is_oauth_path(request) and status < 500:
        error = "invalid_request"
        return oauth_error(errors.OAuthError(error, 900144, message), status=status)
    return api_error(status, code, message, headers)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("unexpected error", exc_info=exc)
    return api_error(500, "InternalServerError", "An unexpected error occurred; it was logged.")


EXCEPTION_HANDLERS = {
    errors.GuestgateError: handle_app_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}
