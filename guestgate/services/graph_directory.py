"""Microsoft 365 mode: Microsoft Graph is the directory; guestgate adds governance.

Graph creates the guest, sends the invitation email and runs redemption. This directory keeps
Graph under its per-tenant invitation limit, never re-sends a create whose outcome is unknown
without looking, and finishes every call to Graph before it opens a write transaction for
what governance records (a group-commit connection must never wait on the network).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from guestgate.domain import events as event_rules
from guestgate.domain.emails import EmailAddress
from guestgate.domain.invitations import (
    COMPLETED,
    DECLINED,
    EXPIRED,
    PENDING,
    REVOKED,
    InviteRequest,
)
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import iso
from guestgate.domain.users import ACCEPTED, GUEST, MEMBER
from guestgate.domain.views import InvitationPage, InvitationQuery, InvitationView
from guestgate.errors import Conflict, GraphRefused, GuestgateError, UnknownOutcome, UpstreamTimeout
from guestgate.services import events
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
from guestgate.services.ports import UnitOfWork

DEFAULT_REDIRECT = "https://myapplications.microsoft.com"
DOMAINS_TTL_SECONDS = 600.0
log = logging.getLogger("guestgate.graph")
USER_FIELDS = "id,mail,displayName,userType,externalUserState,createdDateTime"


class GraphApi(Protocol):
    """Microsoft Graph over HTTP (adapters/graph.py): the parsed JSON answer, None for 204."""

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        json: Any = None,
        params: dict[str, str] | None = None,
        safe_to_repeat: bool = True,
    ) -> Any: ...


class InvitationLimiter(Protocol):
    async def acquire(self, tenant_id: str) -> None:
        """Wait for a turn under Graph's invitation limit of the tenant."""
        ...


class AppTokens(Protocol):
    async def token(self) -> str:
        """An app-only Graph token of guestgate's own app registration in the tenant."""
        ...


