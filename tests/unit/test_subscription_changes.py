"""Which events a Graph subscription on users hears, and as what change type."""

from __future__ import annotations

import pytest

from guestgate.domain import events
from guestgate.domain.subscriptions import Subscription, wants

USER = "0d9e6b3a-0f4c-4a57-9d2e-3c1b5a7e9f10"


def subscription(resource: str, *change_types: str) -> Subscription:
    return Subscription(
        id="s",
        tenant_id="t",
        app_id=None,
        resource=resource,
        change_types=change_types,
        notification_url="https://hooks.example/graph",
        lifecycle_url=None,
        expires_at="2026-12-31T00:00:00.000000Z",
        created_at="2026-12-01T00:00:00.000000Z",
    )


@pytest.mark.parametrize(
    ("event_type", "change"),
    [
        (events.USER_DISABLED, "updated"),  # accountEnabled is a property of the user
        (events.USER_ENABLED, "updated"),
        (events.USER_DELETED, "deleted"),
        (events.USER_RESTORED, None),
        (events.INVITATION_SENT, None),
    ],
)
def test_a_users_subscription_hears_an_account_change_as_an_update(
    event_type: str, change: str | None
) -> None:
    every = subscription("/users", "created", "updated", "deleted")
    assert wants(every, event_type, {"userId": USER}) == change
    assert (
        wants(subscription(f"/users/{USER}", "updated", "deleted"), event_type, {"userId": USER})
        == change
    )
    other = subscription("/users/5c0ffee5-0000-4000-8000-00000000beef", "updated", "deleted")
    assert wants(other, event_type, {"userId": USER}) is None
    assert wants(subscription("/users", "deleted"), event_type, {"userId": USER}) == (
        change if change == "deleted" else None
    )
