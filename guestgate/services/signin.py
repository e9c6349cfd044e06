"""Interactive sign-in: the email one-time code, the session it starts, authorization codes.

A sign-in proves the address with a code mailed through the outbox, like redemption. Only
members and guests who accepted their invitation get a code; any other address sees the
same page and receives nothing, so the page does not tell who has an account. Every
attempt, success or failure with its reason, goes to the audit trail and the user's
sign-in activity.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from guestgate.domain import oidc
from guestgate.domain import redemption as codes
from guestgate.domain.apps import App
from guestgate.domain.emails import parse_email
from guestgate.domain.oidc import AuthorizeRequest
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.signin import NO_CHALLENGE, AuthorizationCode, SignInSession
from guestgate.domain.tenants import Tenant, is_guid
from guestgate.domain.timestamps import iso, parse_iso
from guestgate.domain.users import User
from guestgate.errors import IntegrityError, RedemptionError, SignInPageError, ValidationError
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.tenants import find_tenant

_REQUEST_CONTEXT = "guestgate sign-in request v1"


@dataclass(frozen=True, slots=True)
class Pending:
    """What a challenge carries: the authorization request and the address typed in."""

    request: AuthorizeRequest
    email: str
    tenant: Tenant


@dataclass(frozen=True, slots=True)
class Issued:
    """An authorization code and where it goes."""

    code: str
    request: AuthorizeRequest
    user: User


def seal_request(sealer: Sealer, request: AuthorizeRequest, email: str = "") -> str:
    payload = {"request": json.loads(request.encode()), "email": email}
    return sealer.seal(json.dumps(payload).encode(), _REQUEST_CONTEXT)


def open_request(sealer: Sealer, sealed: str) -> tuple[AuthorizeRequest, str]:
    """The request a sign-in page carries; tampered or foreign blobs raise ValueError."""
    try:
        payload = json.loads(sealer.open(sealed, _REQUEST_CONTEXT))
        return AuthorizeRequest(**payload["request"]), str(payload["email"])
    except Exception as exc:  # any failure to open it means it is not ours
        raise ValueError("not a sign-in request of this server") from exc


async def find_client(
    uow: UnitOfWork, *, tenant_ref: str, client_id: str
) -> tuple[Tenant, App | None]:
    """The tenant of an authorize URL and the app it names (None if unknown)."""
    async with uow:
        tenant = await find_tenant(uow.tenants, tenant_ref)
        if tenant is None:
            raise SignInPageError("This organization was not found. Check the sign-in address.")
        cleaned = client_id.strip().lower()
        app = await uow.apps.get(cleaned) if is_guid(cleaned) else None
    return tenant, app


async def _session(
    uow: UnitOfWork, session_id: str, tenant_id: str, now: datetime
) -> tuple[SignInSession, User] | None:
    session = await uow.signin.get_session(codes.session_hash(session_id))
    if (
        session is None
        or session.tenant_id != tenant_id
        or session.ended_at is not None
        or session.expires_at <= iso(now)
    ):
        return None
    user = await uow.users.get(tenant_id, session.user_id)
    # Checked on every use: a user revoked, reset or deleted mid-session is signed out.
    if user is None or not oidc.may_sign_in(user):
        return None
    return session, user


async def issue_code(
    uow: UnitOfWork,
    request: AuthorizeRequest,
    session: SignInSession,
    user: User,
    *,
    method: str,
    now: datetime,
    request_id: str | None,
    rng: Randomness,
) -> Issued:
    code = rng.token(32)
    try:
        await add_code(uow, code, request, session, user, now)
    except IntegrityError:
        # The app (or the user) was deleted since it was checked: no code for it.
        raise RedemptionError(NO_CHALLENGE, "This app is no longer registered.") from None
    await uow.signin.record_activity(user.id, now=iso(now), success=True)
    await uow.audit.record(
        tenant_id=request.tenant_id,
        app_id=request.client_id,
        actor=user.id,
        action="signin.success",
        target=user.id,
        request_id=request_id,
        created_at=iso(now),
        details={"method": method, "appId": request.client_id},
    )
    return Issued(code=code, request=request, user=user)


async def sign_in_with_session(
    uow: UnitOfWork,
    *,
    request: AuthorizeRequest,
    session_id: str,
    now: datetime,
    request_id: str | None,
    rng: Randomness = SYSTEM,
) -> Issued | None:
    """A code for the user of a live session, or None when the browser must sign in."""
    async with uow:
        found = await _session(uow, session_id, request.tenant_id, now)
        if found is None:
            return None
        if (
            request.max_age is not None
            and parse_iso(found[0].auth_time) + timedelta(seconds=request.max_age) < now
        ):
            return None  # the user entered a code too long ago for this app: ask again
        issued = await issue_code(
            uow, request, *found, method="session", now=now, request_id=request_id, rng=rng
        )
        await uow.commit()
    return issued


async def record_attempt(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    user_id: str | None,
    app_id: str,
    reason: str,
    now: datetime,
    request_id: str | None,
) -> None:
    if user_id is not None:
        await uow.signin.record_activity(user_id, now=iso(now), success=False)
    await uow.audit.record(
        tenant_id=tenant_id,
        app_id=app_id,
        actor=user_id,
        action="signin.failure",
        target=user_id,
        request_id=request_id,
        created_at=iso(now),
        details={"reason": reason, "appId": app_id},
    )


async def record_failure(
    uow: UnitOfWork,
    *,
    request: AuthorizeRequest,
    reason: str,
    now: datetime,
    request_id: str | None,
) -> None:
    """A sign-in refused before any code (``prompt=none`` without a session, say)."""
    async with uow:
        await record_attempt(
            uow,
            tenant_id=request.tenant_id,
            user_id=None,
            app_id=request.client_id,
            reason=reason,
            now=now,
            request_id=request_id,
        )
        await uow.commit()


async def sign_out(uow: UnitOfWork, *, session_id: str, now: datetime) -> SignInSession | None:
    """End the browser's session; returns it (None if there was none)."""
    async with uow:
        session = await uow.signin.get_session(codes.session_hash(session_id))
        if session is None or not await uow.signin.end_session(session.session_hash, iso(now)):
            return None
        await uow.audit.record(
            tenant_id=session.tenant_id,
            actor=session.user_id,
            action="signin.logout",
            target=session.user_id,
            created_at=iso(now),
        )
        await uow.commit()
    return session


def check_email(value: str) -> str:
    try:
        return parse_email(value.strip(), field="email").address
    except ValidationError as exc:
        raise RedemptionError("invalid_email", exc.message) from None


async def sign_in_activity(
    uow: UnitOfWork, *, user_ids: Sequence[str]
) -> dict[str, tuple[str | None, str | None]]:
    """Each user's last sign-in and last successful sign-in (Graph's signInActivity)."""
    async with uow:
        return await uow.signin.activity(user_ids)


async def add_code(
    uow: UnitOfWork,
    code: str,
    request: AuthorizeRequest,
    session: SignInSession,
    user: User,
    now: datetime,
) -> None:
    await uow.signin.add_code(
        oidc.token_hash(code),
        AuthorizationCode(
            app_id=request.client_id,
            user_id=user.id,
            sid=session.sid,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            nonce=request.nonce,
            code_challenge=request.code_challenge,
            auth_time=session.auth_time,
            expires_at=iso(now + timedelta(seconds=oidc.CODE_LIFETIME_SECONDS)),
        ),
    )
