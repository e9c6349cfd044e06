"""The admin console in Microsoft 365 mode: sign-in against Entra, the tenant's guests.

Served instead of the local-mode console when GUESTGATE_DIRECTORY=graph. The sign-in is
the authorization code flow with PKCE, state and nonce against GUESTGATE_CONSOLE_AUTHORITY
(services/console_m365.py checks the ID token in full); the roles are the directory roles in
its `wids` claim. The guests are read and changed through the directory port (GraphDirectory)
with guestgate's own app registration, through the same use-cases as the API, audited with
the signed-in person as the actor. Pages the local console has and this mode lacks say so.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post

from guestgate.domain import console as rules
from guestgate.domain.invitations import COMPLETED, PENDING
from guestgate.domain.redemption import new_session_id, session_hash
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import iso
from guestgate.domain.views import InvitationQuery, InvitationView
from guestgate.errors import AuthenticationError, ConfigError, GuestgateError
from guestgate.logs import request_id_var
from guestgate.runtime import Runtime
from guestgate.services.console_m365 import (
    Authority,
    M365Person,
    opened_person,
    person_of,
    sealed_person,
)
from guestgate.services.directory import Actor
from guestgate.web.auth import runtime_of
from guestgate.web.errors import status_of
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

CONSOLE_COOKIE = "gg_console"
LOGIN_COOKIE = "gg_console_login"
CALLBACK = "/admin/callback"
LOGIN_SECONDS = 600
_SEAL_LOGIN = "console-m365-login"
_SEAL_SESSION = "console-m365-session"
_LOGIN = ("s", "n", "v", "next")
PAGE_SIZE = 50
STATES = {"Pending": PENDING, "Accepted": COMPLETED}
LABELS = {PENDING: "Pending", COMPLETED: "Accepted", "Revoked": "Revoked"}
TITLES = {400: "That request is not valid", 403: "Not allowed", 404: "Not found"}
LOCAL_ONLY = {
    "invite": "Invite",
    "bulk": "Bulk invite",
    "webhooks": "Webhooks",
    "activity": "Activity",
    "reports": "Reports",
}


def _when(stamp: str | None) -> str:
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else "—"


def _unavailable(text: str) -> Response[str]:
    return message(503, "The admin console is not set up", text)


def _authority(request: Request[Any, Any, Any]) -> Authority | Response[str]:
    """The configured authority, or the page saying what is missing."""
    runtime = runtime_of(request)
    settings = runtime.settings
    if not settings.console.enabled:
        return _unavailable(
            "In Microsoft 365 mode the console signs people in with Entra: set"
            " GUESTGATE_CONSOLE_AUTHORITY and GUESTGATE_CONSOLE_CLIENT_ID (docs/console.md)."
        )
    if runtime.graph is None or runtime.graph.app_tokens is None or not settings.graph.tenant:
        return _unavailable(
            "The console reads the tenant's guests with guestgate's own app registration: set"
            " GUESTGATE_GRAPH_CLIENT_ID, GUESTGATE_GRAPH_CLIENT_SECRET and GUESTGATE_GRAPH_TENANT."
        )
    state = request.app.state
    found = state.get("console_authority")
    if found is None:
        found = Authority(
            settings.console,
            ca_file=settings.graph.ca_file,
            timeout=settings.graph.timeout_seconds,
        )
        state["console_authority"] = found
    assert isinstance(found, Authority)
    return found


def _tenant_id(runtime: Runtime) -> str:
    assert runtime.settings.graph.tenant is not None
    return runtime.settings.graph.tenant.lower()


def _callback(runtime: Runtime) -> str:
    return runtime.settings.http.public_url + CALLBACK


def _csrf(runtime: Runtime, person: M365Person) -> str:
    return csrf(runtime, f"console-m365:{person.session_hash}")


async def _signed(
    request: Request[Any, Any, Any], tenant: str
) -> tuple[Runtime, M365Person] | Response[str]:
    """The signed-in person, or the page to send instead (sign-in redirect, 403, 404, 503)."""
    authority = _authority(request)
    if isinstance(authority, Response):
        return authority
    runtime = runtime_of(request)
    if tenant.lower() != _tenant_id(runtime):
        return message(
            404,
            "There is no such organization",
            f"This console is for the tenant {_tenant_id(runtime)}, not {tenant[:64]!r}.",
            f"Open /admin/{_tenant_id(runtime)}/guests.",
        )
    sealed = request.cookies.get(cookie_name(runtime, CONSOLE_COOKIE), "")
    if sealed:
        try:
            raw = runtime.sealer.open(sealed[:4096], _SEAL_SESSION)
        except (ConfigError, ValueError):
            raw = b""
        person = opened_person(raw, now=time.time()) if raw else None
        if person is not None and person.tenant_id.lower() == _tenant_id(runtime):
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
    try:
        endpoints = await authority.endpoints()
    except GuestgateError as exc:
        return message(503, "The sign-in authority is unavailable", exc.message)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # RFC 7636: 43 to 128 characters
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = {"s": state, "n": nonce, "v": verifier, "next": target[:2048]}
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
    joiner = "&" if "?" in endpoints.authorization_endpoint else "?"
    return see_other(
        f"{endpoints.authorization_endpoint}{joiner}{urlencode(params)}",
        cookies=[cookie(runtime, LOGIN_COOKIE, sealed, LOGIN_SECONDS)],
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
    authority = _authority(request)
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
            token, nonce=login["n"], tenant_id=_tenant_id(runtime)
        )
    except AuthenticationError as exc:
        page = _ended(f"The sign-in could not be completed: {exc.message}")
        page.cookies.append(cleared)
        return page
    except GuestgateError as exc:
        return message(503, "The sign-in authority is unavailable", exc.message)
    expires = int(time.time()) + rules.SESSION_SECONDS
    person = person_of(claims, session_hash=session_hash(new_session_id()), expires_at=expires)
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
    authority = _authority(request)
    if isinstance(authority, Response):
        return authority
    return see_other(f"/admin/{_tenant_id(runtime_of(request))}/guests")


@get("/admin/{tenant:str}", include_in_schema=False)
async def home(tenant: str) -> Response[str]:
    return see_other(f"/admin/{quote(tenant, safe='')}/guests")


def _page(
    runtime: Runtime, person: M365Person, template: str, status: int = 200, **context: Any
) -> Response[str]:
    return render(
        template,
        status,
        org=runtime.settings.graph.tenant,
        wide=True,
        tenant=person.tenant_id,
        me=person.email,
        roles=person.roles,
        access=person.access,
        csrf=_csrf(runtime, person),
        when=_when,
        labels=LABELS,
        **context,
    )


def _refusal(exc: GuestgateError) -> Response[str]:
    status = status_of(exc)
    return message(status, TITLES.get(status, "Something went wrong"), exc.message)


def _actor(runtime: Runtime, person: M365Person) -> Actor:
    return Actor(
        tenant_id=person.tenant_id,
        app_id=None,
        request_id=request_id_var.get(),
        user=person.email,
    )


def _sees_guests(person: M365Person) -> bool:
    """Graph keeps no requester or sponsor: the list is for administrators and readers."""
    return person.access.sees_all


def _no_list(runtime: Runtime, person: M365Person) -> Response[str]:
    return message(
        403,
        "Not allowed",
        "In Microsoft 365 mode the console shows guests to administrators and Global Readers:"
        " Microsoft Graph does not say who requested or sponsors a guest, so a Guest inviter's"
        " own guests cannot be told apart here. Invite through the API or the Entra portal.",
    )


@get("/admin/{tenant:str}/guests", include_in_schema=False)
async def guest_list(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """The tenant's guests from Graph, a page at a time (Graph's own skiptoken)."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    if not _sees_guests(person):
        return _no_list(runtime, person)
    state = request.query_params.get("state", "")
    email = request.query_params.get("email", "").strip()
    skiptoken = request.query_params.get("after", "")
    if state and state not in STATES:
        return message(400, TITLES[400], f"The state must be one of: {', '.join(STATES)}.")
    if len(email) > 320 or any(c in email for c in "\r\n\t"):
        return message(
            400, TITLES[400], "The email filter must be one address, at most 320 characters."
        )
    if len(skiptoken) > 2048 or not skiptoken.isprintable():
        return message(400, TITLES[400], "The page link is not valid; start from the first page.")
    try:
        found = await runtime.invitations.list(
            _actor(runtime, person),
            InvitationQuery(
                status=STATES.get(state),
                email=email.lower() or None,
                top=PAGE_SIZE,
                skiptoken=skiptoken or None,
            ),
        )
    except GuestgateError as exc:
        return _refusal(exc)
    kept = {k: v for k, v in {"state": state, "email": email}.items() if v}
    next_link = None
    if found.next_token is not None:
        next_link = f"?{urlencode({**kept, 'after': found.next_token})}"
    return _page(
        runtime,
        person,
        "console_m365_guests.html",
        title="Guests - Microsoft 365",
        rows=list(found.items),
        state=state,
        email=email,
        states=list(STATES),
        next_link=next_link,
        first_link=f"?{urlencode(kept)}" if skiptoken else None,
    )


