"""Sign-in by a one-time code mailed to the account's address, like Entra's email OTP.

Members and guests get a code; any other address sees the same pages and receives nothing,
so the pages do not tell who has an account. A guest who has not accepted yet proves the
address with the code, goes through the consent page of their newest pending invitation and,
once they accept, on to the app: the challenge row holds the authorization request meanwhile.
Guesses are counted in the database per challenge (five per code, five codes per challenge).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from guestgate.domain import oidc
from guestgate.domain import redemption as codes
from guestgate.domain import signin as rules
from guestgate.domain.emails import parse_email
from guestgate.domain.messages import OneTimeCodeMail
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.signin import Challenge, SignInSession
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso, parse_iso
from guestgate.domain.users import User
from guestgate.errors import RedemptionError
from guestgate.services import outbox, redemption
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.signin import (
    Issued,
    Pending,
    issue_code,
    open_request,
    record_attempt,
    seal_request,
)


@dataclass(frozen=True, slots=True)
class Redeeming:
    """The code was right but the guest has not accepted: the browser goes to consent."""

    session_id: str


def _gets_code(user: User | None) -> bool:
    # A disabled account gets its code too: only a right code learns that it is disabled,
    # as Entra says so only after the password.
    return oidc.may_sign_in(user) or oidc.must_redeem_first(user) or oidc.is_disabled(user)


async def _send_code(
    uow: UnitOfWork,
    challenge_hash: str,
    tenant: Tenant,
    user: User | None,
    *,
    code_key: bytes,
    sealer: Sealer,
    now: datetime,
    rng: Randomness,
) -> None:
    code_hash = None
    if user is not None:
        code = rng.digits(codes.CODE_DIGITS)
        code_hash = codes.code_hash(code_key, challenge_hash, code)
        # The code goes only to the account's own address, whatever the form said.
        await outbox.enqueue(
            uow,
            sealer=sealer,
            tenant_id=tenant.id,
            message=OneTimeCodeMail(to=user.mail, org=tenant.name, code=code),
            now=now,
        )
    await uow.signin.set_challenge_code(
        challenge_hash,
        code_hash=code_hash,
        expires_at=iso(now + timedelta(seconds=codes.CODE_LIFETIME_SECONDS)),
        now=iso(now),
    )


async def start(
    uow: UnitOfWork,
    *,
    sealed_request: str,
    email: str,
    challenge_id: str,
    code_key: bytes,
    sealer: Sealer,
    now: datetime,
    request_id: str | None,
    rng: Randomness = SYSTEM,
) -> bool:
    """The address is typed in: a challenge starts and, if it has an account, a code is mailed.

    Returns whether mail was queued (the caller wakes the outbox worker).
    """
    request, _ = open_request(sealer, sealed_request)
    address = parse_email(email.strip(), field="email")
    challenge_hash = codes.session_hash(challenge_id)
    async with uow:
        tenant = await uow.tenants.get(request.tenant_id)
        if tenant is None:
            raise RedemptionError(rules.NO_CHALLENGE, "This organization no longer exists.")
        user = await uow.users.get_by_email(tenant.id, address.key)
        eligible = user if _gets_code(user) else None
        reason = rules.NO_ACCOUNT
        since = iso(now - timedelta(seconds=rules.CODE_MAIL_WINDOW_SECONDS))
        if (
            eligible is not None
            and await uow.signin.recent_challenges(eligible.id, since=since)
            >= rules.CODE_MAILS_PER_WINDOW
        ):
            # Whoever knows an address could otherwise flood its mailbox with codes.
            eligible, reason = None, rules.TOO_MANY_CODES
        await uow.signin.add_challenge(
            Challenge(
                challenge_hash=challenge_hash,
                tenant_id=tenant.id,
                user_id=None if eligible is None else eligible.id,
                request=seal_request(sealer, request, address.address),
                code_hash=None,
                code_expires_at=None,
                code_attempts=0,
                codes_sent=0,
                last_code_at=None,
                created_at=iso(now),
                expires_at=iso(now + timedelta(seconds=rules.CHALLENGE_LIFETIME_SECONDS)),
            )
        )
        await _send_code(
            uow,
            challenge_hash,
            tenant,
            eligible,
            code_key=code_key,
            sealer=sealer,
            now=now,
            rng=rng,
        )
        if eligible is None:
            await record_attempt(
                uow,
                tenant_id=tenant.id,
                user_id=None if user is None else user.id,
                app_id=request.client_id,
                reason=reason,
                now=now,
                request_id=request_id,
            )
        await uow.commit()
    return eligible is not None


async def _challenge(
    uow: UnitOfWork, challenge_id: str, sealer: Sealer, now: datetime
) -> tuple[Challenge, Pending]:
    challenge = await uow.signin.get_challenge(codes.session_hash(challenge_id))
    if challenge is None or challenge.expires_at <= iso(now):
        raise RedemptionError(
            rules.NO_CHALLENGE, "This sign-in has ended. Go back to the app and sign in again."
        )
    tenant = await uow.tenants.get(challenge.tenant_id)
    if tenant is None:
        raise RedemptionError(rules.NO_CHALLENGE, "This organization no longer exists.")
    request, email = open_request(sealer, challenge.request)
    app = await uow.apps.get(request.client_id)
    if app is None or app.tenant_id != tenant.id:
        # Deleted while the user was signing in: no code may be issued to it.
        raise RedemptionError(rules.NO_CHALLENGE, "This app is no longer registered.")
    return challenge, Pending(request=request, email=email, tenant=tenant)


async def pending(uow: UnitOfWork, *, challenge_id: str, sealer: Sealer, now: datetime) -> Pending:
    """The sign-in a challenge cookie belongs to (for the code page)."""
    async with uow:
        return (await _challenge(uow, challenge_id, sealer, now))[1]


async def resend(
    uow: UnitOfWork,
    *,
    challenge_id: str,
    code_key: bytes,
    sealer: Sealer,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> bool:
    """A new code (the old one stops working), at most every 30 s and 5 per sign-in."""
    async with uow:
        challenge, found = await _challenge(uow, challenge_id, sealer, now)
        if challenge.codes_sent >= rules.MAX_CODES_PER_CHALLENGE:
            raise RedemptionError(
                rules.TOO_SOON, "Too many codes were sent. Go back to the app and start again."
            )
        last = challenge.last_code_at
        if last and parse_iso(last) + timedelta(seconds=rules.RESEND_INTERVAL_SECONDS) > now:
            raise RedemptionError(
                rules.TOO_SOON,
                "A code was sent moments ago. Wait half a minute before asking again.",
            )
        user = None
        if challenge.user_id is not None:
            user = await uow.users.get(challenge.tenant_id, challenge.user_id)
            user = user if _gets_code(user) else None
        await _send_code(
            uow,
            challenge.challenge_hash,
            found.tenant,
            user,
            code_key=code_key,
            sealer=sealer,
            now=now,
            rng=rng,
        )
        await uow.commit()
    return user is not None


async def verify(
    uow: UnitOfWork,
    *,
    challenge_id: str,
    code: str,
    session_id: str,
    session_seconds: int,
    code_key: bytes,
    sealer: Sealer,
    now: datetime,
    request_id: str | None,
    rng: Randomness = SYSTEM,
) -> Issued | Redeeming:
    """Check the code; on success a session starts and the app gets an authorization code.

    For a guest who has not accepted, `session_id` becomes a verified redemption session of
    their newest pending invitation instead, and the challenge waits for the accept."""
    challenge_hash = codes.session_hash(challenge_id)
    reason: str | None = None
    attempts_left = 0
    redeeming: Redeeming | None = None
    async with uow:
        challenge, found = await _challenge(uow, challenge_id, sealer, now)
        request = found.request
        if challenge.code_attempts >= rules.CODE_ATTEMPTS or not challenge.code_expires_at:
            reason = rules.CODE_LOCKED
        elif challenge.code_expires_at <= iso(now):
            reason = rules.CODE_EXPIRED
        # Count the attempt first, so parallel guesses cannot exceed the limit.
        elif not await uow.signin.count_challenge_attempt(challenge_hash, rules.CODE_ATTEMPTS):
            reason = rules.CODE_LOCKED
        else:
            given = codes.code_hash(code_key, challenge_hash, code.strip())
            # A challenge without an account has no code: every guess is wrong.
            right = challenge.code_hash is not None and hmac.compare_digest(
                challenge.code_hash, given
            )
            user = None
            if right and challenge.user_id is not None:
                user = await uow.users.get(challenge.tenant_id, challenge.user_id)
            if oidc.is_disabled(user):
                reason = rules.USER_DISABLED
            elif user is not None and oidc.must_redeem_first(user):
                if await redemption.start_proven(
                    uow,
                    tenant_id=user.tenant_id,
                    user_id=user.id,
                    email_key=user.email_key,
                    session_id=session_id,
                    now=now,
                ):
                    # The code is spent; the challenge keeps the request until the accept.
                    await uow.signin.set_challenge_code(
                        challenge_hash, code_hash=None, expires_at=iso(now), now=iso(now)
                    )
                    redeeming = Redeeming(session_id=session_id)
                else:
                    reason = rules.NO_INVITATION
            elif user is None or not oidc.may_sign_in(user):
                reason = rules.WRONG_CODE
                attempts_left = max(rules.CODE_ATTEMPTS - challenge.code_attempts - 1, 0)
            else:
                await uow.signin.delete_challenge(challenge_hash)
                session = SignInSession(
                    session_hash=codes.session_hash(session_id),
                    sid=rng.uuid(),
                    tenant_id=challenge.tenant_id,
                    user_id=user.id,
                    auth_time=iso(now),
                    expires_at=iso(now + timedelta(seconds=session_seconds)),
                    ended_at=None,
                )
                await uow.signin.add_session(session)
                issued = await issue_code(
                    uow,
                    request,
                    session,
                    user,
                    method="email_otp",
                    now=now,
                    request_id=request_id,
                    rng=rng,
                )
        if reason is not None:
            await record_attempt(
                uow,
                tenant_id=challenge.tenant_id,
                user_id=challenge.user_id,
                app_id=request.client_id,
                reason=reason,
                now=now,
                request_id=request_id,
            )
        await uow.commit()
    if reason == rules.WRONG_CODE:
        raise RedemptionError(reason, "That code is not right.", attempts_left=attempts_left)
    if reason == rules.CODE_EXPIRED:
        raise RedemptionError(reason, "This code has expired. Ask for a new code.")
    if reason == rules.USER_DISABLED:
        raise RedemptionError(reason, oidc.DISABLED_MESSAGE)
    if reason == rules.NO_INVITATION:
        raise RedemptionError(
            reason, "Your invitation is no longer open. Ask whoever invited you for a new one."
        )
    if reason is not None:
        raise RedemptionError(reason, "This code can no longer be used. Ask for a new code.")
    return issued if redeeming is None else redeeming


async def resume(
    uow: UnitOfWork,
    *,
    challenge_id: str,
    redeem_session_id: str,
    session_id: str,
    session_seconds: int,
    sealer: Sealer,
    now: datetime,
    request_id: str | None,
    rng: Randomness = SYSTEM,
) -> Issued | None:
    """After an accept: the sign-in that led there continues, if this browser started one.

    Both rows come from this browser's cookies and must name the same guest, whose address
    the verified redemption session proved; None when there is nothing to continue."""
    async with uow:
        try:
            challenge, found = await _challenge(uow, challenge_id, sealer, now)
        except RedemptionError:
            return None
        guest = await redemption.proven_guest(uow, session_id=redeem_session_id, now=now)
        if guest is None or guest != challenge.user_id:
            return None
        user = await uow.users.get(challenge.tenant_id, guest)
        if user is None or not oidc.may_sign_in(user):
            return None
        await uow.signin.delete_challenge(challenge.challenge_hash)
        session = SignInSession(
            session_hash=codes.session_hash(session_id),
            sid=rng.uuid(),
            tenant_id=challenge.tenant_id,
            user_id=user.id,
            auth_time=iso(now),
            expires_at=iso(now + timedelta(seconds=session_seconds)),
            ended_at=None,
        )
        await uow.signin.add_session(session)
        issued = await issue_code(
            uow,
            found.request,
            session,
            user,
            method="email_otp",
            now=now,
            request_id=request_id,
            rng=rng,
        )
        await uow.commit()
    return issued
