"""The token endpoint's user grants (web/identity.py hands them over): the request's client
authentication and fields, the answer in the shape MSAL reads.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

from guestgate.domain.throttle import client_key
from guestgate.errors import OAuthError
from guestgate.runtime import Runtime
from guestgate.services import oidc_tokens
from guestgate.services.oidc_clients import Client
from guestgate.services.oidc_tokens import Signer, UserTokens
from guestgate.services.throttles import Check
from guestgate.web.auth import runtime_of

GRANTS = frozenset({"authorization_code", "refresh_token"})


def client_checks(runtime: Runtime, client_id: str, address: str) -> tuple[Check, Check]:
    """The client-authentication failure limits of the token endpoint (and of whatever takes
    an app's secret): keyed on the client id as the lookup normalises it, so its case and
    spacing variants share one limit, and on the address."""
    return (
        (runtime.client_failures, (client_key(client_id), address)),
        (runtime.address_failures, (address,)),
    )


def client_throttled(wait: int) -> OAuthError:
    """Entra's answer while those limits hold: the secret is not even checked."""
    return OAuthError(
        "temporarily_unavailable",
        90055,
        "Too many failed client authentications from this address; try again later.",
        retry_after=wait,
    )


async def user_token(
    request: Request[Any, Any, Any],
    tenant: str,
    form: dict[str, str],
    basic: tuple[str, str] | None,
) -> Response[bytes]:
    """grant_type=authorization_code or refresh_token (called by the token endpoint)."""
    runtime = runtime_of(request)
    if basic is not None:
        if "client_secret" in form:
            raise OAuthError(
                "invalid_request", 9002313, "Use one client authentication method, not both."
            )
        client = Client(client_id=basic[0], secret=basic[1])
        if form.get("client_id", basic[0]) != basic[0]:
            raise OAuthError("invalid_request", 9002313, "client_id differs from the Basic user.")
    else:
        client = Client(client_id=form.get("client_id", ""), secret=form.get("client_secret"))
    if not client.client_id:
        raise OAuthError(
            "invalid_request", 900144, "The request body must contain the parameter 'client_id'."
        )
    if "client_assertion" in form:
        raise OAuthError(
            "invalid_request", 9002313, "Certificate credentials are not supported; use a secret."
        )
    signer = Signer(
        keys=await runtime.keyring.current(),
        public_url=runtime.settings.http.public_url,
        subject_key=runtime.form_key,
        hash_key=runtime.hash_key,
        lifetime=runtime.settings.tokens.lifetime_seconds,
    )
    client_info = form.get("client_info") == "1"
    for name in (
        ("code", "redirect_uri")
        if form["grant_type"] == "authorization_code"
        else ("refresh_token",)
    ):
        if not form.get(name):
            raise OAuthError("invalid_request", 900144, f"The request body must contain '{name}'.")
    address = request.client.host if request.client else ""
    # The same limits as client credentials: a secret cannot be guessed through these grants.
    checks = client_checks(runtime, client.client_id, address)
    wait = await runtime.throttles.retry_after(*checks)
    if wait is not None:
        raise client_throttled(wait)
    tokens: UserTokens
    try:
        if form["grant_type"] == "authorization_code":
            tokens = await oidc_tokens.redeem_code(
                runtime.uow(),
                tenant_ref=tenant,
                client=client,
                code=form["code"],
                redirect_uri=form["redirect_uri"],
                code_verifier=form.get("code_verifier"),
                client_info=client_info,
                signer=signer,
                now=runtime.now(),
            )
        else:
            tokens = await oidc_tokens.refresh(
                runtime.uow(),
                tenant_ref=tenant,
                client=client,
                refresh_token=form["refresh_token"],
                scope=form.get("scope"),
                client_info=client_info,
                signer=signer,
                now=runtime.now(),
            )
    except OAuthError as exc:
        if exc.client_failed:
            await runtime.throttles.failed(*checks)
        raise
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": tokens.scope,
        "expires_in": tokens.expires_in,
        "ext_expires_in": tokens.expires_in,
        "access_token": tokens.access_token,
    }
    for name in ("refresh_token", "id_token", "client_info"):
        if (value := getattr(tokens, name)) is not None:
            body[name] = value
    return Response(
        msgspec.json.encode(body),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
