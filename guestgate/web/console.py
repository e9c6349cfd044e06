"""The admin console's sign-in: /admin, the OpenID Connect round trip, the console session.

The console is a confidential client of the tenant (services/console.py). A page opened
without a session sends the browser to the tenant's authorize endpoint with PKCE, state and
nonce; /admin/callback redeems the code with the token endpoint's own use-case, checks the
ID token with the server's own verifier (signature, issuer, audience, nonce) and starts a
console session for a member holding a role. The session cookie is HttpOnly, SameSite=Lax,
and `__Host-` prefixed and Secure over https (web/forms.py `cookie`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from guestgate.adapters.user_tokens import decode_own_token
from guestgate.domain import console as rules
from guestgate.domain.redemption import new_session_id
from guestgate.domain.tenants import Tenant
from guestgate.errors import (
    AuthenticationError,
    ConfigError,
    NotFound,
    OAuthError,
    RedemptionError,
)
from guestgate.runtime import Runtime
from guestgate.services import console, oidc_tokens, signin, tenants
from guestgate.services.console import Person, Refused
from guestgate.services.oidc_clients import Client
from guestgate.services.oidc_tokens import Signer
from guestgate.web.auth import runtime_of
from guestgate.web.forms import (
    check_csrf,
    cookie,
    cookie_name,
    csrf,
    message,
    read_form,
    render,
    see_other,
)
from guestgate.web.oidc import SESSION_COOKIE as SIGNIN_COOKIE
from guestgate.web.oidc import issuer

CONSOLE_COOKIE = "gg_console"
LOGIN_COOKIE = "gg_console_login"
CALLBACK = "/admin/callback"
LOGIN_SECONDS = 600
_SEAL = "console-login"
_LOGIN = ("t", "s", "n", "v", "next")


@dataclass(frozen=True, slots=True)
class Signed:
    """A console request's tenant and signed-in person, and its forms' CSRF token."""

    tenant: Tenant
    person: Person
    csrf: str


def _callback(runtime: Runtime) -> str:
    return runtime.settings.http.public_url + CALLBACK


def console_csrf(runtime: Runtime, person: Person) -> str:
    return csrf(runtime, f"console:{person.session_hash}")


def refused_page(tenant: Tenant, refused: Refused) -> Response[str]:
    """The 403 page of a person the console is not for."""
    if refused.reason == "guest":
        text = f"{refused.email} is a guest of {tenant.name}; the console is for its members."
    else:
        text = (
            f"You are signed in as {refused.email or 'an unknown user'}, but no console role"
            f" is assigned to you in {tenant.name}."
        )
    return render(
        "console_refused.html",
        403,
        org=tenant.name,
        title="No access to the admin console",
        text=text,
        logout=f"/{tenant.id}/oauth2/v2.0/logout",
    )


def _no_tenant(ref: str) -> Response[str]:
    return message(
        404,
        "There is no such organization",
        f"guestgate has no organization {ref[:64]!r}.",
        "Check the domain or id in the address, or go back to /admin.",
    )


async def sign_in_first(request: Request[Any, Any, Any], tenant_ref: str) -> Signed | Response[str]:
    """The signed-in person of this tenant's console, or the answer to send instead: the
    sign-in redirect (a page), a 403 page, or a 404 page for an unknown tenant."""
    runtime = runtime_of(request)
    try:
        tenant = await tenants.get_tenant(runtime.uow(write=False), tenant_ref)
    except NotFound:
        return _no_tenant(tenant_ref)
    session_id = request.cookies.get(cookie_name(runtime, CONSOLE_COOKIE), "")
    if session_id:
        found = await console.signed_in(
            runtime.uow(write=False), tenant_id=tenant.id, session_id=session_id, now=runtime.now()
        )
        if isinstance(found, Person):
            return Signed(tenant, found, console_csrf(runtime, found))
        if isinstance(found, Refused):
            return refused_page(tenant, found)
    if request.method != "GET":
        return message(
            403,
            "Your console session has ended",
            "Sign in again, then repeat what you were doing.",
        )
    return await start_sign_in(request, runtime, tenant)


async def checked_form(
    request: Request[Any, Any, Any], tenant_ref: str, max_fields: int = 10
) -> tuple[Signed, dict[str, str]] | Response[str]:
    """A console form post: the person and the form, CSRF and origin checked."""
    signed = await sign_in_first(request, tenant_ref)
    if isinstance(signed, Response):
        return signed
    runtime = runtime_of(request)
    try:
        form = await read_form(request, max_fields)
    except RedemptionError:  # another site's origin, or not the page's form
        form = {}
    if not check_csrf(runtime, f"console:{signed.person.session_hash}", form):
        return message(
            403, "This request was refused", "The form was not sent by this console's page."
        )
    return signed, form


async def start_sign_in(
    request: Request[Any, Any, Any], runtime: Runtime, tenant: Tenant
) -> Response[str]:
    """Send the browser to the tenant's sign-in, and back to this page after it."""
    location, login = await sign_in_link(request, runtime, tenant)
    return see_other(location, cookies=[login])


