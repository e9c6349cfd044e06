"""Events: what changed in a tenant, numbered per tenant, as webhooks and the feed carry it.

An event's body is the Standard Webhooks payload ``{"type", "timestamp", "data"}``, rendered
once when the event is written and stored as those exact bytes: webhook signatures cover
the bytes sent, and the feed serves the same text. ``data`` holds ids, the actor and the
tenant's sequence number, never a ticket, code, link or secret.

A new event type is one line in `EVENT_TYPES`; governance (services/governance.py) emits the
invitations' and the delete's, services/user_admin.py the disable's, enable's and restore's.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from guestgate.domain.timestamps import iso
from guestgate.errors import ValidationError

INVITATION_CREATED = "invitation.created"
INVITATION_SENT = "invitation.sent"
INVITATION_RESENT = "invitation.resent"
INVITATION_REDEEMED = "invitation.redeemed"
INVITATION_DECLINED = "invitation.declined"
INVITATION_REVOKED = "invitation.revoked"
INVITATION_EXPIRED = "invitation.expired"
USER_DELETED = "user.deleted"
USER_DISABLED = "user.disabled"
USER_ENABLED = "user.enabled"
USER_RESTORED = "user.restored"

# Every type a webhook endpoint may ask for, with what it means (shown by the API and CLI).
EVENT_TYPES: dict[str, str] = {
    INVITATION_CREATED: "an invitation was made (for a new or an existing guest)",
    INVITATION_SENT: "the invitation mail was handed to the mail server",
    INVITATION_RESENT: "a pending invitation was mailed again with a new link",
    INVITATION_REDEEMED: "the guest accepted the invitation",
    INVITATION_DECLINED: "the guest declined the invitation; its link stopped working",
    INVITATION_REVOKED: "a pending invitation was revoked; its link stopped working",
    INVITATION_EXPIRED: "a pending invitation passed its expiry; its link stopped working",
    USER_DELETED: "an invited user was deleted",
    USER_DISABLED: "a user was disabled (accountEnabled false): no redemption, no sign-in",
    USER_ENABLED: "a disabled user was enabled again",
    USER_RESTORED: "a deleted user was restored from deleted items",
}

_TYPE = re.compile(r"^[a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)+$")  # the spec's dotted identifiers
assert all(_TYPE.match(name) for name in EVENT_TYPES)
MAX_BODY_BYTES = 20 * 1024  # the spec asks for payloads under about 20 KB


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event; `body` is the exact JSON every delivery and the feed carry."""

    id: str
    tenant_id: str
    sequence: int | None  # None until the event is numbered (see services/events.py)
    type: str
    occurred_at: str
    body: str

    @property
    def number(self) -> int:
        """The event's number; the feed, fan-out and notifications read numbered events only."""
        assert self.sequence is not None, "an event is read only once numbered"
        return self.sequence


_encode = msgspec.json.Encoder().encode


def render(
    *, event_type: str, sequence: int | None, tenant_id: str, now: datetime, data: dict[str, Any]
) -> str:
    """The event's body, minified once: signatures are computed over these bytes."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    payload = {
        "type": event_type,
        "timestamp": iso(now),
        "data": {"tenantId": tenant_id, "sequence": sequence, **data},
    }
    # Compact and UTF-8 as written, what json.dumps(separators=(",", ":"),
    # ensure_ascii=False) gives, in a fraction of its time: one is rendered per change.
    encoded = _encode(payload)
    if len(encoded) > MAX_BODY_BYTES:
        raise ValueError(f"event {event_type} is larger than {MAX_BODY_BYTES} bytes")
    return encoded.decode()


def numbered(body: str, sequence: int) -> str:
    """The body of an event with its number filled in; every other byte as rendered.

    `render` writes ``"data":{"tenantId":"…","sequence":null`` first, so the number goes
    right there, without parsing the whole body again (a body in another shape is parsed)."""
    start = body.find(_DATA_START)
    if start >= 0:
        after = start + len(_DATA_START)
        with contextlib.suppress(ValueError):
            tenant, end = _STRING.raw_decode(body, after)
            if isinstance(tenant, str) and body.startswith(_NO_NUMBER, end):
                return f'{body[:end]},"sequence":{sequence}{body[end + len(_NO_NUMBER) :]}'
    payload = json.loads(body)
    payload["data"]["sequence"] = sequence
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


_DATA_START = '"data":{"tenantId":'
_NO_NUMBER = ',"sequence":null'
_STRING = json.JSONDecoder()


def actor_data(app_id: str | None, request_id: str | None) -> dict[str, Any]:
    """Who made the change: the calling app (none from the CLI or the guest) and the request."""
    return {"actor": {"appId": app_id, "requestId": request_id}}


def check_event_types(names: Iterable[str]) -> tuple[str, ...]:
    """An endpoint's filter: known types, each once; empty means every type."""
    chosen: list[str] = []
    for name in names:
        name = name.strip()
        if name not in EVENT_TYPES:
            raise ValidationError(
                f"Unknown event type {name[:64]!r}; known: {', '.join(EVENT_TYPES)}.",
                code="UnknownEventType",
            )
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)
