"""The OData V4 feed Power BI's `OData.Feed` reads: `/odata/` (docs/powerbi.md).

Every route needs AuditLog.Read.All, from an app's bearer token or, as Power BI can store
and send it, the app id and a client secret over HTTP Basic. The tenant is always the
caller's: no part of the URL names one. OData's own $metadata describes the feed, so the
routes stay out of the OpenAPI document.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler

from guestgate import errors
from guestgate.adapters.tokens import Caller
from guestgate.domain.apps import READ_AUDIT, grants
from guestgate.domain.odata_feed import (
    DEFAULT_PAGE,
    ENTITY_SETS,
    FeedQuery,
    bad_request,
    metadata_document,
    parse_query,
    preferred_page_size,
    select_text,
    shape,
)
from guestgate.domain.paging import decode_cursor, encode_cursor
from guestgate.logs import request_id_var
from guestgate.services import odata_feed
from guestgate.web.auth import authorize, caller_of, runtime_of
from guestgate.web.errors import HTTP_CODES, status_of
from guestgate.web.oidc_token import client_checks
from guestgate.web.routes import get

log = logging.getLogger("guestgate.web")

ROOT = "/odata"
ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8"
MAX_QUERY = 8192
BASIC_CHALLENGE = 'Basic realm="guestgate", charset="UTF-8"'


def feed_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """An OData JSON error body; a 401 asks for Basic unless a bearer token was sent."""
    headers = {"OData-Version": "4.0"}
    if isinstance(exc, errors.GuestgateError):
        status, code, message = status_of(exc), exc.code, exc.message
        if isinstance(exc, errors.Throttled):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        code, message = HTTP_CODES.get(status, ("BadRequest", "The request was refused."))
        headers.update({k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"})
    else:
        status, code, message = 500, "InternalServerError", "An unexpected error occurred."
    if status >= 500:
        log.error("odata feed failed", exc_info=exc)
    else:
        log.info("request refused", extra={"status": status, "code": code})
    if status == 401:
        bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if bearer else BASIC_CHALLENGE
    elif status == 403 and request.headers.get("authorization", "").lower().startswith("bearer"):
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    body = {
        "error": {
            "code": code,
            "message": message,
            "innererror": {"request-id": request_id_var.get() or ""},
        }
    }
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _basic(value: str) -> tuple[str, str]:
    refused = errors.AuthenticationError(
        "Malformed Basic credentials: send base64 of '<app id>:<client secret>'.",
        code="InvalidAuthenticationToken",
    )
    encoded = value.partition(" ")[2].strip()
    if not encoded or len(encoded) > 1024:
        raise refused
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise refused from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        raise refused
    return client_id, secret


async def feed_authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: a bearer token as on every route, or the app's id and secret over Basic."""
    values = connection.headers.getall("authorization", [])
    if not values:
        raise errors.AuthenticationError(
            "Sign in: send the app id and a client secret over HTTP Basic, or an access token"
            " as Authorization: Bearer <token>.",
            code="InvalidAuthenticationToken",
        )
    if len(values) != 1 or not values[0].lower().startswith("basic "):
        await authorize(connection, handler)
        return
    runtime = runtime_of(connection)
    client_id, secret = _basic(values[0])
    address = connection.client.host if connection.client else ""
    # The token endpoint's limits: guessing here or there counts against the same budget.
    checks = client_checks(runtime, client_id, address)
    wait = await runtime.throttles.retry_after(*checks)
    if wait is not None:
        raise errors.Throttled(
            "Too many failed sign-ins from this address; try again later.", retry_after=wait
        )
    try:
        app = await odata_feed.authenticate_app(
            runtime.uow(write=False),
            client_id=client_id,
            client_secret=secret,
            hash_key=runtime.hash_key,
            now=runtime.now(),
        )
    except errors.AuthenticationError:
        await runtime.throttles.failed(*checks)
        raise
    if not grants(app.permissions, READ_AUDIT):
        raise errors.PermissionDenied(
            f"Insufficient privileges to complete the operation: the app needs {READ_AUDIT}."
        )
    connection.state.caller = Caller(
        tenant_id=app.tenant_id,
        app_id=app.id,
        object_id=app.object_id,
        roles=frozenset(app.permissions),
        expires_at=0.0,
        kid="",
    )


FEED_ROUTE: dict[str, Any] = {
    "guards": [feed_authorize],
    "opt": {"permission": READ_AUDIT},
    # Every key the app's table has, so these win over its (non-OData) error bodies.
    "exception_handlers": {
        errors.GuestgateError: feed_error,
        HTTPException: feed_error,
        Exception: feed_error,
    },
    "include_in_schema": False,
}


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"OData-Version": "4.0", "Cache-Control": "no-store", **(extra or {})}