class GraphDirectory:
    name = "graph"
    is_identity_provider = False

    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        *,
        client: GraphApi,
        limiter: InvitationLimiter,
        app_tokens: AppTokens | None,  # None: forward each caller's own token
        now: Callable[[], datetime],
    ) -> None:
        self.uow = uow
        self.client = client
        self.limiter = limiter
        self.app_tokens = app_tokens
        self.now = now
        # Each tenant's verified domains, read from Graph when a requester is to be told.
        self._domains: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def _token(self, actor: Actor) -> str:
        if self.app_tokens is not None:
            return await self.app_tokens.token()
        assert actor.credential is not None, "graph mode without an app needs the caller's token"
        return actor.credential

    async def _record(
        self,
        actor: Actor,
        record: Record,
        change: Any,
        *,
        microsoft_mails: bool = False,
        invitation: dict[str, Any] | None = None,
    ) -> bool:
        """Record the change; `microsoft_mails`: Graph accepted it with its invitation
        mail, which Microsoft sends, so it is `invitation.sent` here (guestgate sees no mail
        server in this mode). `invitation`: Graph's answer to an invitation, whose id is
        kept with its guest so either id finds it later."""
        now = self.now()
        async with self.uow() as uow:
            if invitation is not None:
                await self._remember(uow, actor, invitation, now)
            mailed = await record(uow, actor, change, now)
            if microsoft_mails:
                await events.emit(
                    uow,
                    tenant_id=actor.tenant_id,
                    event_type=event_rules.INVITATION_SENT,
                    data={"invitationId": change.view.id, "userId": change.view.user_id}
                    | event_rules.actor_data(actor.app_id or None, actor.request_id),
                    now=now + timedelta(microseconds=1),  # numbered after the change's event
                )
            await uow.commit()
        return mailed

    async def invite(
        self, actor: Actor, request: InviteRequest, *, gate: Gate, record: Record
    ) -> Outcome:
        # The policy in a short read of its own; the requester is looked up in Entra after it,
        # so no transaction waits on the network.
        async with self.uow(write=False) as uow:
            policy = await gate.policy(uow, actor)

        async def is_member(address: EmailAddress) -> bool:
            return await self._is_member(actor, address)

        await gate.check(actor, request, policy, is_member)
        created = await self._create(actor, await self._token(actor), request)
        user = created.get("invitedUser") or {}
        user_id = str(user.get("id", ""))
        view = InvitationView(
            id=str(created.get("id", "")),
            user_id=user_id,
            email=str(created.get("invitedUserEmailAddress", request.email.address)),
            display_name=str(
                created.get("invitedUserDisplayName")
                or request.display_name
                or request.email.address.split("@")[0]
            ),
            user_type=str(created.get("invitedUserType", GUEST)),
            status=str(created.get("status", PENDING)),
            redirect_url=str(
                created.get("inviteRedirectUrl", request.redirect_url or DEFAULT_REDIRECT)
            ),
            send_message=request.send_message,
            requested_by=None if request.requested_by is None else request.requested_by.address,
            more=request.more,
            message_info=request.message_info,
            created_by_app=actor.app_id,
            redeem_url=str(created.get("inviteRedeemUrl", "")),
        )
        organization = actor.tenant_name or "your organization"
        domains: tuple[str, ...] = ()
        if request.requested_by is not None:
            domains = await self._verified_domains(actor, await self._token(actor))
        change = Invited(
            view=view,
            request=request,
            created=True,
            organization=organization,
            organization_domains=domains,
        )
        mailed = await self._record(
            actor, record, change, microsoft_mails=request.send_message, invitation=created
        )
        return Outcome(view=view, mailed=mailed)

    @staticmethod
    async def _remember(
        uow: UnitOfWork, actor: Actor, invitation: dict[str, Any], now: datetime
    ) -> None:
        invitation_id = str(invitation.get("id") or "").lower()
        user_id = str((invitation.get("invitedUser") or {}).get("id") or "").lower()
        if is_guid(invitation_id) and is_guid(user_id) and invitation_id != user_id:
            await uow.graph_invitations.add(actor.tenant_id, invitation_id, user_id, now=iso(now))

    async def _user_id(self, actor: Actor, ref: str) -> str:
        """The guest's user id for `ref`, an invitation id guestgate kept or a user id."""
        async with self.uow(write=False) as uow:
            found = await uow.graph_invitations.user_id(actor.tenant_id, ref)
        return found or ref

    async def _invited_guest(self, actor: Actor, token: str, ref: str) -> dict[str, Any]:
        """The guest of an invitation id or user id; the 404 names both kinds."""
        user_id = await self._user_id(actor, ref)
        try:
            return await self._guest(token, user_id)
        except GraphRefused as exc:
            if exc.graph_status == 404:
                raise invitation_not_found(ref) from None
            raise

    async def _create(self, actor: Actor, token: str, request: InviteRequest) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "invitedUserEmailAddress": request.email.address,
            "inviteRedirectUrl": request.redirect_url or DEFAULT_REDIRECT,
            "sendInvitationMessage": request.send_message,
        }
        if request.display_name:
            payload["invitedUserDisplayName"] = request.display_name
        if request.message_info is not None:
            payload["invitedUserMessageInfo"] = request.message_info.to_json()
        if request.reset_user_id is not None:
            # Graph's resetRedemption: the same user object redeems again.
            payload["resetRedemption"] = True
            payload["invitedUser"] = {"id": request.reset_user_id}
        await self.limiter.acquire(actor.tenant_id)
        try:
            return dict(await self._post_invitation(token, payload))
        except UnknownOutcome:
            pass
        # The create may have landed. Look before sending it again: if the guest exists, ask
        # for a fresh redeem link without a second email; if not, the first never arrived.
        if await self._find_user_by_mail(token, request.email.address) is not None:
            payload["sendInvitationMessage"] = False
        await self.limiter.acquire(actor.tenant_id)
        try:
            return dict(await self._post_invitation(token, payload))
        except UnknownOutcome:
            raise UpstreamTimeout(
                "Microsoft Graph did not answer; the invitation may exist."
                " Retry: re-inviting is safe.",
                code="GraphTimeout",
            ) from None

    async def _verified_domains(self, actor: Actor, token: str) -> tuple[str, ...]:
        """The tenant's verified domains, so a requester on one of them can be told; cached
        for ten minutes. Read after the invitation exists: if Graph cannot say, the
        invitation stands and the requester is not mailed (the audit row says so)."""
        moment = time.monotonic()
        cached = self._domains.get(actor.tenant_id)
        if cached is not None and moment - cached[0] < DOMAINS_TTL_SECONDS:
            return cached[1]
        try:
            answer = await self.client.call(
                "GET", "/v1.0/organization", token=token, params={"$select": "verifiedDomains"}
            )
            found = (answer or {}).get("value") or [{}]
            names = tuple(
                str(d["name"]).lower()
                for d in found[0].get("verifiedDomains") or []
                if isinstance(d, dict) and d.get("name")
            )
        except GuestgateError:
            log.warning("the tenant's verified domains could not be read from Graph")
            return ()
        self._domains[actor.tenant_id] = (moment, names)
        return names

    async def _post_invitation(self, token: str, payload: dict[str, Any]) -> Any:
        return await self.client.call(
            "POST", "/v1.0/invitations", token=token, json=payload, safe_to_repeat=False
        )

    async def _find_user_by_mail(self, token: str, address: str) -> str | None:
        quoted = address.replace("'", "''")
        answer = await self.client.call(
            "GET",
            "/v1.0/users",
            token=token,
            params={"$filter": f"mail eq '{quoted}'", "$select": "id"},
        )
        found = (answer or {}).get("value") or []
        return str(found[0]["id"]) if found else None

    async def _guest(self, token: str, user_id: str) -> dict[str, Any]:
        return dict(
            await self.client.call(
                "GET", f"/v1.0/users/{user_id}", token=token, params={"$select": USER_FIELDS}
            )
        )

    async def get(self, actor: Actor, invitation_id: str) -> InvitationView:
        """A guest from Graph as an invitation: Graph keeps none, so the id is the user's
        or an invitation id guestgate kept when it made the invitation."""
        return _view(await self._invited_guest(actor, await self._token(actor), invitation_id))

    async def list(self, actor: Actor, query: InvitationQuery) -> InvitationPage:
        """Guests from Graph's users query, as invitations; Graph's own skiptoken pages them."""
        if query.status in (REVOKED, EXPIRED, DECLINED):
            # Graph keeps none of these: revoked guests are deleted, and declining is guestgate's
            return InvitationPage(items=())
        clauses = ["userType eq 'Guest'"]
        if query.status == PENDING:
            clauses.append("externalUserState eq 'PendingAcceptance'")
        elif query.status == COMPLETED:
            clauses.append("externalUserState eq 'Accepted'")
        if query.email is not None:
            clauses.append("mail eq '{}'".format(query.email.replace("'", "''")))
        params = {"$filter": " and ".join(clauses), "$select": USER_FIELDS, "$top": str(query.top)}
        if query.skiptoken is not None:
            params["$skiptoken"] = query.skiptoken
        token = await self._token(actor)
        answer = await self.client.call("GET", "/v1.0/users", token=token, params=params) or {}
        next_link = answer.get("@odata.nextLink")
        following = None
        if isinstance(next_link, str):
            found = parse_qs(urlsplit(next_link).query).get("$skiptoken")
            following = found[0] if found else None
        return InvitationPage(
            items=tuple(_view(g) for g in answer.get("value", [])), next_token=following
        )

    async def resend(self, actor: Actor, invitation_id: str, *, record: Record) -> Outcome:
        """Invite the guest again with an email; only while the guest has not accepted."""
        token = await self._token(actor)
        guest = await self._invited_guest(actor, token, invitation_id)
        if guest.get("externalUserState") == ACCEPTED:
            raise Conflict(
                "Only pending invitations can be resent; this guest accepted.",
                code="InvitationNotPending",
            )
        await self.limiter.acquire(actor.tenant_id)
        created = await self._post_invitation(
            token,
            {
                "invitedUserEmailAddress": guest["mail"],
                "inviteRedirectUrl": DEFAULT_REDIRECT,
                "sendInvitationMessage": True,
            },
        )
        view = _view(guest, redeem_url=str(created.get("inviteRedeemUrl", "")))
        mailed = await self._record(
            actor, record, Resent(view=view), microsoft_mails=True, invitation=dict(created)
        )
        return Outcome(view=view, mailed=mailed)

    async def revoke(self, actor: Actor, invitation_id: str, *, record: Record) -> Outcome:
        """Revoking in graph mode deletes the guest user: the redeem link stops working."""
        token = await self._token(actor)
        guest = await self._invited_guest(actor, token, invitation_id)
        if guest.get("userType") != GUEST:
            raise Conflict("Only guests can be revoked.", code="NotAGuest")
        await self.client.call("DELETE", f"/v1.0/users/{guest['id']}", token=token)
        view = _view(guest, status=REVOKED)
        mailed = await self._record(actor, record, Revoked(view=view))
        return Outcome(view=view, mailed=mailed)

    async def delete_user(self, actor: Actor, ref: str, *, record: Record) -> None:
        token = await self._token(actor)
        guest = await self._guest(token, ref)
        if guest.get("userType") != GUEST:
            raise Conflict("Only guests can be deleted through this API.", code="NotAGuest")
        await self.client.call("DELETE", f"/v1.0/users/{ref}", token=token)
        change = UserDeleted(user_id=str(guest.get("id")), email=str(guest.get("mail") or ""))
        await self._record(actor, record, change)

    async def _is_member(self, actor: Actor, address: EmailAddress) -> bool:
        """Whether Entra holds a member (not a guest) with this mail address."""
        quoted = address.ascii_address.replace("'", "''")
        answer = await self.client.call(
            "GET",
            "/v1.0/users",
            token=await self._token(actor),
            params={"$filter": f"mail eq '{quoted}'", "$select": "id,userType"},
        )
        found = (answer or {}).get("value") or []
        return any(isinstance(u, dict) and u.get("userType") == MEMBER for u in found)


def _view(
    guest: dict[str, Any], *, status: str | None = None, redeem_url: str | None = None
) -> InvitationView:
    accepted = guest.get("externalUserState") == ACCEPTED
    return InvitationView(
        id=str(guest.get("id")),
        user_id=str(guest.get("id")),
        email=str(guest.get("mail") or ""),
        display_name=str(guest.get("displayName") or ""),
        user_type=str(guest.get("userType") or GUEST),
        status=status or (COMPLETED if accepted else PENDING),
        redirect_url="",
        send_message=False,
        requested_by=None,
        created_at=str(guest.get("createdDateTime") or ""),
        redeem_url=redeem_url,
    )
