"""OpenID Connect endpoints of local mode, as Entra's v2 endpoints answer: authorize, logout,
userinfo, and the token endpoint's user grants (web/identity.py hands them over).

Until the client and its redirect URI are checked, every error is a page; after that it goes
back to the app, with `state` and `iss` (RFC 9207), in the response mode it asked for.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
from litestar import Request, Response, route

from guestgate.adapters.user_tokens import decode_own_token
from guestgate.domain import oidc
from guestgate.domain import signin as rules
from guestgate.domain.apps import redirect_uri_matches
from guestgate.domain.oidc import AuthorizeRequest
from guestgate.errors import (
    AuthenticationError,
    OAuthError,
    RedemptionError,
    SignInPageError,
    SignInRedirectError,
)
from guestgate.logs import request_id_var
from guestgate.runtime import Runtime
from guestgate.services import oidc_clients, signin
from guestgate.web.auth import bearer_token, runtime_of
from guestgate.web.branding import logo_path
from guestgate.web.forms import PAGE_HEADERS, cookie, cookie_name, csrf, message, render

SESSION_COOKIE = "gg_signin"
FORM_COOKIE = "gg_signin_form"
_SUBMIT = "document.forms[0].submit();"
_SUBMIT_HASH = base64.b64encode(hashlib.sha256(_SUBMIT.encode()).digest()).decode()


def issuer(runtime: Runtime, tenant_id: str) -> str:
    return f"{runtime.settings.http.public_url}/{tenant_id}/v2.0"


def discovery(runtime: Runtime, tenant_id: str) -> dict[str, Any]:
    """The sign-in half of a tenant's discovery document."""
    base = f"{runtime.settings.http.public_url}/{tenant_id}"
    return {
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "userinfo_endpoint": f"{runtime.settings.http.public_url}/oidc/userinfo",
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "response_modes_supported": list(oidc.RESPONSE_MODES),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "request_uri_parameter_supported": False,
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "nbf",
            "auth_time",
            "nonce",
            "sid",
            "oid",
            "tid",
            "ver",
            "name",
            "preferred_username",
            "email",
            "idp",
            "appid",
            "roles",
            "scp",
        ],
    }


def session_seconds(runtime: Runtime) -> int:
    return runtime.settings.tokens.session_seconds


def error_page(text: str, status: int = 400) -> Response[str]:
    return message(
        status,
        "Sign-in could not start",
        text,
        "Go back to the app and try again; if this keeps happening, tell the app's owner.",
    )


def respond(
    runtime: Runtime,
    *,
    redirect_uri: str,
    mode: str,
    tenant_id: str,
    values: dict[str, str | None],
    state: str | None,
    cookies: list[Any] | None = None,
) -> Response[str]:
    """The authorization response at the (checked) redirect URI: a redirect or a form post."""
    fields = {**values, "state": state, "iss": issuer(runtime, tenant_id)}
    if mode == "form_post":
        target = urlsplit(redirect_uri)
        page = render(
            "signin_post.html",
            cookies=cookies,
            title="Signing you in",
            action=redirect_uri,
            fields=[(k, v) for k, v in fields.items() if v is not None],
            script=_SUBMIT,
        )
        page.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'self'; script-src 'sha256-{_SUBMIT_HASH}';"
            f" form-action {target.scheme}://{target.netloc}; base-uri 'none';"
            " frame-ancestors 'none'"
        )
        return page
    return Response(
        "",
        status_code=303,
        headers={**PAGE_HEADERS, "Location": oidc.response_location(redirect_uri, fields)},
        cookies=cookies,
    )


def _params(request: Request[Any, Any, Any], body: bytes) -> dict[str, list[str]]:
    if request.method == "POST":
        try:
            return parse_qs(body.decode("utf-8"), max_num_fields=40)
        except (UnicodeDecodeError, ValueError):
            raise SignInPageError("The sign-in request is not valid form data.") from None
    return {k: list(v) for k, v in request.query_params.dict().items()}