async def sign_in_link(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    tenant: Tenant,
    *,
    target: str | None = None,
    fresh: bool = False,
) -> tuple[str, Cookie]:
    """The tenant's authorize URL and the sealed login cookie that goes with it; the
    callback sends the browser to `target` (this page by default). `fresh`: the person must
    enter a code again (prompt=login, max_age), and the callback accepts only an ID token
    whose auth_time is within the recent-sign-in window."""
    client = await console.ensure_client(
        runtime.uow(),
        tenant_ref=tenant.id,
        redirect_uri=_callback(runtime),
        key=runtime.form_key,
        hash_key=runtime.hash_key,
        now=runtime.now(),
    )
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # RFC 7636: 43 to 128 characters
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    if target is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = {"t": tenant.id, "s": state, "n": nonce, "v": verifier, "next": target}
    if fresh:
        login["fresh"] = "1"
    sealed = runtime.sealer.seal(json.dumps(login).encode(), _SEAL)
    params = {
        "client_id": client.app_id,
        "response_type": "code",
        "redirect_uri": _callback(runtime),
        "scope": "openid profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "response_mode": "query",
    }
    if fresh:
        params.update(prompt="login", max_age=str(rules.RECENT_SIGN_IN_SECONDS))
    return (
        f"/{tenant.id}/oauth2/v2.0/authorize?{urlencode(params)}",
        cookie(runtime, LOGIN_COOKIE, sealed, LOGIN_SECONDS),
    )


def _login(runtime: Runtime, request: Request[Any, Any, Any]) -> dict[str, str] | None:
    sealed = request.cookies.get(cookie_name(runtime, LOGIN_COOKIE), "")
    try:
        found = json.loads(runtime.sealer.open(sealed, _SEAL)) if sealed else None
    except (ConfigError, ValueError):  # not sealed by this server: no sign-in of ours
        return None
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in _LOGIN):
        return None
    return found


def _ended(text: str = "Open the console again to sign in.") -> Response[str]:
    return message(400, "This sign-in has ended", text)


