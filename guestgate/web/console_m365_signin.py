"""Signing in to the admin console in Microsoft 365 mode: against Entra, a sealed cookie.

The authorization code flow with PKCE, state and nonce against GUESTGATE_CONSOLE_AUTHORITY
(adapters/console_authority.py checks the ID token in full); the person's roles are the
directory roles in its `wids` claim, and the signed-in person lives in a sealed cookie (graph
mode keeps no users). The pages are web/console_m365.py's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from guestgate.domain import console as rules
from guestgate.domain.redemption import new_session_id, session_hash
from guestgate.domain.timestamps import iso
from guestgate.errors import AuthenticationError, ConfigError, GuestgateError
from guestgate.runtime import Runtime
from guestgate.services.console_m365 import (
    M365Person,
    auth_time_of,
    opened_person,
    person_of,
    sealed_person,
)
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

if TYPE_CHECKING:
    from guestgate.adapters.console_authority import Authority

CONSOLE_COOKIE = "gg_console"
LOGIN_COOKIE = "gg_console_login"
CALLBACK = "/admin/callback"
LOGIN_SECONDS = 600
_SEAL_LOGIN = "console-m365-login"
_SEAL_SESSION = "console-m365-session"
_LOGIN = ("s", "n", "v", "next")
TITLES = {400: "That request is not valid", 403: "Not allowed", 404: "Not found"}


def when(stamp: str | None) -> str:
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else "—"


def _unavailable(text: str) -> Response[str]:
    return message(503, "The admin console is not set up", text)


def authority_of(request: Request[Any, Any, Any]) -> Authority | Response[str]:
    """The configured authority, or the page saying what is missing."""
    runtime = runtime_of(request)
    settings = runtime.settings
    if not settings.console.enabled:
        return _unavailable(
            "In Microsoft 365 mode the console signs people in with Entra: set"
            " GUESTGATE_CONSOLE_AUTHORITY and GUESTGATE_CONSOLE_CLIENT_ID (docs/console.md)."
        )
    if not runtime.has_graph_app or not settings.graph.tenant:
        return _unavailable(
            "The console reads the tenant's guests with guestgate's own app registration: set"
            " GUESTGATE_GRAPH_CLIENT_ID, GUESTGATE_GRAPH_CLIENT_SECRET and GUESTGATE_GRAPH_TENANT."
        )
    state = request.app.state
    found = state.get("console_authority")
    if found is None:
        # Imported here: local mode never loads the Graph stack the authority's client uses.
        from guestgate.adapters.console_authority import Authority

        found = Authority(
            settings.console,
            ca_file=settings.graph.ca_file,
            timeout=settings.graph.timeout_seconds,
        )
        state["console_authority"] = found
    return cast("Authority", found)


def tenant_id_of(runtime: Runtime) -> str:
    assert runtime.settings.graph.tenant is not None
    return runtime.settings.graph.tenant.lower()


def _callback(runtime: Runtime) -> str:
    return runtime.settings.http.public_url + CALLBACK


def form_token(runtime: Runtime, person: M365Person) -> str:
    return csrf(runtime, f"console-m365:{person.session_hash}")


async def signed_in(
    request: Request[Any, Any, Any], tenant: str
) -> tuple[Runtime, M365Person] | Response[str]:
    """The signed-in person, or the page to send instead (sign-in redirect, 403, 404, 503)."""
    authority = authority_of(request)
    if isinstance(authority, Response):
        return authority
    runtime = runtime_of(request)
    if tenant.lower() != tenant_id_of(runtime):
        return message(
            404,
            "There is no such organization",
            f"This console is for the tenant {tenant_id_of(runtime)}, not {tenant[:64]!r}.",
            f"Open /admin/{tenant_id_of(runtime)}/guests.",
        )
    sealed = request.cookies.get(cookie_name(runtime, CONSOLE_COOKIE), "")
    if sealed:
        try:
            raw = runtime.sealer.open(sealed[:4096], _SEAL_SESSION)
        except (ConfigError, ValueError):
            raw = b""
        person = opened_person(raw, now=time.time()) if raw else None
        if person is not None and person.tenant_id.lower() == tenant_id_of(runtime):
            if not person.access.roles:
                return _refused_page(runtime, person)
            return runtime, person
    if request.method != "GET":
        return message(
            403, "Your console session has ended", "Sign in again, then repeat what you were doing."
        )
    return await _start(request, runtime, authority)


def _refused_page(runtime: Runtime, person: M365Person) -> Response[str]:
    return render(
        "console_refused.html",
        403,
        cookies=[cookie(runtime, CONSOLE_COOKIE, "", 0)],
        title="No access to the admin console",
        text=(
            f"You are signed in as {person.email or 'an unknown user'}, but Entra reports none"
            " of the directory roles the console is for (Global Administrator, User"
            " Administrator, Guest Inviter or Global Reader) for you."
        ),
        logout="/admin",
    )


async def _start(
    request: Request[Any, Any, Any], runtime: Runtime, authority: Authority
) -> Response[str]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    found = await authorize_link(runtime, authority, target=target)
    if isinstance(found, Response):
        return found
    location, login = found
    return see_other(location, cookies=[login])


async def authorize_link(
    runtime: Runtime, authority: Authority, *, target: str, fresh: bool = False
) -> tuple[str, Cookie] | Response[str]:
    """The authority's authorize URL and the sealed login cookie that goes with it; the
    callback sends the browser to `target`. `fresh`: the person must enter their
    credentials again (prompt=login, max_age), and the callback accepts only a sign-in made
    within the recent-sign-in window."""
    try:
        endpoints = await authority.endpoints()
    except GuestgateError as exc:
        return message(503, "The sign-in authority is unavailable", exc.message)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # RFC 7636: 43 to 128 characters
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    login = {"s": state, "n": nonce, "v": verifier, "next": target[:2048]}
    if fresh:
        login["fresh"] = "1"
    sealed = runtime.sealer.seal(json.dumps(login).encode(), _SEAL_LOGIN)
    params = {
        "client_id": authority.client_id,
        "response_type": "code",
        "redirect_uri": _callback(runtime),
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "response_mode": "query",
    }
    if fresh:
        params.update(prompt="login", max_age=str(rules.RECENT_SIGN_IN_SECONDS))
    joiner = "&" if "?" in endpoints.authorization_endpoint else "?"
    return (
        f"{endpoints.authorization_endpoint}{joiner}{urlencode(params)}",
        cookie(runtime, LOGIN_COOKIE, sealed, LOGIN_SECONDS),
    )


async def require_recent_sign_in(
    request: Request[Any, Any, Any], person: M365Person, *, action: str, back: str
) -> Response[str] | None:
    """None when the person signed in within the last 10 minutes (the sealed session's
    sign-in time); otherwise the page that asks them to sign in again at the authority,
    after which the browser comes back to `back` (the action's confirmation)."""
    runtime = runtime_of(request)
    if person.signed_in_since(time.time() - rules.RECENT_SIGN_IN_SECONDS):
        return None
    authority = authority_of(request)
    if isinstance(authority, Response):
        return authority
    home = f"/admin/{person.tenant_id}/guests"
    if not back.startswith(f"/admin/{person.tenant_id}/") or len(back) > 2048:
        back = home
    found = await authorize_link(runtime, authority, target=back, fresh=True)
    if isinstance(found, Response):
        return found
    location, login = found
    last = (
        None
        if person.signed_in_at is None
        else iso(datetime.fromtimestamp(person.signed_in_at, UTC))
    )
    return render(
        "console_reauth.html",
        403,
        cookies=[login],
        org=runtime.settings.graph.tenant,
        title="Sign in again to continue",
        action=action,
        minutes=rules.RECENT_SIGN_IN_SECONDS // 60,
        last=when(last) if last else "an unknown time",
        me=person.email,
        sign_in=location,
        cancel=back,
    )


def _login(runtime: Runtime, request: Request[Any, Any, Any]) -> dict[str, str] | None:
    sealed = request.cookies.get(cookie_name(runtime, LOGIN_COOKIE), "")
    try:
        found = json.loads(runtime.sealer.open(sealed[:8192], _SEAL_LOGIN)) if sealed else None
    except (ConfigError, ValueError):
        return None
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in _LOGIN):
        return None
    return found