def _guest_state(view: InvitationView) -> str:
    return LABELS.get(view.status, view.status)


@get("/admin/{tenant:str}/guests/{user_id:str}", include_in_schema=False)
async def guest_profile(
    request: Request[Any, Any, Any], tenant: str, user_id: str
) -> Response[str]:
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    if not _sees_guests(person):
        return _no_list(runtime, person)
    if not is_guid(user_id):
        return message(404, TITLES[404], f"There is no guest {user_id[:64]!r} in this tenant.")
    try:
        view = await runtime.invitations.get(_actor(runtime, person), user_id)
    except GuestgateError as exc:
        return _refusal(exc)
    if view.user_type != "Guest":
        return message(404, TITLES[404], f"There is no guest {user_id} in this tenant.")
    confirm = request.query_params.get("confirm", "")
    return _page(
        runtime,
        person,
        "console_m365_guest.html",
        title=f"{view.display_name or view.email} - Microsoft 365",
        guest=view,
        state=_guest_state(view),
        changeable=person.access.may_change(sponsored=False, requested=False),
        confirm=confirm if confirm in ("resend", "revoke") else "",
        done=request.query_params.get("done", ""),
    )


async def _change(
    request: Request[Any, Any, Any], tenant: str, user_id: str, action: str
) -> Response[str]:
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    try:
        form = await read_form(request, 10)
    except GuestgateError:
        form = {}
    if not check_csrf(runtime, f"console-m365:{person.session_hash}", form):
        return message(
            403, "This request was refused", "The form was not sent by this console's page."
        )
    if not person.access.may_change(sponsored=False, requested=False):
        return message(
            403,
            "Not allowed",
            "In Microsoft 365 mode only Global and User administrators resend and revoke"
            " invitations from the console.",
        )
    if not is_guid(user_id):
        return message(404, TITLES[404], f"There is no guest {user_id[:64]!r} in this tenant.")
    if form.get("confirmed") != "yes":
        return see_other(f"/admin/{person.tenant_id}/guests/{user_id}?confirm={action}")
    actor = _actor(runtime, person)
    try:
        if action == "resend":
            await runtime.invitations.resend(actor, user_id)
        else:
            await runtime.invitations.revoke(actor, user_id)
    except GuestgateError as exc:
        return _refusal(exc)
    if action == "revoke":
        return message(
            200,
            "The invitation was revoked",
            "The guest user was deleted from the tenant; its invitation link no longer works.",
        )
    return see_other(f"/admin/{person.tenant_id}/guests/{user_id}?done={action}")


