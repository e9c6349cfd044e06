"""`Declined` is guestgate's own status: local mode lists it, Microsoft 365 mode has none."""

from __future__ import annotations

import pytest

from guestgate.domain.invitations import DEAD_LINK, DECLINED, STATUSES
from guestgate.domain.views import InvitationQuery
from guestgate.services.directory import Actor
from tests.fakes import FakeStore
from tests.unit.test_invitation_service import TENANT, FakeGraph, Turns, graph_service

pytestmark = pytest.mark.anyio


def test_declined_is_a_status_whose_link_is_dead() -> None:
    assert DECLINED in STATUSES
    assert DECLINED in DEAD_LINK


async def test_graph_mode_lists_no_declined_invitations_without_asking_graph() -> None:
    store = FakeStore()
    graph = FakeGraph(store)
    service = graph_service(store, graph, Turns())
    actor = Actor(tenant_id=TENANT.id, app_id="app", tenant_name="Contoso", credential="tok")

    page = await service.list(actor, InvitationQuery(status=DECLINED))

    assert page.items == ()
    assert graph.calls == []
