"""Bearer-token authentication and permission checks for every protected route.

A route declares what it needs next to its path: ``opt={"permission": INVITE}`` (or None for
any valid token of the tenant) and ``guards=[authorize]``.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from guestgate.adapters.tokens import Caller
from guestgate.domain.apps import grants
from guestgate.errors import AuthenticationError, PermissionDenied
from guestgate.runtime import Runtime


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    runtime: Runtime = connection.app.state.runtime
    return runtime


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    values = connection.headers.getall("authorization", [])
    if not values:
        raise AuthenticationError("Access token is empty: send Authorization: Bearer <token>.")
    if len(values) > 1:
        raise AuthenticationError("Send exactly one Authorization header.")
    scheme, _, token = values[0].partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthenticationError("The Authorization header must be 'Bearer <token>'.")
    return token


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: validate the token, then check the route's permission."""
    verifier = runtime_of(connection).verifier
    token = bearer_token(connection)
    caller = await verifier.verify(token)
    permission = handler.opt.get("permission")
    # Forwarding the caller's token to Graph: Graph decides what the token may do.
    if verifier.enforces_roles and permission is not None and not grants(caller.roles, permission):
        raise PermissionDenied(
            f"Insufficient privileges to complete the operation: the app needs {permission}."
        )
    connection.state.caller = caller
    connection.state.bearer = token


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    caller: Caller = connection.state.caller
    return caller
