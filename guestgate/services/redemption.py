"""The guest's side: open the link, prove the address with a one-time code, accept or decline.

Opening the link changes nothing (mail scanners open every link). Only the guest's POSTs
create a session, send a code, verify it and accept or decline; each step checks the
previous one.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from guestgate import metrics
from guestgate.domain import events as event_rules
from guestgate.domain import invitations as invitation_rules
from guestgate.domain import redemption as rules
from guestgate.domain import throttle as throttle_rules
from guestgate.domain.invitations import Invitation
from guestgate.domain.messages import NOTICE_DECLINED, OneTimeCodeMail, RequesterNotification
from guestgate.domain.redemption import RedeemSession
from guestgate.domain.tenants import Tenant
from guestgate.domain.throttle import Limit
from guestgate.domain.timestamps import iso, parse_iso
from guestgate.errors import RedemptionError
from guestgate.services import events, outbox
from guestgate.services.invitation_policies import DOMAIN_BLOCKED as DOMAIN_BLOCKED
from guestgate.services.invitation_policies import check_redeemable
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.requesters import stored_requester_belongs

INVALID = "invalid_link"
EXPIRED = "expired_link"
WRONG_CODE = "wrong_code"
CODE_EXPIRED = "code_expired"
CODE_LOCKED = "code_locked"
TOO_SOON = "too_soon"
NO_SESSION = "no_session"
DISABLED = "user_disabled"  # the guest's account is disabled (accountEnabled false)


@dataclass(frozen=True, slots=True)
class Link:
    invitation: Invitation
    tenant: Tenant


async def link_in(
    uow: UnitOfWork, tenant_id: str, user_id: str, ticket: str, now: datetime
) -> Link:
    invitation = await uow.invitations.get_by_ticket(invitation_rules.ticket_hash(ticket))
    # Unknown, revoked, declined and superseded links look alike: nothing tells a guesser
    # which is which.
    if (
        invitation is None
        or invitation.tenant_id != tenant_id
        or invitation.user_id != user_id
        or invitation.status in invitation_rules.DEAD_LINK
    ):
        raise RedemptionError(INVALID, "This invitation link is not valid.")
    if invitation.status_at(now) == invitation_rules.EXPIRED:
        raise RedemptionError(EXPIRED, "This invitation has expired.")
    user = await uow.users.get(tenant_id, user_id)
    if user is not None and not user.account_enabled:
        raise RedemptionError(DISABLED, "AADSTS50057: The user account is disabled.")
    tenant = await uow.tenants.get(tenant_id)
    assert tenant is not None
    if invitation.status == invitation_rules.PENDING:
        await check_redeemable(uow, invitation, tenant.name)
    return Link(invitation=invitation, tenant=tenant)


async def open_link(
    uow: UnitOfWork, *, tenant_id: str, user_id: str, ticket: str, now: datetime
) -> Link:
    """What the redeem link points at, changing nothing (`link_in`: in the caller's tx)."""
    async with uow:
        return await link_in(uow, tenant_id, user_id, ticket, now)


async def _within(uow: UnitOfWork, limit: Limit, invitation_id: str, now: datetime) -> bool:
    """Count one more against the invitation's `limit`; whether it is still within it.

    Counted in the use-case's own transaction: refused, it rolls back with the rest."""
    count = await uow.rate_limits.hit(
        limit.key(invitation_id),
        now_ms=int(now.timestamp() * 1000),
        window_ms=limit.window_seconds * 1000,
    )
    if throttle_rules.over(count, limit):
        metrics.throttled(limit.name)
        return False
    return True


async def _send_code(
    uow: UnitOfWork, link: Link, session: str, *, code_key: bytes, sealer: Sealer, now: datetime
) -> None:
    if not await _within(uow, rules.CODES_PER_INVITATION, link.invitation.id, now):
        raise RedemptionError(
            TOO_SOON, "Too many codes were sent for this invitation. Try again tomorrow."
        )
    code = rules.new_code()
    await uow.redeem_sessions.set_code(
        session,
        code_hash=rules.code_hash(code_key, session, code),
        expires_at=iso(now + timedelta(seconds=rules.CODE_LIFETIME_SECONDS)),
        now=iso(now),
    )
    # The code goes only to the invited address, whatever a form might claim.
    await outbox.enqueue(
        uow,
        sealer=sealer,
        tenant_id=link.tenant.id,
        message=OneTimeCodeMail(
            to=link.invitation.email,
            org=link.tenant.name,
            code=code,
            logo_url=link.tenant.logo_url,
            language=None
            if link.invitation.message_info is None
            else link.invitation.message_info.message_language,
        ),
        now=now,
    )


async def start(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    user_id: str,
    ticket: str,
    session_id: str,
    code_key: bytes,
    sealer: Sealer,
    now: datetime,
) -> Link:
    """The guest asks for a code: a redemption session starts and a code is mailed."""
    session = rules.session_hash(session_id)
    async with uow:
        link = await link_in(uow, tenant_id, user_id, ticket, now)
        if link.invitation.status != invitation_rules.PENDING:
            return link  # already accepted: the page leads on to the redirect
        # Only while this link is still the invitation's: a resend or revoke racing it would
        # otherwise leave a session of the old link behind, and it would still accept.
        if not await uow.redeem_sessions.add_if_current(
            session_hash=session,
            invitation_id=link.invitation.id,
            ticket_hash=invitation_rules.ticket_hash(ticket),
            now=iso(now),
            expires_at=iso(now + timedelta(seconds=rules.SESSION_LIFETIME_SECONDS)),
        ):
            raise RedemptionError(INVALID, "This invitation link is not valid.")
        if not await _within(uow, rules.SESSIONS_PER_INVITATION, link.invitation.id, now):
            raise RedemptionError(
                TOO_SOON, "This invitation was opened too often today. Try again tomorrow."
            )
        await _send_code(uow, link, session, code_key=code_key, sealer=sealer, now=now)
        await uow.commit()
    return link


async def start_proven(
    uow: UnitOfWork, *, tenant_id: str, user_id: str, email_key: str, session_id: str, now: datetime
) -> bool:
    """A verified redemption session of the guest's newest pending invitation, for an address
    already proven by a sign-in code; False when nothing is pending. The caller commits."""
    newest = await uow.invitations.list(
        tenant_id,
        now=iso(now),
        status=invitation_rules.PENDING,
        email_key=email_key,
        after=None,
        limit=1,
    )
    if not newest or newest[0].user_id != user_id:
        return False
    tenant = await uow.tenants.get(tenant_id, links=False)
    await check_redeemable(uow, newest[0], "" if tenant is None else tenant.name)
    if not await _within(uow, rules.SESSIONS_PER_INVITATION, newest[0].id, now):
        raise RedemptionError(
            TOO_SOON, "This invitation was opened too often today. Try again tomorrow."
        )
    # Added under a hash nobody holds, then verified onto the browser's: no code is left.
    unproven = rules.session_hash(rules.new_session_id())
    await uow.redeem_sessions.add(
        session_hash=unproven,
        invitation_id=newest[0].id,
        now=iso(now),
        expires_at=iso(now + timedelta(seconds=rules.SESSION_LIFETIME_SECONDS)),
    )
    proven = rules.session_hash(session_id)
    await uow.redeem_sessions.verify(unproven, new_hash=proven, now=iso(now))
    return True


async def proven_guest(uow: UnitOfWork, *, session_id: str, now: datetime) -> str | None:
    """The guest whose address a verified redemption session proved, or None."""
    state = await uow.redeem_sessions.get(rules.session_hash(session_id))
    if state is None or state.verified_at is None or state.expires_at <= iso(now):
        return None
    invitation = await uow.invitations.get_by_id(state.invitation_id)
    return None if invitation is None else invitation.user_id


async def _session(uow: UnitOfWork, session_id: str, now: datetime) -> tuple[RedeemSession, Link]:
    state = await uow.redeem_sessions.get(rules.session_hash(session_id))
    if state is None or state.expires_at <= iso(now):
        raise RedemptionError(NO_SESSION, "Your session has ended. Open the invitation link again.")
    # A session is bound to one invitation when it starts; it can act on no other.
    invitation = await uow.invitations.get_by_id(state.invitation_id)
    if invitation is None or invitation.status in invitation_rules.DEAD_LINK:
        raise RedemptionError(INVALID, "This invitation link is not valid.")
    if invitation.status_at(now) == invitation_rules.EXPIRED:
        raise RedemptionError(EXPIRED, "This invitation has expired.")
    tenant = await uow.tenants.get(invitation.tenant_id)
    assert tenant is not None
    return state, Link(invitation=invitation, tenant=tenant)


async def session_state(uow: UnitOfWork, *, session_id: str, now: datetime) -> tuple[Link, bool]:
    """The session's invitation, and whether its code was verified."""
    async with uow:
        state, link = await _session(uow, session_id, now)
    return link, state.verified_at is not None


async def resend_code(
    uow: UnitOfWork, *, session_id: str, code_key: bytes, sealer: Sealer, now: datetime
) -> Link:
    """A new code (earlier codes stop working), at most every 30 s and 5 per session."""
    session = rules.session_hash(session_id)
    async with uow:
        state, link = await _session(uow, session_id, now)
        if state.codes_sent >= rules.MAX_CODES_PER_SESSION:
            raise RedemptionError(
                TOO_SOON, "Too many codes were sent. Open the invitation link again later."
            )
        if (
            state.last_code_at
            and parse_iso(state.last_code_at) + timedelta(seconds=rules.RESEND_INTERVAL_SECONDS)
            > now
        ):
            raise RedemptionError(
                TOO_SOON, "A code was sent moments ago. Wait half a minute before asking again."
            )
        await _send_code(uow, link, session, code_key=code_key, sealer=sealer, now=now)
        await uow.commit()
    return link


async def verify_code(
    uow: UnitOfWork,
    *,
    session_id: str,
    new_session_id: str,
    code: str,
    code_key: bytes,
    now: datetime,
) -> Link:
    """Check the code; on success the session continues under `new_session_id`."""
    session = rules.session_hash(session_id)
    async with uow:
        state, link = await _session(uow, session_id, now)
        if state.code_hash is None or state.code_attempts >= rules.CODE_ATTEMPTS:
            raise RedemptionError(
                CODE_LOCKED, "This code can no longer be used. Ask for a new code."
            )
        assert state.code_expires_at is not None  # set together with the code
        if state.code_expires_at <= iso(now):
            raise RedemptionError(CODE_EXPIRED, "This code has expired. Ask for a new code.")
        # Count the attempt first, so parallel guesses cannot exceed the limit; the count is
        # committed whether or not the code is right. Per session and per invitation: new
        # sessions and other addresses buy no more guesses.
        if not await _within(uow, rules.GUESSES_PER_INVITATION, link.invitation.id, now):
            raise RedemptionError(
                CODE_LOCKED, "Too many codes were tried for this invitation. Try again tomorrow."
            )
        if not await uow.redeem_sessions.count_attempt(session, rules.CODE_ATTEMPTS):
            raise RedemptionError(
                CODE_LOCKED, "This code can no longer be used. Ask for a new code."
            )
        given = rules.code_hash(code_key, session, code.strip())
        right = hmac.compare_digest(state.code_hash, given)
        if right:
            await uow.redeem_sessions.verify(
                session, new_hash=rules.session_hash(new_session_id), now=iso(now)
            )
        await uow.commit()
    if not right:
        left = rules.CODE_ATTEMPTS - state.code_attempts - 1
        raise RedemptionError(WRONG_CODE, "That code is not right.", attempts_left=max(left, 0))
    return link


async def accept(uow: UnitOfWork, *, session_id: str, now: datetime, request_id: str | None) -> str:
    """Accept the invitation of a verified session; returns where to send the guest."""
    async with uow:
        state, link = await _session(uow, session_id, now)
        if state.verified_at is None:
            raise RedemptionError(NO_SESSION, "Confirm your email address first.")
        invitation = link.invitation
        if invitation.status != invitation_rules.PENDING:
            return invitation.redirect_url  # accepted already: lead on to the redirect
        # The guest's row first, as a re-invite or reset locks it before the invitations, so
        # the two wait for each other instead of deadlocking.
        await uow.users.lock(invitation.user_id)
        # Conditional update: of an accept and a revoke, resend or second accept racing it,
        # exactly one changes the row; the others see the state that won.
        if not await uow.invitations.set_status(
            invitation.id,
            status=invitation_rules.COMPLETED,
            from_status=invitation_rules.PENDING,
            now=iso(now),
        ):
            won = await uow.invitations.get_by_id(invitation.id)
            if won is None or won.status != invitation_rules.COMPLETED:
                raise RedemptionError(INVALID, "This invitation link is not valid.")
            return won.redirect_url
        await uow.users.mark_accepted(invitation.user_id, iso(now))
        await uow.audit.record(
            tenant_id=invitation.tenant_id,
            action="invitation.accept",
            target=invitation.user_id,
            request_id=request_id,
            created_at=iso(now),
            details={"invitationId": invitation.id},
        )
        await events.emit(
            uow,
            tenant_id=invitation.tenant_id,
            event_type=event_rules.INVITATION_REDEEMED,
            data={"invitationId": invitation.id, "userId": invitation.user_id}
            | event_rules.actor_data(None, request_id),
            now=now,
        )
        await uow.commit()
    metrics.invitation_redeemed()
    return invitation.redirect_url


async def decline(
    uow: UnitOfWork, *, session_id: str, sealer: Sealer, now: datetime, request_id: str | None
) -> tuple[str, Link]:
    """Decline the invitation of a verified session: its link stops working, and the
    requester, if they may be told, is told. Returns the invitation's status afterwards:
    Declined, or the status that won a race (Completed when an accept came first)."""
    async with uow:
        state, link = await _session(uow, session_id, now)
        if state.verified_at is None:
            raise RedemptionError(NO_SESSION, "Confirm your email address first.")
        invitation = link.invitation
        if invitation.status != invitation_rules.PENDING:
            return invitation.status, link
        await uow.users.lock(invitation.user_id)  # the lock order of accept and re-invite
        # Conditional update: of a decline and an accept, revoke, re-invite or second decline
        # racing it, exactly one changes the row; the others answer with the state that won.
        if not await uow.invitations.set_status(
            invitation.id,
            status=invitation_rules.DECLINED,
            from_status=invitation_rules.PENDING,
            now=iso(now),
        ):
            won = await uow.invitations.get_by_id(invitation.id)
            return (invitation_rules.REVOKED if won is None else won.status), link
        tell = await stored_requester_belongs(uow, link.tenant, invitation.requested_by)
        details: dict[str, str] = {"invitationId": invitation.id}
        if invitation.requested_by is not None:
            details["requesterNotice"] = "queued" if tell else "withheld"
        await uow.audit.record(
            tenant_id=invitation.tenant_id,
            action="invitation.decline",
            target=invitation.user_id,
            request_id=request_id,
            created_at=iso(now),
            details=details,
        )
        await events.emit(
            uow,
            tenant_id=invitation.tenant_id,
            event_type=event_rules.INVITATION_DECLINED,
            data={"invitationId": invitation.id, "userId": invitation.user_id}
            | event_rules.actor_data(None, request_id),
            now=now,
        )
        if tell:
            assert invitation.requested_by is not None
            notice = RequesterNotification(
                to=invitation.requested_by,
                org=link.tenant.name,
                guest=invitation.email,
                outcome=NOTICE_DECLINED,
                logo_url=link.tenant.logo_url,
            )
            await outbox.enqueue(
                uow, sealer=sealer, tenant_id=invitation.tenant_id, message=notice, now=now
            )
        await uow.commit()
    return invitation_rules.DECLINED, link
