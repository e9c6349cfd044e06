"""Redemption pages: server-rendered, no JavaScript, usable on a phone.

The redeem link only shows the invitation; the guest's posts ask for a code, verify it and
accept. The ticket appears only in the link itself and the first form; every later step is
addressed by an HttpOnly session cookie. How pages, cookies and forms are protected is in
web/forms.py.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post

from guestgate.domain import redemption as rules
from guestgate.domain.invitations import COMPLETED, DECLINED, PENDING
from guestgate.domain.tenants import Tenant, is_guid
from guestgate.errors import RedemptionError
from guestgate.logs import request_id_var
from guestgate.runtime import Runtime
from guestgate.services import redemption, tenants
from guestgate.services.redemption import Link
from guestgate.web.auth import runtime_of
from guestgate.web.branding import branding
from guestgate.web.forms import (
    FORM_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    check_session_csrf,
    cookie,
    cookie_name,
    csrf,
    error_page,
    forbidden,
    message,
    read_form,
    redirect_to,
    render,
    see_other,
    session_csrf,
)
from guestgate.web.page_throttle import come_back_in, count_failure, page_check, throttled
from guestgate.web.signin import resume_after_accept

STATIC = Path(__file__).with_name("static")


FAILURES = "attempts with invalid links or codes"


async def _count_failure(request: Request[Any, Any, Any], exc: RedemptionError) -> None:
    if exc.reason in (redemption.INVALID, redemption.WRONG_CODE):
        await count_failure(request)


def _session_id(request: Request[Any, Any, Any]) -> str | None:
    return request.cookies.get(cookie_name(runtime_of(request), SESSION_COOKIE))


@get("/redeem/", include_in_schema=False)
async def landing(request: Request[Any, Any, Any]) -> Response[str]:
    """The redeem link: shows the invitation, changes nothing."""
    runtime = runtime_of(request)
    query = request.query_params
    tenant, user, ticket = query.get("tenant", ""), query.get("user", ""), query.get("ticket", "")
    try:
        # The address's throttle and the link in one read transaction: this page is the one
        # every guest opens, and may be opened many times.
        async with runtime.uow(write=False) as uow:
            wait = await runtime.throttles.retry_after_in(uow, page_check(request))
            if wait is not None:
                link = None
            elif not (is_guid(tenant) and is_guid(user) and 20 <= len(ticket) <= 64):
                raise RedemptionError(redemption.INVALID, "This invitation link is not valid.")
            else:
                link = await redemption.link_in(
                    uow, tenant.lower(), user.lower(), ticket, runtime.now()
                )
    except RedemptionError as exc:
        await _count_failure(request, exc)
        # Unbranded, the same for every dead link: the page must not tell which organisation,
        # guest or ticket exists (tests/e2e/test_email_redemption.py).
        return error_page(exc)
    if link is None:
        return come_back_in(wait or 1, FAILURES)
    if link.invitation.status != PENDING:
        return redirect_to(link.invitation.redirect_url)
    nonce = secrets.token_urlsafe(24)
    return render(
        "landing.html",
        **branding(link.tenant),
        title=f"Invitation to {link.tenant.name}",
        masked=rules.mask_address(link.invitation.email),
        tenant=tenant,
        user=user,
        ticket=ticket,
        csrf=csrf(runtime, f"form:{nonce}:{ticket}"),
        cookies=[cookie(runtime, FORM_COOKIE, nonce, 3600)],
    )


@post("/redeem/start", include_in_schema=False, status_code=303)
async def start(request: Request[Any, Any, Any]) -> Response[str]:
    """The guest asks for a code."""
    runtime = runtime_of(request)
    try:
        form = await read_form(request)
    except RedemptionError:
        return forbidden()
    nonce = request.cookies.get(cookie_name(runtime, FORM_COOKIE), "")
    ticket = form.get("ticket", "")
    if not nonce or not check_csrf(runtime, f"form:{nonce}:{ticket}", form):
        return forbidden()
    if (refused := await throttled(request, FAILURES)) is not None:
        return refused
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
        await _count_failure(request, exc)
        return error_page(exc)
    if link.invitation.status != PENDING:
        return redirect_to(link.invitation.redirect_url)
    runtime.worker.wake()
    return see_other(
        "/redeem/code",
        cookies=[cookie(runtime, SESSION_COOKIE, session_id, rules.SESSION_LIFETIME_SECONDS)],
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
        **branding(link.tenant),
        title="Enter your code",
        masked=rules.mask_address(link.invitation.email),
        csrf=session_csrf(runtime, session_id),
        error=error,
    )


@get("/redeem/code", include_in_schema=False)
async def code_page(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    try:
        session_id, link, verified = await _session_link(request)
    except RedemptionError as exc:
        return error_page(exc)
    if verified:
        return see_other("/redeem/consent")
    return _code_page(runtime, session_id, link)


async def _session_post(
    request: Request[Any, Any, Any],
) -> tuple[dict[str, str], str, Link] | Response[str]:
    """A form post of a session step: the form, the session and its invitation, or a refusal."""
    try:
        form = await read_form(request)
        session_id, link, _ = await _session_link(request)
    except RedemptionError as exc:
        return forbidden() if exc.reason == "forbidden" else error_page(exc)
    if not check_session_csrf(runtime_of(request), session_id, form):
        return forbidden()
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
    return see_other("/redeem/code")


@post("/redeem/verify", include_in_schema=False, status_code=303)
async def verify(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    checked = await _session_post(request)
    if isinstance(checked, Response):
        return checked
    form, session_id, link = checked
    # Counted before the code is checked, so a parallel burst cannot get more guesses
    # evaluated than the limit; a right code, or an answer that was no guess, is refunded.
    if (wait := await runtime.throttles.take(page_check(request))) is not None:
        return come_back_in(wait, FAILURES)
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
        if exc.reason not in (redemption.INVALID, redemption.WRONG_CODE):
            await runtime.throttles.refund(page_check(request))
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
    await runtime.throttles.refund(page_check(request))
    return see_other(
        "/redeem/consent",
        cookies=[cookie(runtime, SESSION_COOKIE, new_session, rules.SESSION_LIFETIME_SECONDS)],
    )


@get("/redeem/consent", include_in_schema=False)
async def consent_page(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    try:
        session_id, link, verified = await _session_link(request)
    except RedemptionError as exc:
        return error_page(exc)
    if not verified:
        return see_other("/redeem/code")
    return render(
        "consent.html",
        **branding(link.tenant),
        title="Review permissions",
        masked=rules.mask_address(link.invitation.email),
        privacy_url=link.tenant.privacy_url,
        csrf=session_csrf(runtime, session_id),
    )


@post("/redeem/accept", include_in_schema=False, status_code=303)
async def accept(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    try:
        form = await read_form(request)
        session_id = _session_id(request) or ""
    except RedemptionError:
        return forbidden()
    if not session_id or not check_session_csrf(runtime, session_id, form):
        return forbidden()
    try:
        target = await redemption.accept(
            runtime.uow(), session_id=session_id, now=runtime.now(), request_id=request_id_var.get()
        )
    except RedemptionError as exc:
        return error_page(exc)
    if (resumed := await resume_after_accept(request, session_id)) is not None:
        return resumed  # the guest came from an app's sign-in: straight back to it
    return redirect_to(target)


@post("/redeem/decline", include_in_schema=False, status_code=303)
async def decline(request: Request[Any, Any, Any]) -> Response[str]:
    """The guest declines: the invitation ends, its link stops working."""
    runtime = runtime_of(request)
    try:
        form = await read_form(request)
    except RedemptionError:
        return forbidden()
    session_id = _session_id(request) or ""
    if not session_id or not check_session_csrf(runtime, session_id, form):
        return forbidden()
    try:
        status, link = await redemption.decline(
            runtime.uow(),
            session_id=session_id,
            sealer=runtime.sealer,
            now=runtime.now(),
            request_id=request_id_var.get(),
        )
    except RedemptionError as exc:
        return error_page(exc)
    org = link.tenant.name
    if status == COMPLETED:  # an accept won the race: say so, and lead on
        text = f"You accepted the invitation to {org} already; it can no longer be declined."
        return message(409, "Invitation already accepted", text, **branding(link.tenant))
    if status != DECLINED:
        return error_page(RedemptionError(redemption.INVALID, "This invitation was withdrawn."))
    runtime.worker.wake()
    return see_other(f"/redeem/declined?tenant={link.tenant.id}")


async def _tenant(request: Request[Any, Any, Any]) -> Tenant | None:
    tenant = request.query_params.get("tenant", "")
    return await tenants.page_tenant(runtime_of(request).uow(write=False), tenant)


@get("/redeem/declined", include_in_schema=False)
async def declined(request: Request[Any, Any, Any]) -> Response[str]:
    """After a decline: what happened and what the guest can do."""
    tenant = await _tenant(request)
    org = None if tenant is None else tenant.name
    return message(
        200,
        "You declined the invitation",
        f"{org or 'The organization'} will not add you as a guest, and the invitation link no"
        " longer works. Nothing else was shared.",
        "Changed your mind? Ask the person who invited you to send a new invitation.",
        **branding(tenant),
    )


@get("/welcome", include_in_schema=False)
async def welcome(request: Request[Any, Any, Any]) -> Response[str]:
    """The default inviteRedirectUrl: a plain confirmation page."""
    tenant = await _tenant(request)
    org = None if tenant is None else tenant.name
    return message(
        200,
        f"Welcome to {org}" if org else "You're all set",
        f"You now have guest access to {org or 'the organization'}. You can close this page.",
        **branding(tenant),
    )


@get("/static/guestgate.css", include_in_schema=False)
async def stylesheet() -> Response[bytes]:
    return Response(
        (STATIC / "guestgate.css").read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


ROUTES = [
    *(landing, start, code_page, resend, verify, consent_page, accept, decline, declined),
    *(welcome, stylesheet),
]
