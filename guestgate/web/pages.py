"""Redemption pages: server-rendered, no JavaScript, usable on a phone.

Every form carries a CSRF token bound to the browser (an HMAC over a cookie value), POSTs
from another origin are refused, pages cannot be framed, send no Referer, and are never
cached. The ticket appears only in the link itself and the first form; every later step is
addressed by an HttpOnly session cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from guestgate.domain import redemption as rules
from guestgate.domain.invitations import PENDING
from guestgate.domain.tenants import is_guid
from guestgate.logs import request_id_var
from guestgate.runtime import Runtime
from guestgate.services import redemption
from guestgate.services.redemption import Link, RedemptionError
from guestgate.web.auth import runtime_of

STATIC = Path(__file__).with_name("static")
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none';"
        " form-action 'self' https: http://localhost:* http://127.0.0.1:*; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
}
FORM_COOKIE = "gg_form"
SESSION_COOKIE = "gg_session"

ERROR_PAGES: dict[str, tuple[int, str, str]] = {
    redemption.INVALID: (
        404,
        "This invitation link is not valid",
        "Ask the person who invited you to send a new invitation.",
    ),
    redemption.EXPIRED: (
        410,
        "This invitation has expired",
        "Ask the person who invited you to send the invitation again.",
    ),
    redemption.NO_SESSION: (
        403,
        "Your session has ended",
        "Open the link in your invitation email again to continue.",
    ),
    redemption.TOO_SOON: (429, "Please wait", ""),
}


def _cookie_name(runtime: Runtime, name: str) -> str:
    # The __Host- prefix pins the cookie to this host and https; plain http cannot use it.
    return f"__Host-{name}" if runtime.settings.http.https else name


def _cookie(runtime: Runtime, name: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=_cookie_name(runtime, name),
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        secure=runtime.settings.http.https,
        samesite="lax",
    )


def _csrf(runtime: Runtime, binding: str) -> str:
    return hmac.new(runtime.form_key, binding.encode(), hashlib.sha256).hexdigest()


def render(
    template: str, status: int = 200, cookies: list[Cookie] | None = None, **context: Any
) -> Response[str]:
    html = _templates.get_template(template).render({"org": None, "title": "guestgate", **context})
    return Response(
        html,
        status_code=status,
        media_type="text/html",
        headers=PAGE_HEADERS,
        cookies=cookies,
    )


def message(
    status: int, title: str, text: str, hint: str = "", org: str | None = None
) -> Response[str]:
    return render("message.html", status, title=title, text=text, hint=hint, org=org)


def error_page(exc: RedemptionError) -> Response[str]:
    status, title, hint = ERROR_PAGES.get(exc.reason, (400, "Something went wrong", ""))
    return message(status, title, exc.message, hint)


def _client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def _throttled(request: Request[Any, Any, Any]) -> Response[str] | None:
    """Too many bad links or wrong codes from this address: a page saying when to come back."""
    wait = runtime_of(request).page_failures.retry_after(_client_address(request), time.monotonic())
    if wait is None:
        return None
    page = message(
        429,
        "Too many attempts",
        "There were too many attempts with invalid links or codes from your network.",
        f"Try again in {max(1, round(wait / 60))} minute(s).",
    )
    page.headers["Retry-After"] = str(wait)
    return page


def _count_failure(request: Request[Any, Any, Any], exc: RedemptionError) -> None:
    if exc.reason in (redemption.INVALID, redemption.WRONG_CODE):
        runtime_of(request).page_failures.failed(_client_address(request), time.monotonic())


def _see_other(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(
        "", status_code=303, headers={**PAGE_HEADERS, "Location": location}, cookies=cookies
    )


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    runtime = runtime_of(request)
    # Browsers send "Origin: null" from no-referrer pages; the CSRF token is the real check,
    # this one only refuses posts that name another site.
    origin = request.headers.get("origin")
    if origin not in (None, "null") and origin != _origin(runtime.settings.http.public_url):
        raise RedemptionError("forbidden", "This form was sent from another site.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise RedemptionError("forbidden", "This form was not sent by the page.")
    try:
        return dict(parse_qsl((await request.body()).decode("utf-8"), max_num_fields=10))
    except (UnicodeDecodeError, ValueError):
        raise RedemptionError("forbidden", "This form was not sent by the page.") from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _forbidden() -> Response[str]:
    return message(
        403, "This request was refused", "Go back to your invitation email and open the link again."
    )


def _session_id(request: Request[Any, Any, Any]) -> str | None:
    return request.cookies.get(_cookie_name(runtime_of(request), SESSION_COOKIE))


@get("/redeem/", include_in_schema=False)
async def landing(request: Request[Any, Any, Any]) -> Response[str]:
    """The redeem link: shows the invitation, changes nothing."""
    runtime = runtime_of(request)
    if (throttled := _throttled(request)) is not None:
        return throttled
    query = request.query_params
    tenant, user, ticket = query.get("tenant", ""), query.get("user", ""), query.get("ticket", "")
    try:
        if not (is_guid(tenant) and is_guid(user) and 20 <= len(ticket) <= 64):
            raise RedemptionError(redemption.INVALID, "This invitation link is not valid.")
        link = await redemption.open_link(
            runtime.uow(write=False),
            tenant_id=tenant.lower(),
            user_id=user.lower(),
            ticket=ticket,
            now=runtime.now(),
        )
    except RedemptionError as exc:
        _count_failure(request, exc)
        return error_page(exc)
    if link.invitation.status != PENDING:
        return _see_other(link.invitation.redirect_url)
    nonce = secrets.token_urlsafe(24)
    return render(
        "landing.html",
        org=link.tenant.name,
        title=f"Invitation to {link.tenant.name}",
        masked=rules.mask_address(link.invitation.email),
        tenant=tenant,
        user=user,
        ticket=ticket,
        csrf=_csrf(runtime, f"form:{nonce}:{ticket}"),
        cookies=[_cookie(runtime, FORM_COOKIE, nonce, 3600)],
    )


@post("/redeem/start", include_in_schema=False, status_code=303)
async def start(request: Request[Any, Any, Any]) -> Response[str]:
    """The guest asks for a code."""
    runtime = runtime_of(request)
    try:
        form = await _form(request)
    except RedemptionError:
        return _forbidden()
    nonce = request.cookies.get(_cookie_name(runtime, FORM_COOKIE), "")
    ticket = form.get("ticket", "")
    expected = _csrf(runtime, f"form:{nonce}:{ticket}")
    if not nonce or not hmac.compare_digest(expected, form.get("csrf", "")):
        return _forbidden()
    if (throttled := _throttled(request)) is not None:
        return throttled
    tenant, user = form.get("tenant", ""), form.get("user", "")
    session_id = rules.new_session_id()
    try:
        if not (is_guid(tenant) and is_guid(user)):
            raise RedemptionError(redemption.INVALID, "This invitation link is not valid.")
        link = await redemption.start(
            runtime.uow(),
            tenant_id=tenant.lower(),
            user_id=user.lower(),
            ticket=ticket,
            session_id=session_id,
            code_key=runtime.form_key,
            sealer=runtime.sealer,
            now=runtime.now(),
        )
    except RedemptionError as exc:
        _count_failure(request, exc)
        return error_page(exc)
    if link.invitation.status != PENDING:
        return _see_other(link.invitation.redirect_url)
    runtime.worker.wake()
    return _see_other(
        "/redeem/code",
        cookies=[_cookie(runtime, SESSION_COOKIE, session_id, rules.SESSION_LIFETIME_SECONDS)],
    )


async def _session_link(request: Request[Any, Any, Any]) -> tuple[str, Link, bool]:
    runtime = runtime_of(request)
    session_id = _session_id(request)
    if not session_id:
        raise RedemptionError(
            redemption.NO_SESSION, "Your session has ended. Open the invitation link again."
        )
    link, verified = await redemption.session_state(
        runtime.uow(write=False), session_id=session_id, now=runtime.now()
    )
    return session_id, link, verified


def _code_page(
    runtime: Runtime, session_id: str, link: Link, error: str = "", status: int = 200
) -> Response[str]:
    return render(
        "code.html",
        status,
        org=link.tenant.name,
        title="Enter your code",
        masked=rules.mask_address(link.invitation.email),
        csrf=_session_csrf(runtime, session_id),
        error=error,
    )


def _session_csrf(runtime: Runtime, session_id: str) -> str:
    """The CSRF token of a redemption session's forms."""
    return _csrf(runtime, f"session:{rules.session_hash(session_id)}")


