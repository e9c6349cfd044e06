"""Who calls the token endpoint, what they may ask for, and userinfo for user tokens.

A confidential client proves itself with its secret; a public client (a native or
single-page app) sends none and relies on PKCE. Resource scopes name one API of the tenant
by its application ID URI and a scope that API exposes.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guestgate.domain import oidc
from guestgate.domain.apps import App, hash_secret
from guestgate.domain.tenants import Tenant, is_guid
from guestgate.domain.timestamps import iso
from guestgate.errors import AuthenticationError, OAuthError
from guestgate.services.ports import UnitOfWork

_DUMMY_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class Client:
    """How the caller of the token endpoint authenticated (a public client sends no secret)."""

    client_id: str
    secret: str | None


async def authenticate(
    uow: UnitOfWork, tenant: Tenant, client: Client, hash_key: bytes, now: datetime
) -> App:
    """The app, authenticated: a confidential client by its secret, a public one by none."""
    client_id = client.client_id.strip().lower()
    app = await uow.apps.get(client_id) if is_guid(client_id) else None
    if app is None or app.tenant_id != tenant.id:
        hmac.compare_digest(hash_secret(hash_key, client.secret or ""), _DUMMY_HASH)
        raise OAuthError(
            "invalid_client",
            700016,
            f"Application with identifier '{client.client_id}' was not found in the directory"
            f" '{tenant.name}'.",
        )
    if app.public_client:
        if client.secret:
            raise OAuthError(
                "invalid_client",
                700025,
                "Client is public so neither 'client_assertion' nor"
                " 'client_secret' should be presented.",
            )
    else:
        if not client.secret:
            raise OAuthError(
                "invalid_client",
                7000218,
                "The request body must contain the parameter 'client_assertion' or"
                " 'client_secret'.",
            )
        presented = hash_secret(hash_key, client.secret)
        hashes = await uow.apps.secret_hashes(app.id)
        live = [e for h, e in hashes if hmac.compare_digest(presented, h)]
        if not live:
            raise OAuthError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is"
                " the client secret value, not the client secret ID.",
            )
        if all(expires <= iso(now) for expires in live):
            raise OAuthError(
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{app.id}' are expired.",
            )
    if not app.enabled:
        raise OAuthError("unauthorized_client", 7000112, "Application is disabled.")
    return app


async def check_scope(uow: UnitOfWork, tenant_id: str, scope: str) -> str:
    """Resource scopes name one API of the tenant and scopes it exposes (else invalid_scope)."""
    _, resource_scopes = oidc.split_scopes(scope)
    bases = set()
    for item in resource_scopes:
        resource = oidc.resource_of(item)
        if resource is None:
            raise OAuthError("invalid_scope", 70011, f"The scope '{item}' is not valid.")
        bases.add(resource[0])
        api = await uow.apps.get_by_app_id_uri(tenant_id, resource[0])
        if api is None:
            raise OAuthError(
                "invalid_resource",
                500011,
                f"The resource principal named {resource[0]} was not found in the tenant.",
            )
        if resource[1] not in api.api_scopes:
            raise OAuthError(
                "invalid_scope", 70011, f"The API {resource[0]} does not expose '{resource[1]}'."
            )
    if len(bases) > 1:
        raise OAuthError(
            "invalid_scope", 70011, "A token can be issued for one resource at a time."
        )
    return scope


async def accept_scope(uow: UnitOfWork, *, tenant_id: str, scope: str) -> None:
    """At /authorize: the scopes name an API of the tenant and what it exposes."""
    async with uow:
        await check_scope(uow, tenant_id, scope)


async def userinfo(
    uow: UnitOfWork, *, claims: dict[str, Any], issuer_of: Callable[[str], str]
) -> dict[str, Any]:
    """The OpenID Connect userinfo of a delegated access token's user (signature checked)."""
    tid, oid = claims.get("tid"), claims.get("oid")
    if (
        not isinstance(tid, str)
        or not isinstance(oid, str)
        or not isinstance(claims.get("scp"), str)
        or claims.get("iss") != issuer_of(tid)
    ):
        raise AuthenticationError("the access token is not a user token of this server")
    async with uow:
        user = await uow.users.get(tid, oid)
    if user is None or not oidc.may_sign_in(user):
        raise AuthenticationError("the user of this access token can no longer sign in")
    info: dict[str, Any] = {
        "sub": claims.get("sub"),
        "oid": user.id,
        "tid": user.tenant_id,
        "name": user.display_name,
        "preferred_username": claims.get("preferred_username"),
        "email": user.mail,
    }
    return info
