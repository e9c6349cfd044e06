"""Who may see and change webhooks and the activity feed in the console, and how an event
reads there."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from guestgate.domain.events import INVITATION_CREATED, Event, actor_data, render
from guestgate.domain.roles import (
    GLOBAL_ADMINISTRATOR,
    GUEST_INVITER,
    READER,
    SPONSOR,
    USER_ADMINISTRATOR,
    Access,
)
from guestgate.domain.users import MEMBER, User
from guestgate.errors import PermissionDenied
from guestgate.services import console_events
from guestgate.services.console import Person

TENANT = "6c8b1f0e-3d3a-4c55-9a39-0f2f1d4c2a11"


def _person(*roles: str) -> Person:
    user = User(
        id="0d9e0b9a-5b0e-4b9e-8c8e-3b7b3c9f1a22",
        tenant_id=TENANT,
        mail="avery@contoso.example",
        email_key="avery@contoso.example",
        display_name="Avery",
        user_principal_name="avery@contoso.example",
        user_type=MEMBER,
        external_user_state=None,
        external_user_state_changed_at=None,
        creation_type=None,
        created_at="2026-12-01T09:30:00.000000Z",
    )
    return Person(user=user, access=Access(frozenset(roles)), session_hash="h")


@pytest.mark.parametrize("role", [GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR])
def test_administrators_see_and_manage_webhooks(role: str) -> None:
    console_events.require_manage(_person(role))
    assert Access(frozenset({role})).may_see_events


@pytest.mark.parametrize("roles", [{READER}, {READER, GUEST_INVITER}, {READER, SPONSOR}])
def test_a_reader_sees_webhooks_and_changes_nothing(roles: set[str]) -> None:
    person = _person(*roles)
    console_events.require_view(person)
    with pytest.raises(PermissionDenied) as refused:
        console_events.require_manage(person)
    assert refused.value.code == "ReadOnlyRole"


@pytest.mark.parametrize("role", [GUEST_INVITER, SPONSOR])
def test_other_roles_see_neither_webhooks_nor_activity(role: str) -> None:
    for check in (console_events.require_view, console_events.require_manage):
        with pytest.raises(PermissionDenied) as refused:
            check(_person(role))
        assert refused.value.code == "NotAnAdministrator"


def test_an_event_row_holds_its_ids_and_actor_but_not_the_tenant_or_number() -> None:
    data = {"invitationId": "i-1", "userId": "u-1", "newUser": True}
    body = render(
        event_type=INVITATION_CREATED,
        sequence=None,
        tenant_id=TENANT,
        now=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        data=data | actor_data("app-1", "req-1"),
    )
    event = Event("e-1", TENANT, 7, INVITATION_CREATED, "2026-12-01T09:30:00Z", body)
    row = console_events.row_of(event)
    assert row.fields == data
    assert (row.app_id, row.request_id, row.person) == ("app-1", "req-1", None)
    assert "tenantId" in json.loads(body)["data"]