def _ended(text: str = "Open the console again to sign in.") -> Response[str]:
    return message(400, "This sign-in has ended", text)


@get(CALLBACK, include_in_schema=False)
async def callback(request: Request[Any, Any, Any]) -> Response[str]:
    """The redirect URI: the code is redeemed at the authority and the ID token checked."""
    authority = authority_of(request)
    if isinstance(authority, Response):
        return authority
    runtime = runtime_of(request)
    login = _login(runtime, request)
    query = request.query_params
    if login is None or not secrets.compare_digest(query.get("state", "")[:128], login["s"]):
        return _ended()
    cleared = cookie(runtime, LOGIN_COOKIE, "", 0)
    try:
        endpoints = await authority.endpoints()
    except GuestgateError as exc:
        return message(503, "The sign-in authority is unavailable", exc.message)
    if query.get("iss", endpoints.issuer) != endpoints.issuer:
        return _ended("The answer came from another issuer.")  # RFC 9207 mix-up defence
    if query.get("error"):
        page = message(403, "Sign-in did not finish", query.get("error_description", "")[:300])
        page.cookies.append(cleared)
        return page
    try:
        token = await authority.redeem(
            code=query.get("code", "")[:2048],
            verifier=login["v"],
            redirect_uri=_callback(runtime),
        )
        claims = await authority.check_id_token(
            token, nonce=login["n"], tenant_id=tenant_id_of(runtime)
        )
    except AuthenticationError as exc:
        page = _ended(f"The sign-in could not be completed: {exc.message}")
        page.cookies.append(cleared)
        return page
    except GuestgateError as exc:
        return message(503, "The sign-in authority is unavailable", exc.message)
    now = int(time.time())
    signed_in_at = auth_time_of(claims)
    if login.get("fresh") == "1":
        # prompt=login made the person enter their credentials just now; an ID token
        # without auth_time (an optional claim in Entra) is taken to be of this moment.
        signed_in_at = now if signed_in_at is None else signed_in_at
        if signed_in_at < now - rules.RECENT_SIGN_IN_SECONDS:
            page = _ended("This action needs a sign-in made just now; open it again.")
            page.cookies.append(cleared)
            return page
    person = person_of(
        claims,
        session_hash=session_hash(new_session_id()),
        expires_at=now + rules.SESSION_SECONDS,
        signed_in_at=signed_in_at,
    )
    if not person.access.roles:
        page = _refused_page(runtime, person)
        page.cookies.append(cleared)
        return page
    async with runtime.uow() as uow:
        await uow.audit.record(
            tenant_id=person.tenant_id,
            actor=person.email,
            action="console.signin",
            target=person.object_id,
            created_at=iso(runtime.now()),
            details={"roles": person.roles},
        )
        await uow.commit()
    sealed = runtime.sealer.seal(sealed_person(person), _SEAL_SESSION)
    target = login["next"]
    if not target.startswith("/admin/") or target.startswith("//"):
        target = f"/admin/{person.tenant_id}/guests"
    return see_other(
        target,
        cookies=[cookie(runtime, CONSOLE_COOKIE, sealed, rules.SESSION_SECONDS), cleared],
    )


