"""The client-credentials grant: check the app and its secret, mint an access token."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from guestgate.domain.apps import hash_secret
from guestgate.domain.signing import KeySet, app_token_claims, sign
from guestgate.domain.tenants import Tenant, is_guid
from guestgate.domain.timestamps import iso
from guestgate.errors import OAuthError
from guestgate.services.ports import UnitOfWork
from guestgate.services.tenants import find_tenant

GRAPH = "https://graph.microsoft.com"
GUESTGATE_API = "api://guestgate"
# Resources a client may ask a token for, by the names Entra accepts for them.
RESOURCES: Mapping[str, str] = {
    GRAPH: GRAPH,
    "00000003-0000-0000-c000-000000000000": GRAPH,
    GUESTGATE_API: GUESTGATE_API,
}
RESERVED_TENANTS = frozenset({"common", "organizations", "consumers"})
_DUMMY_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


def parse_scope(scope: str | None) -> str:
    """The resource named by a client-credentials scope (``<resource>/.default``)."""
    if not scope or not scope.strip():
        raise OAuthError(
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a"
            " scope value with /.default suffixed to the resource identifier"
            " (application ID URI).",
        )
    resources = set()
    for item in scope.split():
        if not item.endswith("/.default"):
            raise OAuthError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {item} is not valid. Client credential flows"
                " must have a scope value with /.default suffixed to the resource identifier.",
            )
        resources.add(item.removesuffix("/.default"))
    if len(resources) > 1:
        raise OAuthError(
            "invalid_scope", 70011, "A token can be issued for one resource at a time."
        )
    resource = resources.pop()
    if resource not in RESOURCES:
        raise OAuthError(
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant.",
        )
    return RESOURCES[resource]


async def resolve_tenant(uow: UnitOfWork, ref: str) -> Tenant:
    if ref.lower() in RESERVED_TENANTS:
        raise OAuthError(
            "invalid_request",
            50059,
            "No tenant-identifying information found in the request: client credentials"
            " need the tenant id or one of its domains in the URL.",
        )
    tenant = await find_tenant(uow.tenants, ref)
    if tenant is None:
        raise OAuthError(
            "invalid_request",
            90002,
            "Tenant not found. Check the tenant id or domain in the URL.",
        )
    return tenant


async def issue_token(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    client_id: str,
    client_secret: str,
    scope: str | None,
    hash_key: bytes,
    keys: KeySet,
    public_url: str,
    now: datetime,
    lifetime: int,
    check: Callable[[UnitOfWork], Awaitable[None]] | None = None,
) -> IssuedToken:
    """Client credentials (RFC 6749 §4.4) with Entra's error numbering. `check` runs first
    in the same read transaction (the failure throttle), and may raise to refuse."""
    audience = parse_scope(scope)
    client_id = client_id.strip().lower()
    async with uow:
        if check is not None:
            await check(uow)
        tenant = await resolve_tenant(uow, tenant_ref)
        app = await uow.apps.get(client_id) if is_guid(client_id) else None
        hashes = await uow.apps.secret_hashes(app.id) if app is not None else []
    if app is None or app.tenant_id != tenant.id:
        # Same work as a real check, so response times do not reveal which ids exist.
        hmac.compare_digest(hash_secret(hash_key, client_secret), _DUMMY_HASH)
        raise OAuthError(
            "invalid_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory"
            f" '{tenant.name}'.",
        )
    presented = hash_secret(hash_key, client_secret)
    matched = [expires for stored, expires in hashes if hmac.compare_digest(presented, stored)]
    if not matched:
        raise OAuthError(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the"
            " client secret value, not the client secret ID.",
        )
    if all(expires <= iso(now) for expires in matched):
        raise OAuthError(
            "invalid_client",
            7000222,
            f"The provided client secret keys for app '{app.id}' are expired. Create new keys"
            " for your app, or consider using certificate credentials.",
        )
    if not app.enabled:
        raise OAuthError("unauthorized_client", 7000112, "Application is disabled.")
    claims = app_token_claims(
        issuer=f"{public_url}/{tenant.id}/v2.0",
        audience=audience,
        tenant_id=tenant.id,
        app_id=app.id,
        object_id=app.object_id,
        roles=app.permissions,
        now=now.timestamp(),
        lifetime=lifetime,
    )
    return IssuedToken(access_token=sign(keys, claims), expires_in=lifetime)
