"""Wire shapes of the GT365 API: request bodies and answers, as msgspec Structs.

Field names are the JSON names (camelCase), so the OpenAPI document shows what callers send.
"""

from __future__ import annotations

from typing import Any

import msgspec


class CcEmailAddress(msgspec.Struct):
    address: str
    name: str | None = None


class CcRecipient(msgspec.Struct):
    emailAddress: CcEmailAddress


class InvitedUserMessageInfo(msgspec.Struct):
    customizedMessageBody: str | None = None
    messageLanguage: str | None = None
    ccRecipients: list[CcRecipient] | None = None


class InviteGuestBody(msgspec.Struct):
    """POST /api/InviteGuest. Unknown fields are ignored (never stored)."""

    invitedUserEmailAddress: str | None = None
    inviteRedirectUrl: str | None = None
    sendInvitationMessage: bool = False
    invitedUserDisplayName: str | None = None
    requestedBy: str | None = None
    more: dict[str, Any] | None = None
    invitedUserMessageInfo: InvitedUserMessageInfo | None = None


class InviteGuestsBody(msgspec.Struct):
    """POST /api/InviteGuests: up to 500 invitations, each shaped as for /api/InviteGuest."""

    invitations: list[InviteGuestBody]


class InvitedUser(msgspec.Struct):
    id: str


class InviteGuestAnswer(msgspec.Struct):
    id: str
    invitedUserEmailAddress: str
    inviteRedeemUrl: str
    status: str
    sendInvitationMessage: bool
    invitedUserDisplayName: str
    inviteRedirectUrl: str
    invitedUserType: str
    invitedUser: InvitedUser
    invitationId: str
    expiresDateTime: str | None
    requestedBy: str | None
    more: dict[str, Any]


class InvitationView(msgspec.Struct):
    id: str
    invitedUser: InvitedUser
    invitedUserEmailAddress: str
    status: str
    inviteRedirectUrl: str
    sendInvitationMessage: bool
    requestedBy: str | None
    more: dict[str, Any]
    invitedUserMessageInfo: dict[str, Any] | None
    createdByAppId: str | None
    createdDateTime: str
    expiresDateTime: str | None
    completedDateTime: str | None
    revokedDateTime: str | None


class InvitationWithLink(InvitationView):
    inviteRedeemUrl: str


class InvitationPage(msgspec.Struct, omit_defaults=True):
    value: list[InvitationView]
    next: str | None = None


class InnerError(msgspec.Struct, rename={"request_id": "request-id"}):
    request_id: str
    date: str


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    innerError: InnerError


class ErrorBody(msgspec.Struct):
    """Every API error: GT365's `message` plus Graph's `error` object."""

    message: str
    error: ErrorDetail


class DirectoryObjectRef(msgspec.Struct):
    id: str | None = None


class GraphInvitationBody(msgspec.Struct):
    """POST /v1.0/invitations: Microsoft Graph's invitation resource."""

    invitedUserEmailAddress: str | None = None
    inviteRedirectUrl: str | None = None
    invitedUserDisplayName: str | None = None
    sendInvitationMessage: bool | None = None
    invitedUserMessageInfo: InvitedUserMessageInfo | None = None
    invitedUserType: str | None = None
    resetRedemption: bool | None = None
    invitedUser: DirectoryObjectRef | None = None
    invitedUserSponsors: list[DirectoryObjectRef] | None = None


class PendingApprovalAnswer(msgspec.Struct):
    """202: the invitation waits for an approver (docs/governance.md, Approval)."""

    requestId: str
    status: str  # PendingApproval
    statusUrl: str


class BulkItem(msgspec.Struct, omit_defaults=True):
    index: int
    status: int
    invitation: InviteGuestAnswer | None = None
    error: ErrorDetail | None = None
    approval: dict[str, str] | None = None  # 202: the request that waits for an approver


class BulkAnswer(msgspec.Struct):
    value: list[BulkItem]
    succeeded: int
    failed: int