def _json(body: dict[str, Any], extra: dict[str, str] | None = None) -> Response[bytes]:
    return Response(msgspec.json.encode(body), media_type=ODATA_JSON, headers=_headers(extra))


def _options(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The query options, from the raw query ('+' is a space); nothing else is accepted, so a
    secret put in the query string is refused, never read."""
    raw = request.scope["query_string"]
    if len(raw) > MAX_QUERY:
        raise bad_request(f"The query string is longer than {MAX_QUERY} bytes.")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The query string is invalid.") from None
    options: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("$"):
            raise bad_request(
                f"The query parameter '{name[:40]}' is not supported: credentials go in the"
                " Authorization header."
            )
        if name in options:
            raise bad_request(f"The query option '{name[:40]}' appears twice.")
        options[name] = value
    return options


def _entity_set(name: str) -> Any:
    found = ENTITY_SETS.get(name)
    if found is None:
        raise errors.NotFound(
            f"There is no entity set '{name[:80]}'; the feed has {', '.join(ENTITY_SETS)}.",
            code="ResourceNotFound",
        )
    return found


def _query(request: Request[Any, Any, Any], name: str) -> tuple[FeedQuery, dict[str, str], str]:
    """The validated query, its options, and the scope its paging tokens are valid for."""
    entity_set = _entity_set(name)
    options = _options(request)
    size = preferred_page_size(request.headers.get("prefer"))
    query = parse_query(entity_set, options, page_size=size or DEFAULT_PAGE)
    tenant = caller_of(request).tenant_id
    scope = f"odata|{tenant}|{entity_set.name}|{options.get('$filter', '')}"
    if "$skiptoken" in options:
        after = decode_cursor(runtime_of(request).cursor_key, scope, options["$skiptoken"])
        query = replace(query, after=after)
    return query, options, scope


@get(ROOT, **FEED_ROUTE)
async def service_document(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The OData service document: the feed's entity sets."""
    base = runtime_of(request).settings.http.public_url
    return _json(
        {
            "@odata.context": f"{base}{ROOT}/$metadata",
            "value": [{"name": name, "kind": "EntitySet", "url": name} for name in ENTITY_SETS],
        }
    )


@get(f"{ROOT}/$metadata", **FEED_ROUTE)
async def metadata(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The feed's CSDL XML: the entity types, their Content types and the entity sets."""
    _options(request)
    return Response(
        metadata_document().encode(),
        media_type="application/xml;charset=utf-8",
        headers=_headers(),
    )


@get(ROOT + "/{name:str}", **FEED_ROUTE)
async def entity_set(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    """One page of an entity set, server-paged with @odata.nextLink."""
    runtime = runtime_of(request)
    query, options, scope = _query(request, name)
    rows, total = await odata_feed.read_page(
        runtime.uow(write=False), tenant_id=caller_of(request).tenant_id, query=query
    )
    base = runtime.settings.http.public_url
    body: dict[str, Any] = {
        "@odata.context": f"{base}{ROOT}/$metadata#{query.entity_set.name}"
        + select_text(query.select)
    }
    if total is not None:
        body["@odata.count"] = total
    page = rows[: query.limit]
    body["value"] = [shape(row, query.select) for row in page]
    wanted = None if query.top is None else query.top - len(page)
    if len(rows) > query.limit and query.limit > 0 and wanted != 0:
        following = {k: v for k, v in options.items() if k not in ("$skip", "$skiptoken")}
        if wanted is not None:
            following["$top"] = str(wanted)
        following["$skiptoken"] = encode_cursor(runtime.cursor_key, scope, page[-1].position)
        link = urlencode(following, quote_via=quote)
        body["@odata.nextLink"] = f"{base}{ROOT}/{query.entity_set.name}?{link}"
    applied = preferred_page_size(request.headers.get("prefer"))
    extra = {"Preference-Applied": f"odata.maxpagesize={applied}"} if applied else None
    return _json(body, extra)


@get(ROOT + "/{name:str}/$count", **FEED_ROUTE)
async def count(request: Request[Any, Any, Any], name: str) -> Response[str]:
    """How many rows of the entity set match $filter, as plain text."""
    query, _, _ = _query(request, name)
    total = await odata_feed.count(
        runtime_of(request).uow(write=False), tenant_id=caller_of(request).tenant_id, query=query
    )
    return Response(str(total), media_type="text/plain", headers=_headers())


ROUTES = [service_document, metadata, entity_set, count]
