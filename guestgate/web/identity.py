"""Identity endpoints of local mode, shaped like the Microsoft identity platform (v2.0).

MSAL and azure-identity use them unchanged: discovery, the key set and the client-credentials
token endpoint, each addressed by tenant id or by one of the tenant's domains.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import msgspec
from litestar import Request, Response, get, post

from guestgate.errors import OAuthError
from guestgate.services import tokens
from guestgate.services.ports import UnitOfWork
from guestgate.web import oidc, oidc_token
from guestgate.web.auth import runtime_of

FORM = "application/x-www-form-urlencoded"


def _json(body: Any, *, cache: str) -> Response[bytes]:
    return Response(
        msgspec.json.encode(body), media_type="application/json", headers={"Cache-Control": cache}
    )


@get("/{tenant:str}/v2.0/.well-known/openid-configuration", tags=["identity"])
async def openid_configuration(request: Request[Any, Any, Any], tenant: str) -> Response[bytes]:
    """OpenID Connect discovery document of a tenant."""
    runtime = runtime_of(request)
    async with runtime.uow(write=False) as uow:
        found = await tokens.resolve_tenant(uow, tenant)
    base = f"{runtime.settings.http.public_url}/{found.id}"
    return _json(
        {
            "issuer": f"{base}/v2.0",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            **oidc.discovery(runtime, found.id),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": [f"{r}/.default" for r in tokens.RESOURCES if "://" in r]
            + ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": None,
            "cloud_instance_name": "guestgate",
        },
        cache="public, max-age=300",
    )


@get("/{tenant:str}/discovery/v2.0/keys", tags=["identity"])
async def jwks(request: Request[Any, Any, Any], tenant: str) -> Response[bytes]:
    """Public signing keys (JWKS): the current key and those not yet retired."""
    runtime = runtime_of(request)
    async with runtime.uow(write=False) as uow:
        await tokens.resolve_tenant(uow, tenant)
    keys = await runtime.keyring.current()
    return _json(keys.jwks, cache="public, max-age=300")


def _form(request: Request[Any, Any, Any], body: bytes) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise OAuthError(
            "invalid_request",
            900144,
            f"The request body must be {FORM} and contain the parameter 'grant_type'.",
        )
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20
        )
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(
            "invalid_request", 9002313, "The request body is not valid form data."
        ) from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            # RFC 6749 §3.2: parameters MUST NOT be included more than once.
            raise OAuthError(
                "invalid_request", 9002313, f"The parameter '{name}' is included more than once."
            )
        if "\x00" in value or len(value) > 4096:
            raise OAuthError("invalid_request", 9002313, f"The parameter '{name}' is invalid.")
        form[name] = value
    return form


def _basic_credentials(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    values = request.headers.getall("authorization", [])
    if not values:
        return None
    if len(values) > 1:
        raise OAuthError("invalid_request", 9002313, "Send at most one Authorization header.")
    scheme, _, encoded = values[0].partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError(
            "invalid_client", 7000218, "Client authentication must use HTTP Basic or the body."
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", 7000218, "Malformed Basic credentials.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", 7000218, "Malformed Basic credentials.")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


@post("/{tenant:str}/oauth2/v2.0/token", tags=["identity"], status_code=200)
async def token(request: Request[Any, Any, Any], tenant: str) -> Response[bytes]:
    """Client-credentials token endpoint (client_secret_post or client_secret_basic)."""
    form = _form(request, await request.body())
    basic = _basic_credentials(request)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError(
            "invalid_request", 900144, "The request body must contain the parameter 'grant_type'."
        )
    if grant_type in oidc_token.GRANTS:
        return await oidc_token.user_token(request, tenant, form, basic)
    if grant_type != "client_credentials":
        raise OAuthError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )
    if "client_assertion" in form:
        raise OAuthError(
            "invalid_request", 9002313, "Certificate credentials are not supported; use a secret."
        )
    if basic is not None:
        if "client_secret" in form:
            raise OAuthError(
                "invalid_request",
                9002313,
                "Use one client authentication method: HTTP Basic or client_secret, not both.",
            )
        client_id, secret = basic
        if form.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_request", 9002313, "client_id differs from the Basic user.")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id:
            raise OAuthError(
                "invalid_request",
                900144,
                "The request body must contain the parameter 'client_id'.",
            )
        if not secret:
            raise OAuthError(
                "invalid_client",
                7000218,
                "The request body must contain the parameter 'client_assertion' or"
                " 'client_secret'.",
            )
    runtime = runtime_of(request)
    address = request.client.host if request.client else ""
    checks = oidc_token.client_checks(runtime, client_id, address)

    async def throttled(uow: UnitOfWork) -> None:
        # Read in the token's own read transaction; while throttled the secret is not even
        # checked, so a guesser learns nothing.
        wait = await runtime.throttles.retry_after_in(uow, *checks)
        if wait is not None:
            raise oidc_token.client_throttled(wait)

    try:
        issued = await tokens.issue_token(
            runtime.uow(write=False),
            tenant_ref=tenant,
            client_id=client_id,
            client_secret=secret,
            scope=form.get("scope"),
            hash_key=runtime.hash_key,
            keys=await runtime.keyring.current(),
            public_url=runtime.settings.http.public_url,
            now=runtime.now(),
            lifetime=runtime.settings.tokens.lifetime_seconds,
            check=throttled,
        )
    except OAuthError as exc:
        if exc.client_failed:
            await runtime.throttles.failed(*checks)
        raise
    return Response(
        msgspec.json.encode(
            {
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "ext_expires_in": issued.expires_in,
                "access_token": issued.access_token,
            }
        ),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


ROUTES = [openid_configuration, jwks, token]
