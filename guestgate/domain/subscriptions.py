"""Microsoft Graph change notifications for users: subscriptions and what they are sent.

A client written for Graph's webhooks (`POST /v1.0/subscriptions`) gets the same here:
the validation handshake when it subscribes, `clientState` echoed in every notification,
at most 41,760 minutes per subscription, and notifications built from guestgate's events.
As in Graph, creating a user is reported as `updated`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from guestgate.domain import events as event_rules
from guestgate.domain.timestamps import parse_iso
from guestgate.errors import ValidationError

CHANGE_TYPES = ("created", "updated", "deleted")
MAX_LIFETIME = timedelta(minutes=41760)  # users and other directory objects: under 29 days
MAX_CLIENT_STATE = 255
MAX_PER_APP = 100  # Graph's quota for users per app and tenant
VALIDATION_SECONDS = 10.0
GIVE_UP_AFTER = timedelta(hours=4)  # Graph retries a notification for up to four hours
_USER = re.compile(r"^/?users(?:/([0-9a-fA-F-]{36}))?$", re.IGNORECASE)

# What an event means for a user, as a change type: creation and acceptance are updates.
USER_CHANGES = {
    event_rules.INVITATION_CREATED: "updated",
    event_rules.INVITATION_REDEEMED: "updated",
    event_rules.USER_DELETED: "deleted",
    event_rules.USER_DISABLED: "updated",  # accountEnabled changed
    event_rules.USER_ENABLED: "updated",
}


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    tenant_id: str
    app_id: str | None
    resource: str  # "/users" or "/users/{id}"
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expires_at: str
    created_at: str

    @property
    def user_id(self) -> str | None:
        """The one user watched, or None for every user."""
        found = _USER.match(self.resource)
        return None if found is None or found.group(1) is None else found.group(1).lower()


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code="InvalidRequest")


def check_change_types(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("changeType is required: a comma list of created, updated, deleted.")
    chosen: list[str] = []
    for name in (part.strip() for part in value.split(",")):
        if name not in CHANGE_TYPES:
            raise _invalid(f"changeType {name[:40]!r} is not one of created, updated, deleted.")
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def check_resource(value: Any) -> str:
    if not isinstance(value, str) or _USER.match(value.strip()) is None:
        raise _invalid("resource must be /users or /users/{id}: only users can be subscribed to.")
    found = _USER.match(value.strip())
    assert found is not None
    return "/users" if found.group(1) is None else f"/users/{found.group(1).lower()}"


def check_expiration(value: Any, now: datetime) -> datetime:
    """The requested end: in the future and at most 41,760 minutes away."""
    if not isinstance(value, str):
        raise _invalid("expirationDateTime is required (ISO 8601, UTC).")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("expirationDateTime must be an ISO 8601 time.") from None
    if moment.tzinfo is None:
        raise _invalid("expirationDateTime must name its zone (UTC: a trailing Z).")
    if moment <= now:
        raise _invalid("expirationDateTime must be in the future.")
    if moment > now + MAX_LIFETIME:
        raise _invalid("Subscription expiration can only be 41760 minutes in the future for users.")
    return moment


def check_client_state(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_CLIENT_STATE:
        raise _invalid(f"clientState takes at most {MAX_CLIENT_STATE} characters.")
    return value


def notification(
    subscription: Subscription,
    *,
    client_state: str | None,
    event_id: str,
    change_type: str,
    user_id: str,
) -> dict[str, Any]:
    """One `changeNotification` for a user, as Graph sends it for basic notifications."""
    resource = f"Users/{user_id}"
    expires = parse_iso(subscription.expires_at).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": event_id,
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": expires,
        "clientState": client_state,
        "changeType": change_type,
        "resource": resource,
        "tenantId": subscription.tenant_id,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": resource,
            "id": user_id,
            "organizationId": subscription.tenant_id,
        },
    }


def wants(subscription: Subscription, event_type: str, data: dict[str, Any]) -> str | None:
    """The change type this event is for the subscription, or None when it is not sent."""
    change = USER_CHANGES.get(event_type)
    user_id = data.get("userId")
    if change is None or not isinstance(user_id, str) or change not in subscription.change_types:
        return None
    watched = subscription.user_id
    if watched is not None and watched != user_id.lower():
        return None
    return change