@route(
    "/{tenant:str}/oauth2/v2.0/authorize",
    http_method=["GET", "POST"],
    tags=["identity"],
    status_code=200,
)
async def authorize(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """Authorization endpoint: the code flow with PKCE, `query` or `form_post` response."""
    runtime = runtime_of(request)
    try:
        params = _params(request, await request.body())
        client_id = (params.get("client_id") or [""])[0]
        found, app = await signin.find_client(
            runtime.uow(write=False), tenant_ref=tenant, client_id=client_id
        )
        redirect_uri = oidc.check_client(params, app, found.id)
    except SignInPageError as exc:
        return error_page(exc.message)
    assert app is not None
    mode = (params.get("response_mode") or ["query"])[0]
    mode = mode if mode in oidc.RESPONSE_MODES else "query"
    state = (params.get("state") or [""])[0] or None
    try:
        checked = oidc.check_request(params, app, redirect_uri, found.id)
        await oidc_clients.accept_scope(
            runtime.uow(write=False), tenant_id=found.id, scope=checked.scope
        )
    except SignInRedirectError as exc:
        return respond(
            runtime,
            redirect_uri=redirect_uri,
            mode=mode,
            tenant_id=found.id,
            values={"error": exc.error, "error_description": exc.description},
            state=state,
        )
    except OAuthError as exc:
        return respond(
            runtime,
            redirect_uri=redirect_uri,
            mode=mode,
            tenant_id=found.id,
            values={"error": exc.error, "error_description": exc.message},
            state=state,
        )
    session_id = request.cookies.get(cookie_name(runtime, SESSION_COOKIE))
    if session_id and checked.prompt != "login":
        try:
            issued = await signin.sign_in_with_session(
                runtime.uow(),
                request=checked,
                session_id=session_id,
                now=runtime.now(),
                request_id=request_id_var.get(),
            )
        except RedemptionError as exc:  # the app was deleted a moment ago
            return error_page(exc.message, status=403)
        if issued is not None:
            return code_response(runtime, issued)
    if checked.prompt == "none":
        return respond(
            runtime,
            redirect_uri=redirect_uri,
            mode=checked.response_mode,
            tenant_id=found.id,
            values={
                "error": "login_required",
                "error_description": "The user is not signed in, and prompt=none was given.",
            },
            state=checked.state,
        )
    return sign_in_page(runtime, checked, org=found.name, app_name=app.name, logo=logo_path(found))


def sign_in_page(
    runtime: Runtime,
    checked: AuthorizeRequest,
    *,
    org: str,
    app_name: str,
    email: str = "",
    error: str = "",
    status: int = 200,
    logo: str | None = None,
) -> Response[str]:
    nonce = secrets.token_urlsafe(24)
    return render(
        "signin.html",
        status,
        org=org,
        logo=logo,
        app=app_name,
        title=f"Sign in to {org}",
        email=email or checked.login_hint or "",
        request=signin.seal_request(runtime.sealer, checked),
        csrf=csrf(runtime, f"signin:{nonce}"),
        error=error,
        cookies=[cookie(runtime, FORM_COOKIE, nonce, rules.CHALLENGE_LIFETIME_SECONDS)],
    )


def code_response(
    runtime: Runtime, issued: signin.Issued, cookies: list[Any] | None = None
) -> Response[str]:
    checked = issued.request
    return respond(
        runtime,
        redirect_uri=checked.redirect_uri,
        mode=checked.response_mode,
        tenant_id=checked.tenant_id,
        values={
            "code": issued.code,
            "client_info": oidc.client_info(issued.user.id, issued.user.tenant_id)
            if checked.client_info
            else None,
        },
        state=checked.state,
        cookies=cookies,
    )


@route(
    "/{tenant:str}/oauth2/v2.0/logout",
    http_method=["GET", "POST"],
    tags=["identity"],
    status_code=200,
)
async def logout(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """End the browser's sign-in session; return to `post_logout_redirect_uri` if registered."""
    runtime = runtime_of(request)
    try:
        params = _params(request, await request.body())
    except SignInPageError as exc:
        return error_page(exc.message)

    def one(name: str) -> str:
        values = params.get(name) or [""]
        return values[0] if len(values) == 1 and len(values[0]) <= oidc.MAX_PARAM else ""

    session_id = request.cookies.get(cookie_name(runtime, SESSION_COOKIE))
    if session_id:
        await signin.sign_out(runtime.uow(), session_id=session_id, now=runtime.now())
    cleared = [cookie(runtime, SESSION_COOKIE, "", 0)]
    target, client_id = one("post_logout_redirect_uri"), one("client_id")
    if one("id_token_hint") and not client_id:
        try:
            # An expired hint is fine: it only names the app (OIDC RP-Initiated Logout §2).
            hint = await decode_own_token(runtime.keyring, one("id_token_hint"), verify_exp=False)
            client_id = str(hint.get("aud", ""))
        except AuthenticationError:
            client_id = ""
    if target and client_id:
        try:
            _, app = await signin.find_client(
                runtime.uow(write=False), tenant_ref=tenant, client_id=client_id
            )
        except SignInPageError:
            app = None
        if app is not None and any(redirect_uri_matches(r, target) for r in app.redirect_uris):
            location = oidc.response_location(target, {"state": one("state") or None})
            headers = {**PAGE_HEADERS, "Location": location}
            return Response("", status_code=303, headers=headers, cookies=cleared)
    page = message(200, "You signed out", "You have signed out of your account.")
    page.cookies.extend(cleared)
    return page


@route("/oidc/userinfo", http_method=["GET", "POST"], tags=["identity"], status_code=200)
async def userinfo(request: Request[Any, Any, Any]) -> Response[bytes]:
    """OpenID Connect userinfo for a delegated access token this server issued."""
    runtime = runtime_of(request)
    claims = await decode_own_token(runtime.keyring, bearer_token(request), verify_exp=True)
    info = await oidc_clients.userinfo(
        runtime.uow(write=False), claims=claims, issuer_of=lambda tid: issuer(runtime, tid)
    )
    return Response(
        msgspec.json.encode(info),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [authorize, logout, userinfo]