@post("/admin/{tenant:str}/guests/{user_id:str}/resend", include_in_schema=False, status_code=303)
async def resend(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    return await _change(request, tenant, user_id, "resend")


@post("/admin/{tenant:str}/guests/{user_id:str}/revoke", include_in_schema=False, status_code=303)
async def revoke(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    return await _change(request, tenant, user_id, "revoke")


@post("/admin/{tenant:str}/signout", include_in_schema=False, status_code=303)
async def sign_out(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """End the console session (the cookie; Entra's own session is Entra's)."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    try:
        form = await read_form(request, 10)
    except GuestgateError:
        form = {}
    if not check_csrf(runtime, f"console-m365:{person.session_hash}", form):
        return message(
            403, "This request was refused", "The form was not sent by this console's page."
        )
    page = message(200, "You signed out", "You have signed out of the admin console.")
    page.cookies.append(cookie(runtime, CONSOLE_COOKIE, "", 0))
    return page


@get("/admin/{tenant:str}/{section:str}", include_in_schema=False)
async def local_only(request: Request[Any, Any, Any], tenant: str, section: str) -> Response[str]:
    """The local console's other pages: what this mode does not have, said plainly."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    name = LOCAL_ONLY.get(section)
    if name is None:
        return message(404, TITLES[404], "The admin console has no such page.")
    return message(
        404,
        f"{name} is not in the Microsoft 365 console",
        f"The {name} page works with guestgate's own directory (local mode). In Microsoft 365"
        " mode, use the API for it, or the Entra admin center.",
    )


ROUTES = [picker, home, callback, guest_list, guest_profile, resend, revoke, sign_out, local_only]
