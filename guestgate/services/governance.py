"""Governance: the rules every invitation follows, in local and in Microsoft 365 mode alike.

This is the one place for a rule about invitations. `check_invite` is the gate every
invitation passes before a directory sees it (the GT365 API, bulk, the Graph-compatible
surface and the CLI all come through `InvitationService`): a rule that refuses an invitation
raises here, and nothing is stored or sent. `record` is what guestgate keeps of every change
a directory made (the audit trail, the requester's notification, and the events to come); it
runs inside the directory's write transaction, so the change and its records are stored
together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from guestgate.domain.apps import READWRITE_USERS, grants
from guestgate.domain.invitations import InviteRequest
from guestgate.domain.messages import RequesterNotification
from guestgate.domain.timestamps import iso
from guestgate.domain.users import MEMBER
from guestgate.errors import ValidationError
from guestgate.services import outbox
from guestgate.services.directory import (
    Actor,
    Change,
    Invited,
    Resent,
    Revoked,
    UserDeleted,
)
from guestgate.services.ports import Sealer, UnitOfWork


class Governance:
    def __init__(self, *, sealer: Sealer, directory: str) -> None:
        self.sealer = sealer
        self.directory = directory  # recorded with every audit event

    async def check_invite(self, actor: Actor, request: InviteRequest) -> None:
        """The invitation gate. The request's own fields were validated when it was built
        (domain/invitations.py); rules about who may invite whom raise here."""
        if (
            request.user_type == MEMBER
            and actor.permissions is not None
            and not grants(actor.permissions, READWRITE_USERS)
        ):
            raise ValidationError(
                "Inviting members needs an administrator permission (User.ReadWrite.All).",
                code="InvitedUserTypeNotAllowed",
            )

    async def record(self, uow: UnitOfWork, actor: Actor, change: Change, now: datetime) -> bool:
        """Audit the change and queue what it owes others; True when mail was queued."""
        stamp = iso(now)
        details: dict[str, Any]
        match change:
            case Invited(view=view, request=request, created=created):
                action = "invitation.create" if created else "invitation.reinvite"
                target, requester = view.user_id, view.requested_by
                details = {"invitationId": view.id, "email": request.email.ascii_address}
                if request.more:
                    details["more"] = request.more
            case Resent(view=view):
                action, target, requester = "invitation.resend", view.user_id, None
                details = {"invitationId": view.id}
            case Revoked(view=view):
                action, target, requester = "invitation.revoke", view.user_id, None
                details = {"invitationId": view.id}
            case UserDeleted(user_id=user_id, email=email):
                action, target, requester = "user.delete", user_id, None
                details = {"email": email}
        details["directory"] = self.directory
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id or None,
            actor=requester,
            action=action,
            target=target,
            request_id=actor.request_id,
            created_at=stamp,
            details=details,
        )
        if isinstance(change, Invited) and change.request.requested_by is not None:
            await self._notify_requester(uow, actor, change, now)
            return True
        return False

    async def _notify_requester(
        self, uow: UnitOfWork, actor: Actor, change: Invited, now: datetime
    ) -> None:
        requester = change.request.requested_by
        assert requester is not None
        notification = RequesterNotification(
            to=requester.address, org=change.organization, guest=change.request.email.address
        )
        await outbox.enqueue(
            uow, sealer=self.sealer, tenant_id=actor.tenant_id, message=notification, now=now
        )
