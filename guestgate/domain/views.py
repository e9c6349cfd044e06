"""What a directory answers about invitations, the same in local and Microsoft 365 mode.

Both directories (guestgate's own database, or Microsoft Graph) describe an invitation with
these types; the web routes and the CLI shape them into the GT365 and Graph wire formats.
Timestamps are as Microsoft Graph writes them: seconds and ``Z``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from guestgate.domain.invitations import Invitation, MessageInfo
from guestgate.domain.timestamps import graph_time
from guestgate.domain.users import User


@dataclass(frozen=True, slots=True)
class InvitationView:
    """One invitation. In Microsoft 365 mode, Graph keeps no invitations after it answers the
    create: there `id` is the guest user's id everywhere but in the create's own answer."""

    id: str
    user_id: str
    email: str
    display_name: str
    user_type: str
    status: str
    redirect_url: str
    send_message: bool
    requested_by: str | None
    more: dict[str, Any] = field(default_factory=dict)
    message_info: MessageInfo | None = None
    created_by_app: str | None = None
    created_at: str = ""
    expires_at: str | None = None
    completed_at: str | None = None
    revoked_at: str | None = None
    redeem_url: str | None = None  # only in the answers that make a new link

    @classmethod
    def of(
        cls, invitation: Invitation, user: User | None, now: datetime, *, redeem_url: str | None
    ) -> InvitationView:
        """A stored invitation (and its guest, when read) as the caller sees it now."""
        return cls(
            id=invitation.id,
            user_id=invitation.user_id,
            email=invitation.email,
            display_name="" if user is None else user.display_name,
            user_type="" if user is None else user.user_type,
            status=invitation.status_at(now),
            redirect_url=invitation.redirect_url,
            send_message=invitation.send_message,
            requested_by=invitation.requested_by,
            more=invitation.more,
            message_info=invitation.message_info,
            created_by_app=invitation.created_by_app,
            created_at=graph_time(invitation.created_at) or "",
            expires_at=graph_time(invitation.expires_at),
            completed_at=graph_time(invitation.completed_at),
            revoked_at=graph_time(invitation.revoked_at),
            redeem_url=redeem_url,
        )


@dataclass(frozen=True, slots=True)
class InvitationPage:
    """One page of invitations, newest first; `next_token` fetches the following page."""

    items: tuple[InvitationView, ...]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class InvitationQuery:
    """Which invitations to list: by status and address, `top` at a time."""

    status: str | None = None
    email: str | None = None
    top: int = 100
    skiptoken: str | None = None