def _check_session_csrf(runtime: Runtime, session_id: str, form: dict[str, str]) -> bool:
    expected = _session_csrf(runtime, session_id)
    return hmac.compare_digest(expected, form.get("csrf", ""))


@get("/redeem/code", include_in_schema=False)
async def code_page(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    try:
        session_id, link, verified = await _session_link(request)
    except RedemptionError as exc:
        return error_page(exc)
    if verified:
        return _see_other("/redeem/consent")
    return _code_page(runtime, session_id, link)


async def _session_post(
    request: Request[Any, Any, Any],
) -> tuple[dict[str, str], str, Link] | Response[str]:
    """A form post of a session step: the form, the session and its invitation, or a refusal."""
    try:
        form = await _form(request)
        session_id, link, _ = await _session_link(request)
    except RedemptionError as exc:
        return _forbidden() if exc.reason == "forbidden" else error_page(exc)
    if not _check_session_csrf(runtime_of(request), session_id, form):
        return _forbidden()
    return form, session_id, link


@post("/redeem/resend", include_in_schema=False, status_code=303)
async def resend(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    checked = await _session_post(request)
    if isinstance(checked, Response):
        return checked
    _, session_id, link = checked
    try:
        await redemption.resend_code(
            runtime.uow(),
            session_id=session_id,
            code_key=runtime.form_key,
            sealer=runtime.sealer,
            now=runtime.now(),
        )
    except RedemptionError as exc:
        if exc.reason == redemption.TOO_SOON:
            return _code_page(runtime, session_id, link, exc.message, status=429)
        return error_page(exc)
    runtime.worker.wake()
    return _see_other("/redeem/code")


@post("/redeem/verify", include_in_schema=False, status_code=303)
async def verify(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    checked = await _session_post(request)
    if isinstance(checked, Response):
        return checked
    form, session_id, link = checked
    if (throttled := _throttled(request)) is not None:
        return throttled
    new_session = rules.new_session_id()
    try:
        await redemption.verify_code(
            runtime.uow(),
            session_id=session_id,
            new_session_id=new_session,
            code=form.get("code", "")[:16],
            code_key=runtime.form_key,
            now=runtime.now(),
        )
    except RedemptionError as exc:
        _count_failure(request, exc)
        if exc.reason == redemption.WRONG_CODE:
            left = exc.attempts_left or 0
            text = (
                f"{exc.message} {left} attempt{'s' if left != 1 else ''} left."
                if left
                else ("That code is not right, and it can no longer be used. Ask for a new code.")
            )
            return _code_page(runtime, session_id, link, text, status=400)
        if exc.reason in (redemption.CODE_EXPIRED, redemption.CODE_LOCKED):
            return _code_page(runtime, session_id, link, exc.message, status=400)
        return error_page(exc)
    return _see_other(
        "/redeem/consent",
        cookies=[_cookie(runtime, SESSION_COOKIE, new_session, rules.SESSION_LIFETIME_SECONDS)],
    )


@get("/redeem/consent", include_in_schema=False)
async def consent_page(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    try:
        session_id, link, verified = await _session_link(request)
    except RedemptionError as exc:
        return error_page(exc)
    if not verified:
        return _see_other("/redeem/code")
    return render(
        "consent.html",
        org=link.tenant.name,
        title="Review permissions",
        masked=rules.mask_address(link.invitation.email),
        privacy_url=link.tenant.privacy_url,
        csrf=_session_csrf(runtime, session_id),
    )


@post("/redeem/accept", include_in_schema=False, status_code=303)
async def accept(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    try:
        form = await _form(request)
        session_id = _session_id(request) or ""
    except RedemptionError:
        return _forbidden()
    if not session_id or not _check_session_csrf(runtime, session_id, form):
        return _forbidden()
    try:
        target = await redemption.accept(
            runtime.uow(), session_id=session_id, now=runtime.now(), request_id=request_id_var.get()
        )
    except RedemptionError as exc:
        return error_page(exc)
    return _see_other(target)


@get("/welcome", include_in_schema=False)
async def welcome(request: Request[Any, Any, Any]) -> Response[str]:
    """The default inviteRedirectUrl: a plain confirmation page."""
    runtime = runtime_of(request)
    tenant_id = request.query_params.get("tenant", "")
    name = None
    if is_guid(tenant_id):
        async with runtime.uow(write=False) as uow:
            tenant = await uow.tenants.get(tenant_id.lower())
        name = tenant.name if tenant else None
    return message(
        200,
        "You're all set",
        f"You now have guest access to {name or 'the organization'}.",
        org=name,
    )


@get("/static/guestgate.css", include_in_schema=False)
async def stylesheet() -> Response[bytes]:
    return Response(
        (STATIC / "guestgate.css").read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


ROUTES = [landing, start, code_page, resend, verify, consent_page, accept, welcome, stylesheet]
