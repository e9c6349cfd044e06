"""Local mode: guestgate's own database is the tenant's directory, and guestgate its mailer.

Each use-case is one transaction: the guest, the invitation, the invitation email (an outbox
row) and whatever governance records of the change are stored together, or none of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from guestgate.domain import invitations as rules
from guestgate.domain.emails import EmailAddress, domain_matches, parse_email
from guestgate.domain.invitations import Invitation, InviteRequest
from guestgate.domain.messages import InvitationMail
from guestgate.domain.paging import decode_cursor, encode_cursor
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso
from guestgate.domain.users import ACCEPTED, INVITATION, MEMBER, DeletedUser, User
from guestgate.domain.views import InvitationPage, InvitationQuery, InvitationView
from guestgate.errors import (
    Conflict,
    PermissionDenied,
    ValidationError,
)
from guestgate.services import outbox
from guestgate.services.directory import (
    Actor,
    Gate,
    Invited,
    Outcome,
    Record,
    Resent,
    Revoked,
    UserDeleted,
    invitation_not_found,
)
from guestgate.services.local_guests import guest_for, reset_redemption
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.requesters import requester_belongs
from guestgate.services.tenants import token_tenant
from guestgate.services.users import check_may_change, find_user


def _not_pending(action: str, status: str) -> Conflict:
    return Conflict(
        f"Only pending invitations can be {action}; this one is {status}.",
        code="InvitationNotPending",
    )


def default_redirect(public_url: str, tenant: Tenant) -> str:
    return tenant.landing_url or f"{public_url}/welcome?tenant={tenant.id}"


class LocalDirectory:
    name = "local"
    is_identity_provider = True

    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        *,
        sealer: Sealer,
        public_url: str,
        cursor_key: bytes,
        now: Callable[[], datetime],
        rng: Randomness = SYSTEM,
        ticket_key: bytes | None = None,
    ) -> None:
        self.uow = uow
        self.sealer = sealer
        self.public_url = public_url
        self.cursor_key = cursor_key
        self.now = now
        self.rng = rng
        # Derives each invitation's first ticket (rules.derived_ticket); without it tickets
        # are random and a retried bulk entry is invited again.
        self.ticket_key = ticket_key

    async def invite(
        self, actor: Actor, request: InviteRequest, *, gate: Gate, record: Record
    ) -> Outcome:
        """One guest per address, a fresh ticket on every call (a retried bulk entry: the
        equal pending invitation, unchanged)."""
        now = self.now()
        stamp = iso(now)
        # Drawn first, as before tickets could be derived: a seeded generator's order stays.
        ticket = "" if self.ticket_key is not None else rules.new_ticket(self.rng)
        async with self.uow() as uow:
            # The links (landing page for the default redirect, logo and privacy statement for
            # the email) are read fresh; an invite that needs neither may use the tenant cache.
            links = request.redirect_url is None or request.send_message
            tenant = await token_tenant(uow.tenants, actor.tenant_id, links=links)

            async def is_member(address: EmailAddress) -> bool:
                return await requester_belongs(uow, tenant, address)

            # In this transaction: a policy changed a moment ago applies, and no read of its own.
            await gate.check(actor, request, await gate.policy(uow, actor), is_member)
            if domain_matches(request.email.domain, tenant.domains):
                raise ValidationError(
                    f"{request.email.address} is on one of the organization's own domains;"
                    " members are not invited as guests.",
                    code="AddressInTenantDomain",
                )
            expires = rules.expiry(now, tenant.invitation_lifetime_days)
            invitation_id = ""
            if request.reset_user_id is not None:
                user = await reset_redemption(uow, actor, tenant, request, stamp)
                created = False
            else:
                user, created, invitation_id = await guest_for(
                    uow, actor, tenant, request, stamp, rng=self.rng, expires_at=expires
                )
            if request.sponsors:
                for sponsor in request.sponsors:
                    if await uow.users.get(tenant.id, sponsor) is None:
                        raise ValidationError(
                            f"The sponsor {sponsor} is not a user of the organization.",
                            code="InvalidSponsor",
                        )
                await uow.users.set_sponsors(user.id, list(request.sponsors))
            elif created and request.requested_by is not None:
                # Entra's default: the inviter sponsors a new guest no sponsor was named for.
                requester = await uow.users.get_by_email(tenant.id, request.requested_by.key)
                if requester is not None and requester.user_type == MEMBER:
                    await uow.users.set_sponsors(user.id, [requester.id])
            redirect = request.redirect_url or default_redirect(self.public_url, tenant)
            if not created and request.reset_user_id is None:
                if request.retry_safe:
                    repeat = await self._repeat(uow, actor, user, request, redirect, now)
                    if repeat is not None:
                        await uow.commit()  # the sponsors, if named, are set as asked
                        return Outcome(view=repeat, mailed=False)
                # A re-invite: the new link is the only one that works.
                await uow.invitations.revoke_pending_of_user(user.id, stamp)
            accepted = user.external_user_state == ACCEPTED
            invitation_id = invitation_id or self.rng.uuid()
            if self.ticket_key is not None:
                ticket = rules.derived_ticket(self.ticket_key, invitation_id)
            invitation = Invitation(
                id=invitation_id,
                tenant_id=tenant.id,
                user_id=user.id,
                email=request.email.address,
                status=rules.COMPLETED if accepted else rules.PENDING,
                redirect_url=redirect,
                send_message=request.send_message,
                requested_by=None if request.requested_by is None else request.requested_by.address,
                more=request.more,
                message_info=request.message_info,
                created_by_app=actor.app_id,
                created_at=stamp,
                expires_at=None if accepted else expires,
                completed_at=stamp if accepted else None,
                revoked_at=None,
            )
            await uow.invitations.add(invitation, rules.ticket_hash(ticket), listed=created)
            url = rules.redeem_url(self.public_url, tenant.id, user.id, ticket)
            if request.send_message:
                await self._enqueue_invitation(uow, tenant, user, invitation, url, now)
            view = InvitationView.of(invitation, user, now, redeem_url=url)
            change = Invited(view=view, request=request, created=created, organization=tenant.name)
            notified = await record(uow, actor, change, now)
            await uow.commit()
        return Outcome(view=view, mailed=request.send_message or notified)

    async def _repeat(
        self,
        uow: UnitOfWork,
        actor: Actor,
        user: User,
        request: InviteRequest,
        redirect: str,
        now: datetime,
    ) -> InvitationView | None:
        """The guest's newest invitation, if `request` repeats it: still pending, made by
        the same app within the repeat window, asking the same, and its first link still
        the live one (no resend since). Its link is derived again, so it is the mailed one."""
        if self.ticket_key is None:
            return None
        newest = await uow.invitations.list(
            user.tenant_id,
            now=iso(now),
            status=rules.PENDING,
            email_key=request.email.key,
            after=None,
            limit=1,
        )
        if not newest or newest[0].user_id != user.id:
            return None
        f = newest[0]
        requester = None if request.requested_by is None else request.requested_by.address
        asked = (redirect, request.send_message, requester, request.more, request.message_info)
        made = (f.redirect_url, f.send_message, f.requested_by, f.more, f.message_info)
        if (
            f.created_by_app != actor.app_id
            or f.created_at < iso(now - rules.REPEAT_WINDOW)
            or asked != made
        ):
            return None
        ticket = rules.derived_ticket(self.ticket_key, f.id)
        live = await uow.invitations.get_by_ticket(rules.ticket_hash(ticket))
        if live is None or live.id != f.id:
            return None
        url = rules.redeem_url(self.public_url, user.tenant_id, user.id, ticket)
        return InvitationView.of(f, user, now, redeem_url=url)

    async def _enqueue_invitation(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        user: User,
        invitation: Invitation,
        url: str,
        now: datetime,
    ) -> None:
        info = invitation.message_info
        cc: tuple[str | None, str] | None = None
        if info is not None and info.cc_recipients:
            cc = (info.cc_recipients[0].name, info.cc_recipients[0].address)
        mail = InvitationMail(
            to=invitation.email,
            to_name=user.display_name,
            cc=cc,
            org=tenant.name,
            logo_url=tenant.logo_url,
            inviter=invitation.requested_by,
            redeem_url=url,
            language=None if info is None else info.message_language,
            body=None if info is None else info.customized_message_body,
            expires=invitation.expires_at,
            invitation_id=invitation.id,
            user_id=user.id,
        )
        await outbox.enqueue(
            uow, sealer=self.sealer, tenant_id=tenant.id, message=mail, now=now, rng=self.rng
        )

    async def get(self, actor: Actor, invitation_id: str) -> InvitationView:
        async with self.uow(write=False) as uow:
            found = await self._invitation(uow, actor.tenant_id, invitation_id)
        return InvitationView.of(found, None, self.now(), redeem_url=None)

    async def list(self, actor: Actor, query: InvitationQuery) -> InvitationPage:
        if query.status is not None and query.status not in rules.STATUSES:
            raise ValidationError(
                f"status must be one of {', '.join(rules.STATUSES)}.", code="InvalidStatusFilter"
            )
        # A paging token is valid only for the tenant and filters that produced it.
        scope = f"invitations|{actor.tenant_id}|{query.status}|{query.email}"
        after = (
            None
            if query.skiptoken is None
            else decode_cursor(self.cursor_key, scope, query.skiptoken)
        )
        key = None if query.email is None else parse_email(query.email, field="email").key
        now = self.now()
        async with self.uow(write=False) as uow:
            found = await uow.invitations.list(
                actor.tenant_id,
                now=iso(now),
                status=query.status,
                email_key=key,
                after=after,
                limit=query.top + 1,
            )
        token = None
        if len(found) > query.top:
            last = found[query.top - 1]
            token = encode_cursor(self.cursor_key, scope, (last.created_at, last.id))
        items = tuple(InvitationView.of(i, None, now, redeem_url=None) for i in found[: query.top])
        return InvitationPage(items=items, next_token=token)

    async def resend(self, actor: Actor, invitation_id: str, *, record: Record) -> Outcome:
        """A new ticket (the old link stops working), a new expiry, and the email again."""
        now = self.now()
        ticket = rules.new_ticket(self.rng)
        async with self.uow() as uow:
            tenant = await token_tenant(uow.tenants, actor.tenant_id)
            invitation = await self._invitation(uow, tenant.id, invitation_id)
            user = await uow.users.get(tenant.id, invitation.user_id)
            if user is None:  # deleted since the invitation was read, with its invitations
                raise invitation_not_found(invitation_id)
            check_may_change(actor.permissions, user)
            if invitation.status != rules.PENDING:
                raise _not_pending("resent", invitation.status)
            expires_at = rules.expiry(now, tenant.invitation_lifetime_days)
            # Conditional on the invitation still pending: an accept or revoke that committed
            # since the read above wins, and then no ticket is stored, so none is mailed.
            if not await uow.invitations.replace_ticket(
                invitation.id, ticket_hash=rules.ticket_hash(ticket), expires_at=expires_at
            ):
                raise _not_pending("resent", await self._status_now(uow, invitation))
            # The old link stops working, and with it every session started from it.
            await uow.redeem_sessions.end_for_invitation(invitation.id)
            refreshed = replace(invitation, expires_at=expires_at)
            url = rules.redeem_url(self.public_url, tenant.id, user.id, ticket)
            await self._enqueue_invitation(uow, tenant, user, refreshed, url, now)
            view = InvitationView.of(refreshed, user, now, redeem_url=url)
            await record(uow, actor, Resent(view=view), now)
            await uow.commit()
        return Outcome(view=view, mailed=True)

    async def revoke(self, actor: Actor, invitation_id: str, *, record: Record) -> Outcome:
        """Kill the invitation's ticket; the guest can no longer redeem it."""
        now = self.now()
        async with self.uow() as uow:
            invitation = await self._invitation(uow, actor.tenant_id, invitation_id)
            user = await uow.users.get(actor.tenant_id, invitation.user_id)
            if user is None:  # deleted since the invitation was read, with its invitations
                raise invitation_not_found(invitation_id)
            check_may_change(actor.permissions, user)
            if invitation.status == rules.REVOKED:
                return Outcome(InvitationView.of(invitation, None, now, redeem_url=None), False)
            if invitation.status != rules.PENDING:
                raise _not_pending("revoked", invitation.status)
            # Conditional update: a final accept that committed since the read above wins.
            if not await uow.invitations.set_status(
                invitation.id, status=rules.REVOKED, from_status=rules.PENDING, now=iso(now)
            ):
                won = await self._status_now(uow, invitation)
                if won != rules.REVOKED:
                    raise _not_pending("revoked", won)
                stored = await uow.invitations.get(actor.tenant_id, invitation.id)
                if stored is None:  # the guest was deleted meanwhile, with its invitations
                    raise invitation_not_found(invitation_id)
                return Outcome(InvitationView.of(stored, None, now, redeem_url=None), False)
            await uow.redeem_sessions.end_for_invitation(invitation.id)
            revoked = replace(invitation, status=rules.REVOKED, revoked_at=iso(now))
            view = InvitationView.of(revoked, None, now, redeem_url=None)
            await record(uow, actor, Revoked(view=view), now)
            await uow.commit()
        return Outcome(view=view, mailed=False)

    async def _invitation(self, uow: UnitOfWork, tenant_id: str, ref: str) -> Invitation:
        """By invitation id, or by the guest's user id (the `id` a 201 answers with): then the
        guest's newest invitation, the one a re-invite left pending."""
        found = await uow.invitations.get(tenant_id, ref.lower())
        if found is not None:
            return found
        user = await uow.users.get(tenant_id, ref.lower())
        if user is not None:
            newest = await uow.invitations.list(
                tenant_id,
                now=iso(self.now()),
                status=None,
                email_key=user.email_key,
                after=None,
                limit=1,
            )
            if newest:
                return newest[0]
        raise invitation_not_found(ref)

    @staticmethod
    async def _status_now(uow: UnitOfWork, invitation: Invitation) -> str:
        """The stored status after a conditional update changed nothing: the state that won."""
        stored = await uow.invitations.get(invitation.tenant_id, invitation.id)
        return rules.REVOKED if stored is None else stored.status

    async def delete_user(self, actor: Actor, ref: str, *, record: Record) -> None:
        """Move an invited user to deleted items; their invitations go, so every link stops."""
        now = self.now()
        async with self.uow() as uow:
            user = await find_user(uow, actor.tenant_id, ref)
            if user.creation_type != INVITATION:
                raise PermissionDenied(
                    "Only invited users can be deleted through this API.",
                    code="Authorization_RequestDenied",
                )
            check_may_change(actor.permissions, user)
            # Soft, as Entra's deleted items: kept for restore until purged (services/
            # local_user_admin.py); the users row goes, so no query and no sign-in finds it.
            kept = DeletedUser(
                user=user,
                sponsors=tuple(await uow.users.sponsors(user.id)),
                deleted_at=iso(now),
                last_sign_in_at=await uow.users.last_sign_in(user.id),
            )
            await uow.deleted_users.add(kept)
            await uow.users.delete(user.id)
            await record(uow, actor, UserDeleted(user_id=user.id, email=user.email_key), now)
            await uow.commit()
