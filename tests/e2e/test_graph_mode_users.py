"""Microsoft 365 mode's sponsors, accountEnabled and deleted items: services/graph_user_admin.py
makes Graph's calls against a local-mode guestgate standing in for Microsoft Graph (as in
test_graph_mode.py), so both ends are the real thing; the audit rows go to the broker's own
database."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guestgate.adapters.graph import GraphClient
from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.errors import GraphRefused, ValidationError
from guestgate.services.directory import Actor
from guestgate.services.graph_user_admin import GraphUserAdmin
from guestgate.services.user_admin import UserAdmin
from tests.e2e.server import Caller, Server

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("microsoft-users")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def admin(microsoft: Server, tmp_path: Path) -> AsyncIterator[tuple[UserAdmin, Actor]]:
    demo = Caller.demo(microsoft)
    app = Caller.new_app(
        microsoft, demo.tenant, "User.Invite.All", "User.Read.All", "User.ReadWrite.All"
    )
    url = f"sqlite:///{tmp_path}/broker.db"
    migrate.upgrade(url)
    db = connect(url, pool_size=2)
    client = GraphClient(microsoft.base_url, ca_file=str(microsoft.cert))
    graph = GraphUserAdmin(
        lambda write=True: SqlUnitOfWork(db, write=write),
        client=client,
        app_tokens=None,  # the caller's own token is forwarded
        now=lambda: datetime.now(UTC),
    )
    actor = Actor(tenant_id=demo.tenant, app_id=None, credential=app.token)
    yield UserAdmin(graph, name="graph"), actor
    await client.close()
    await db.close()


def invite(microsoft: Server, actor: Actor) -> str:
    with microsoft.client() as client:
        answer = client.post(
            "/api/InviteGuest",
            headers={"Authorization": f"Bearer {actor.credential}"},
            json={"invitedUserEmailAddress": f"m365.{uuid.uuid4().hex[:8]}@partner.example"},
        )
    assert answer.status_code == 201, answer.text
    found: str = answer.json()["id"]
    return found


def member(microsoft: Server, actor: Actor) -> str:
    address = f"sponsor.{uuid.uuid4().hex[:8]}@contoso.example"
    out = microsoft.cli(
        "user", "create", "--tenant", actor.tenant_id, "--email", address, "--name", "S", "--json"
    )
    found: str = json.loads(out.stdout)["id"]
    return found


async def test_sponsors_and_disable_go_to_graph(
    microsoft: Server, admin: tuple[UserAdmin, Actor]
) -> None:
    users, actor = admin
    guest, sponsor = invite(microsoft, actor), member(microsoft, actor)
    await users.add_sponsor(actor, guest, sponsor)
    assert [s.id for s in await users.sponsors(actor, guest)] == [sponsor]
    for _ in range(4):
        await users.add_sponsor(actor, guest, member(microsoft, actor))
    sixth_sponsor = member(microsoft, actor)
    with pytest.raises(GraphRefused) as sixth:
        await users.add_sponsor(actor, guest, sixth_sponsor)
    assert sixth.value.code == "Request_BadRequest"
    await users.remove_sponsor(actor, guest, sponsor)
    assert sponsor not in [s.id for s in await users.sponsors(actor, guest)]
    await users.set_account_enabled(actor, guest, False)
    with microsoft.client() as client:
        seen = client.get(
            f"/v1.0/users/{guest}",
            params={"$select": "accountEnabled"},
            headers={"Authorization": f"Bearer {actor.credential}"},
        ).json()
    assert seen["accountEnabled"] is False
    await users.set_account_enabled(actor, guest, True)


async def test_delete_restore_and_purge_through_deleted_items(
    microsoft: Server, admin: tuple[UserAdmin, Actor]
) -> None:
    users, actor = admin
    guest = invite(microsoft, actor)
    with microsoft.client() as client:
        gone = client.delete(
            f"/v1.0/users/{guest}", headers={"Authorization": f"Bearer {actor.credential}"}
        )
    assert gone.status_code == 204
    listed = await users.deleted(actor)
    assert guest in [d.user.id for d in listed]
    assert (await users.get_deleted(actor, guest)).deleted_at.endswith("Z")
    restored = await users.restore(actor, guest)
    assert restored.id == guest
    with microsoft.client() as client:
        again = client.delete(
            f"/v1.0/users/{guest}", headers={"Authorization": f"Bearer {actor.credential}"}
        )
    assert again.status_code == 204
    await users.purge(actor, guest)
    with pytest.raises(GraphRefused) as missing:
        await users.get_deleted(actor, guest)
    assert missing.value.code == "Request_ResourceNotFound"


async def test_a_display_name_is_patched_in_graph_and_audited_in_the_broker(
    microsoft: Server, admin: tuple[UserAdmin, Actor], tmp_path: Path
) -> None:
    users, actor = admin
    guest = invite(microsoft, actor)
    assert await users.set_display_name(actor, guest, "  Renamed Guest ") == "Renamed Guest"
    with microsoft.client() as client:
        seen = client.get(
            f"/v1.0/users/{guest}", headers={"Authorization": f"Bearer {actor.credential}"}
        ).json()
    assert seen["displayName"] == "Renamed Guest"
    with pytest.raises(ValidationError):
        await users.set_display_name(actor, guest, "\u0007")
    db = connect(f"sqlite:///{tmp_path}/broker.db", pool_size=1)
    try:
        async with SqlUnitOfWork(db, write=False) as uow:
            rows = [a for a in await uow.audit.list(actor.tenant_id, limit=50) if a.target == guest]
    finally:
        await db.close()
    assert [a.action for a in rows] == ["user.update"]
    assert rows[0].details["displayName"]["to"] == "Renamed Guest"
    assert rows[0].details["directory"] == "graph"
