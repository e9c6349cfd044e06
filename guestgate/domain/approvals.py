"""Approval requests: an invitation the tenant's policy holds for an approver.

A request keeps the invitation exactly as it was asked for (its validated `InviteRequest`,
stored as JSON), who asked, and until when it stays open. It is decided once: approved (the
invitation is then made, and its answer kept sealed), declined with a comment, or expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from guestgate.domain.emails import parse_email
from guestgate.domain.invitations import InviteRequest, MessageInfo
from guestgate.domain.text import check_text
from guestgate.domain.timestamps import iso
from guestgate.errors import ValidationError

PENDING = "PendingApproval"
APPROVED = "Approved"
DECLINED = "Declined"
EXPIRED = "Expired"
STATUSES = (PENDING, APPROVED, DECLINED, EXPIRED)

MAX_COMMENT = 1000
COMMENT_CODE = "InvalidApprovalComment"


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    id: str
    tenant_id: str
    status: str
    email: str
    requested_by: str | None
    sponsors: tuple[str, ...]
    request: dict[str, Any]  # the InviteRequest, as `request_json` wrote it
    app_id: str | None  # the app that asked (None: the CLI)
    asked_by: str | None  # the signed-in person who asked (the console)
    created_at: str
    expires_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    comment: str | None = None
    answer: str | None = None  # the invitation's answer, sealed (it holds the redeem link)

    def state(self, now: datetime) -> str:
        """The status a reader sees: an open request past its time is expired, swept or not."""
        if self.status == PENDING and self.expires_at <= iso(now):
            return EXPIRED
        return self.status


def expiry(now: datetime, days: int) -> str:
    return iso(now + timedelta(days=days))


def check_comment(value: object) -> str | None:
    """An approver's comment: optional text, at most 1,000 characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("comment must be a string.", code=COMMENT_CODE)
    return (
        check_text(
            value,
            field="comment",
            code=COMMENT_CODE,
            max_length=MAX_COMMENT,
            allow_line_breaks=True,
            allow_empty=True,
        ).strip()
        or None
    )


def request_json(request: InviteRequest) -> dict[str, Any]:
    """An InviteRequest as stored with its approval request."""
    return {
        "email": request.email.address,
        "redirectUrl": request.redirect_url,
        "sendMessage": request.send_message,
        "displayName": request.display_name,
        "requestedBy": None if request.requested_by is None else request.requested_by.address,
        "more": request.more,
        "messageInfo": None if request.message_info is None else request.message_info.to_json(),
        "userType": request.user_type,
        "resetUserId": request.reset_user_id,
        "sponsors": list(request.sponsors),
    }


def request_of(data: dict[str, Any]) -> InviteRequest:
    """The stored request back; it was validated when it was made."""
    info = data.get("messageInfo")
    requester = data.get("requestedBy")
    return InviteRequest(
        email=parse_email(data["email"]),
        redirect_url=data.get("redirectUrl"),
        send_message=bool(data.get("sendMessage")),
        display_name=data.get("displayName"),
        requested_by=None if requester is None else parse_email(requester, field="requestedBy"),
        more=dict(data.get("more") or {}),
        message_info=None if info is None else MessageInfo.from_json(info),
        user_type=data.get("userType") or "Guest",
        reset_user_id=data.get("resetUserId"),
        sponsors=tuple(data.get("sponsors") or ()),
    )
