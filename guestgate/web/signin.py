"""The sign-in pages: the address, then the one-time code; the app then gets its code.

Built like the redemption pages (web/forms.py): server-rendered, no JavaScript needed,
CSRF tokens bound to a cookie, the challenge addressed by an HttpOnly cookie only.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from guestgate.domain import redemption as codes
from guestgate.domain import signin as rules
from guestgate.errors import RedemptionError, ValidationError
from guestgate.logs import request_id_var
from guestgate.runtime import Runtime
from guestgate.services import redemption, signin, signin_codes
from guestgate.web.auth import runtime_of
from guestgate.web.branding import branding, logo_path
from guestgate.web.forms import SESSION_COOKIE as REDEEM_COOKIE
from guestgate.web.forms import (
    check_csrf,
    cookie,
    cookie_name,
    csrf,
    forbidden,
    message,
    read_form,
    render,
    see_other,
)
from guestgate.web.oidc import (
    FORM_COOKIE,
    SESSION_COOKIE,
    code_response,
    session_seconds,
    sign_in_page,
)
from guestgate.web.page_throttle import count_failure, throttled

CHALLENGE_COOKIE = "gg_signin_challenge"


FAILURES = "wrong codes"


def _challenge_csrf(runtime: Runtime, challenge_id: str) -> str:
    return csrf(runtime, f"challenge:{codes.session_hash(challenge_id)}")


def _ended() -> Response[str]:
    return message(
        403,
        "This sign-in has ended",
        "Go back to the app and sign in again.",
    )


@post("/signin/start", include_in_schema=False, status_code=303)
async def start(request: Request[Any, Any, Any]) -> Response[str]:
    """The address is given: a code goes to it if it has an account."""
    runtime = runtime_of(request)
    try:
        form = await read_form(request)
    except RedemptionError:
        return forbidden()
    nonce = request.cookies.get(cookie_name(runtime, FORM_COOKIE), "")
    if not nonce or not check_csrf(runtime, f"signin:{nonce}", form):
        return forbidden()
    try:
        pending, _ = signin.open_request(runtime.sealer, form.get("request", ""))
    except ValueError:
        return forbidden()
    try:
        signin.check_email(form.get("email", ""))
    except RedemptionError as exc:
        found, app = await signin.find_client(
            runtime.uow(write=False), tenant_ref=pending.tenant_id, client_id=pending.client_id
        )
        return sign_in_page(
            runtime,
            pending,
            org=found.name,
            logo=logo_path(found),
            app_name=app.name if app else "",
            email=form.get("email", "")[:254],
            error=exc.message,
            status=400,
        )
    challenge_id = codes.new_session_id()
    try:
        mailed = await signin_codes.start(
            runtime.uow(),
            sealed_request=form["request"],
            email=form["email"],
            challenge_id=challenge_id,
            code_key=runtime.form_key,
            sealer=runtime.sealer,
            now=runtime.now(),
            request_id=request_id_var.get(),
        )
    except (RedemptionError, ValidationError) as exc:
        return message(400, "Sign-in could not continue", exc.message)
    if mailed:
        runtime.worker.wake()
    return see_other(
        "/signin/code",
        cookies=[cookie(runtime, CHALLENGE_COOKIE, challenge_id, rules.CHALLENGE_LIFETIME_SECONDS)],
    )


def _code_page(
    runtime: Runtime, challenge_id: str, pending: signin.Pending, error: str = "", status: int = 200
) -> Response[str]:
    return render(
        "signin_code.html",
        status,
        **branding(pending.tenant),
        title="Enter your code",
        masked=codes.mask_address(pending.email),
        csrf=_challenge_csrf(runtime, challenge_id),
        error=error,
    )


def _challenge_id(request: Request[Any, Any, Any]) -> str:
    return request.cookies.get(cookie_name(runtime_of(request), CHALLENGE_COOKIE), "")


@get("/signin/code", include_in_schema=False)
async def code_page(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    challenge_id = _challenge_id(request)
    if not challenge_id:
        return _ended()
    try:
        pending = await signin_codes.pending(
            runtime.uow(write=False),
            challenge_id=challenge_id,
            sealer=runtime.sealer,
            now=runtime.now(),
        )
    except RedemptionError:
        return _ended()
    return _code_page(runtime, challenge_id, pending)


async def _checked_post(
    request: Request[Any, Any, Any],
) -> tuple[dict[str, str], str] | Response[str]:
    runtime = runtime_of(request)
    try:
        form = await read_form(request)
    except RedemptionError:
        return forbidden()
    challenge_id = _challenge_id(request)
    if not challenge_id:
        return _ended()
    if not check_csrf(runtime, f"challenge:{codes.session_hash(challenge_id)}", form):
        return forbidden()
    return form, challenge_id


@post("/signin/resend", include_in_schema=False, status_code=303)
async def resend(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    checked = await _checked_post(request)
    if isinstance(checked, Response):
        return checked
    _, challenge_id = checked
    try:
        mailed = await signin_codes.resend(
            runtime.uow(),
            challenge_id=challenge_id,
            code_key=runtime.form_key,
            sealer=runtime.sealer,
            now=runtime.now(),
        )
    except RedemptionError as exc:
        if exc.reason != rules.TOO_SOON:
            return _ended()
        pending = await signin_codes.pending(
            runtime.uow(write=False),
            challenge_id=challenge_id,
            sealer=runtime.sealer,
            now=runtime.now(),
        )
        return _code_page(runtime, challenge_id, pending, exc.message, status=429)
    if mailed:
        runtime.worker.wake()
    return see_other("/signin/code")


@post("/signin/verify", include_in_schema=False, status_code=303)
async def verify(request: Request[Any, Any, Any]) -> Response[str]:
    """The code is right: a session starts and the browser goes back to the app."""
    runtime = runtime_of(request)
    checked = await _checked_post(request)
    if isinstance(checked, Response):
        return checked
    form, challenge_id = checked
    if (refused := await throttled(request, FAILURES)) is not None:
        return refused
    session_id = codes.new_session_id()
    lifetime = session_seconds(runtime)
    try:
        issued = await signin_codes.verify(
            runtime.uow(),
            challenge_id=challenge_id,
            code=form.get("code", "")[:16],
            session_id=session_id,
            session_seconds=lifetime,
            code_key=runtime.form_key,
            sealer=runtime.sealer,
            now=runtime.now(),
            request_id=request_id_var.get(),
        )
    except RedemptionError as exc:
        if exc.reason == rules.NO_CHALLENGE:
            return _ended()
        if exc.reason == rules.NO_INVITATION:
            return message(403, "Your invitation is no longer open", exc.message)
        if exc.reason == rules.USER_DISABLED:
            return message(403, "Your account is disabled", exc.message)
        if exc.reason == redemption.DOMAIN_BLOCKED:  # a right code: no failure to count
            return message(403, "This invitation can no longer be accepted", exc.message)
        await count_failure(request)
        pending = await signin_codes.pending(
            runtime.uow(write=False),
            challenge_id=challenge_id,
            sealer=runtime.sealer,
            now=runtime.now(),
        )
        text = exc.message
        if exc.reason == rules.WRONG_CODE:
            left = exc.attempts_left or 0
            text = (
                f"{exc.message} {left} attempt{'s' if left != 1 else ''} left."
                if left
                else "That code is not right, and it can no longer be used. Ask for a new code."
            )
        return _code_page(runtime, challenge_id, pending, text, status=400)
    if isinstance(issued, signin_codes.Redeeming):
        # A guest who has not accepted: consent first; the challenge cookie stays, so the
        # accept comes back here (resume_after_accept) instead of the invitation's redirect.
        return see_other(
            "/redeem/consent",
            cookies=[
                cookie(runtime, REDEEM_COOKIE, issued.session_id, codes.SESSION_LIFETIME_SECONDS)
            ],
        )
    return code_response(
        runtime,
        issued,
        cookies=[
            cookie(runtime, SESSION_COOKIE, session_id, lifetime),
            cookie(runtime, CHALLENGE_COOKIE, "", 0),
        ],
    )


async def resume_after_accept(
    request: Request[Any, Any, Any], redeem_session_id: str
) -> Response[str] | None:
    """The answer to the app whose sign-in led this browser to accept, or None."""
    runtime = runtime_of(request)
    challenge_id = _challenge_id(request)
    if not challenge_id:
        return None
    session_id = codes.new_session_id()
    lifetime = session_seconds(runtime)
    issued = await signin_codes.resume(
        runtime.uow(),
        challenge_id=challenge_id,
        redeem_session_id=redeem_session_id,
        session_id=session_id,
        session_seconds=lifetime,
        sealer=runtime.sealer,
        now=runtime.now(),
        request_id=request_id_var.get(),
    )
    if issued is None:
        return None
    return code_response(
        runtime,
        issued,
        cookies=[
            cookie(runtime, SESSION_COOKIE, session_id, lifetime),
            cookie(runtime, CHALLENGE_COOKIE, "", 0),
        ],
    )


ROUTES = [start, code_page, resend, verify]