@get("/admin", include_in_schema=False)
async def picker(request: Request[Any, Any, Any]) -> Response[str]:
    """One tenant in this mode: straight to its guests."""
    authority = authority_of(request)
    if isinstance(authority, Response):
        return authority
    return see_other(f"/admin/{tenant_id_of(runtime_of(request))}/guests")


@get("/admin/{tenant:str}", include_in_schema=False)
async def home(tenant: str) -> Response[str]:
    return see_other(f"/admin/{quote(tenant, safe='')}/guests")


async def signed_form(
    request: Request[Any, Any, Any], tenant: str, max_fields: int = 10
) -> tuple[tuple[Runtime, M365Person], dict[str, str]] | Response[str]:
    """The signed-in person and their form, once its CSRF token is this session's; else the
    page to send instead (as `signed_in`, or 403)."""
    signed = await signed_in(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    try:
        form = await read_form(request, max_fields)
    except GuestgateError:
        form = {}
    if not check_csrf(runtime, f"console-m365:{person.session_hash}", form):
        return message(
            403, "This request was refused", "The form was not sent by this console's page."
        )
    return signed, form


@post("/admin/{tenant:str}/signout", include_in_schema=False, status_code=303)
async def sign_out(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """End the console session (the cookie; Entra's own session is Entra's)."""
    checked = await signed_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    (runtime, _person), _form = checked
    page = message(200, "You signed out", "You have signed out of the admin console.")
    page.cookies.append(cookie(runtime, CONSOLE_COOKIE, "", 0))
    return page


ROUTES = [picker, home, callback, sign_out]