@get(CALLBACK, include_in_schema=False)
async def callback(request: Request[Any, Any, Any]) -> Response[str]:
    """The console's redirect URI: the code is redeemed and a console session starts."""
    runtime = runtime_of(request)
    login = _login(runtime, request)
    query = request.query_params
    if login is None or not secrets.compare_digest(query.get("state", ""), login["s"]):
        return _ended()
    tenant_id = login["t"]
    if query.get("iss", issuer(runtime, tenant_id)) != issuer(runtime, tenant_id):
        return _ended("The answer came from another issuer.")  # RFC 9207 mix-up defence
    cleared = cookie(runtime, LOGIN_COOKIE, "", 0)
    if query.get("error"):
        page = message(403, "Sign-in did not finish", query.get("error_description", "")[:300])
        page.cookies.append(cleared)
        return page
    app_id = console.client_id_of(runtime.form_key, tenant_id)
    signer = Signer(
        keys=await runtime.keyring.current(),
        public_url=runtime.settings.http.public_url,
        subject_key=runtime.form_key,
        hash_key=runtime.hash_key,
        lifetime=runtime.settings.tokens.lifetime_seconds,
    )
    try:
        tokens = await oidc_tokens.redeem_code(
            runtime.uow(),
            tenant_ref=tenant_id,
            client=Client(
                client_id=app_id, secret=console.client_secret_of(runtime.form_key, tenant_id)
            ),
            code=query.get("code", "")[:512],
            redirect_uri=_callback(runtime),
            code_verifier=login["v"],
            client_info=False,
            signer=signer,
            now=runtime.now(),
        )
        claims = await decode_own_token(runtime.keyring, tokens.id_token or "", verify_exp=True)
    except (OAuthError, AuthenticationError) as exc:
        return _ended(f"The sign-in could not be completed: {exc.message}")
    if (
        claims.get("iss") != issuer(runtime, tenant_id)
        or claims.get("aud") != app_id
        or claims.get("tid") != tenant_id
        or not secrets.compare_digest(str(claims.get("nonce", "")), login["n"])
    ):
        return _ended("The ID token was not issued for this sign-in.")
    auth_time = claims.get("auth_time")
    signed_in_at = (
        datetime.fromtimestamp(auth_time, UTC)
        if isinstance(auth_time, int) and not isinstance(auth_time, bool) and auth_time > 0
        else None
    )
    oldest = runtime.now() - timedelta(seconds=rules.RECENT_SIGN_IN_SECONDS)
    if login.get("fresh") == "1" and (signed_in_at is None or signed_in_at < oldest):
        return _ended("This action needs a sign-in with a code entered just now; open it again.")
    replaced = request.cookies.get(cookie_name(runtime, CONSOLE_COOKIE), "")
    if replaced:  # the browser's previous console session ends with this sign-in
        await console.sign_out(runtime.uow(), session_id=replaced, now=runtime.now())
    session_id = new_session_id()
    opened = await console.open_session(
        runtime.uow(),
        tenant_id=tenant_id,
        user_id=str(claims.get("oid", "")),
        session_id=session_id,
        now=runtime.now(),
        signed_in_at=signed_in_at,
    )
    if isinstance(opened, Refused):
        tenant = await tenants.get_tenant(runtime.uow(write=False), tenant_id)
        page = refused_page(tenant, opened)
        page.cookies.append(cleared)
        return page
    target = login["next"]
    if not target.startswith("/admin/") or target.startswith("//"):
        target = f"/admin/{tenant_id}/guests"
    return see_other(
        target,
        cookies=[cookie(runtime, CONSOLE_COOKIE, session_id, rules.SESSION_SECONDS), cleared],
    )


@get("/admin", include_in_schema=False)
async def picker(request: Request[Any, Any, Any]) -> Response[str]:
    """Which organization's console: its domain or id, then the sign-in."""
    ref = request.query_params.get("tenant", "").strip()
    if ref:
        return see_other(f"/admin/{quote(ref[:256], safe='')}/guests")
    return render("console_picker.html", title="guestgate admin console")


@get("/admin/{tenant:str}", include_in_schema=False)
async def home(tenant: str) -> Response[str]:
    return see_other(f"/admin/{quote(tenant, safe='')}/guests")


@post("/admin/{tenant:str}/signout", include_in_schema=False, status_code=303)
async def sign_out(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """End the console session and the browser's guestgate sign-in session."""
    runtime = runtime_of(request)
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, _ = checked
    await console.sign_out(
        runtime.uow(),
        session_id=request.cookies.get(cookie_name(runtime, CONSOLE_COOKIE), ""),
        now=runtime.now(),
    )
    sso = request.cookies.get(cookie_name(runtime, SIGNIN_COOKIE), "")
    if sso:
        await signin.sign_out(runtime.uow(), session_id=sso, now=runtime.now())
    page = message(
        200,
        "You signed out",
        f"You have signed out of the {signed.tenant.name} admin console.",
        org=signed.tenant.name,
    )
    page.cookies.extend(
        [cookie(runtime, CONSOLE_COOKIE, "", 0), cookie(runtime, SIGNIN_COOKIE, "", 0)]
    )
    return page


ROUTES = [picker, home, callback, sign_out]
