"""Outbound messages: what the outbox holds and how failed deliveries are retried."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar

INVITATION = "invitation"
REQUESTER_NOTIFICATION = "requester_notification"
ONE_TIME_CODE = "one_time_code"
REQUESTER_SUMMARY = "requester_summary"
WEBHOOK_DISABLED = "webhook_disabled"
LIFECYCLE_NOTICE = "lifecycle_notice"
KINDS = (INVITATION, REQUESTER_NOTIFICATION, ONE_TIME_CODE, REQUESTER_SUMMARY, WEBHOOK_DISABLED)

# What a requester notification tells.
NOTICE_INVITED = "invited"
NOTICE_DECLINED = "declined"
# What it tells of an invitation that waited for an approver (docs/governance.md, Approval).
NOTICE_APPROVED = "approved"
NOTICE_REFUSED = "refused"
NOTICE_LAPSED = "lapsed"
APPROVAL_NOTICES = (NOTICE_APPROVED, NOTICE_REFUSED, NOTICE_LAPSED)

PENDING = "pending"
SENT = "sent"
DEAD = "dead"

MAX_ATTEMPTS = 8
BASE_DELAY = 5.0  # seconds before the first retry
MAX_DELAY = 3600.0
LEASE = timedelta(seconds=60)  # renewed at half-time while a batch is being sent


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    tenant_id: str
    kind: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    sent_at: str | None
    payload: dict[str, Any] | None = None  # opened only by the worker


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A message leased to a worker for one delivery attempt (counted in `attempts`)."""

    id: str
    tenant_id: str
    kind: str
    recipient: str
    attempts: int
    sealed: str  # the payload, sealed with the outbox id as context


@dataclass(frozen=True, slots=True)
class InvitationMail:
    """The invitation email: the guest's redeem link, and the inviter's words."""

    kind: ClassVar[str] = INVITATION
    to: str
    to_name: str | None
    cc: tuple[str | None, str] | None  # (name, address)
    org: str
    logo_url: str | None
    inviter: str | None
    redeem_url: str
    language: str | None
    body: str | None
    expires: str | None
    # Which invitation the mail is for, for its `invitation.sent` event (older rows: none).
    invitation_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequesterNotification:
    """Tells the person in `requestedBy` that their guest was invited, or declined."""

    kind: ClassVar[str] = REQUESTER_NOTIFICATION
    to: str
    org: str
    guest: str
    language: str | None = None
    outcome: str = NOTICE_INVITED  # or NOTICE_DECLINED: the guest declined it
    logo_url: str | None = None
    comment: str | None = None  # an approver's, with the APPROVAL_NOTICES


@dataclass(frozen=True, slots=True)
class RequesterSummary:
    """Tells the person in `requestedBy` of a bulk call, once, which guests it invited, and
    which wait for an approver (`held`: each is invited, and the requester told, once
    approved)."""

    kind: ClassVar[str] = REQUESTER_SUMMARY
    to: str
    org: str
    guests: tuple[str, ...]
    language: str | None = None
    logo_url: str | None = None
    held: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OneTimeCodeMail:
    """The code that proves the guest reads the invited address."""

    kind: ClassVar[str] = ONE_TIME_CODE
    to: str
    org: str
    code: str
    language: str | None = None
    logo_url: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookDisabledNotice:
    """Tells a tenant administrator that guestgate stopped sending to a webhook endpoint."""

    kind: ClassVar[str] = WEBHOOK_DISABLED
    to: str
    org: str
    url: str  # without its query: it may hold a token
    reason: str
    language: str | None = None
    logo_url: str | None = None


@dataclass(frozen=True, slots=True)
class LifecycleNotice:
    """Tells a sponsor (one summary for all their guests) or a guest what a lifecycle policy
    will do and when; a sponsor's entries carry signed Keep and Remove links."""

    kind: ClassVar[str] = LIFECYCLE_NOTICE
    to: str
    org: str
    # (guest, action: disable or delete, day YYYY-MM-DD, keep link, remove link)
    entries: tuple[tuple[str, str, str, str, str], ...]
    to_guest: bool = False
    language: str | None = None
    logo_url: str | None = None


Payload = (
    InvitationMail
    | RequesterNotification
    | OneTimeCodeMail
    | RequesterSummary
    | WebhookDisabledNotice
    | LifecycleNotice
)
PAYLOADS: dict[str, type[Payload]] = {
    cls.kind: cls
    for cls in (
        InvitationMail,
        RequesterNotification,
        OneTimeCodeMail,
        RequesterSummary,
        WebhookDisabledNotice,
        LifecycleNotice,
    )
}


def encode_payload(payload: Payload) -> bytes:
    """What the outbox row holds (sealed): the message's fields as JSON."""
    return json.dumps(asdict(payload)).encode()


def decode_payload(kind: str, data: bytes) -> Payload:
    """The message back from its row; fields a newer version added are ignored."""
    cls = PAYLOADS[kind]
    raw = json.loads(data)
    values = {f.name: raw.get(f.name) for f in fields(cls) if f.name in raw}
    if cls is InvitationMail and values.get("cc") is not None:
        values["cc"] = tuple(values["cc"])
    if cls is RequesterSummary:
        for name in ("guests", "held"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
    if cls is LifecycleNotice and values.get("entries") is not None:
        values["entries"] = tuple(tuple(e) for e in values["entries"])
    return cls(**values)


def retry_delay(
    attempts: int, rng: random.Random | None = None, *, base: float = BASE_DELAY
) -> float:
    """Exponential backoff with jitter: uniform in [c/2, c], c = min(cap, base * 2^(n-1))."""
    ceiling = min(MAX_DELAY, base * 2 ** max(0, attempts - 1))
    return (rng or random.SystemRandom()).uniform(ceiling / 2, ceiling)


def next_attempt(
    now: datetime, attempts: int, rng: random.Random | None = None, *, base: float = BASE_DELAY
) -> datetime:
    return now + timedelta(seconds=retry_delay(attempts, rng, base=base))


def message_id(outbox_id: str, domain: str) -> str:
    """Derived from the row, so a re-send after an unknown outcome carries the same id."""
    return f"<{outbox_id}@{domain}>"
