"""user.disabled, user.enabled and user.restored, on SQLite and PostgreSQL, in both modes.

Local mode: a running server; the API's accountEnabled and restore and the CLI's guests
disable / enable make the changes, a real receiver gets them signed as Standard Webhooks says
(checked by the `standardwebhooks` library), and the feed serves the same events. A change
that changes nothing, or is refused, owes no event. Microsoft 365 mode: services/
graph_user_admin.py makes Graph's calls against a local-mode guestgate standing in for Graph
(as tests/e2e/test_graph_mode_users.py does), and the events land in the broker's database
with the audit rows of the changes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import standardwebhooks

from guestgate.adapters.graph import GraphClient
from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.services import events
from guestgate.services.directory import Actor
from guestgate.services.graph_user_admin import GraphUserAdmin
from guestgate.services.user_admin import UserAdmin
from tests.e2e.server import Caller, Server
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
ADMIN = ("User.Invite.All", "User.Read.All", "User.ReadWrite.All", "AuditLog.Read.All")
USER_EVENTS = ["user.disabled", "user.enabled", "user.deleted", "user.restored"]
DB = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def database(request: pytest.FixtureRequest, workdir: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{workdir}/guestgate.db"
    factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
    return factory()


@pytest.fixture(scope="module", params=DB)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"user-events-{request.param}")
    env = {"GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true", "GUESTGATE_WEBHOOK_RETRY_SCALE": "0.001"}
    url = database(request, workdir)
    running = Server(workdir=workdir, database_url=url, demo=False, extra_env=env).start()
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def invite(caller: Caller, address: str | None = None) -> str:
    email = address or f"g.{uuid.uuid4().hex[:8]}@example.com"
    answer = caller.invite({"invitedUserEmailAddress": email})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_disable_enable_and_restore_are_delivered_signed_and_in_the_feed(
    server: Server, receiver: Receiver
) -> None:
    domain = f"t{uuid.uuid4().hex[:10]}.example"
    server.cli("tenant", "create", "--name", "Fabrikam", "--domain", domain)
    created = server.create_app(domain, "events", *ADMIN)
    caller = Caller(server, created["TenantID"], created["AppID"], created["AppSecret"])
    app_id = created["AppID"]
    made = caller.request(
        "POST", "/api/webhooks", json={"url": receiver.url, "eventTypes": USER_EVENTS}
    )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    REGISTRY.secret(secret, "webhook secret")
    guest = invite(caller)
    user = f"/v1.0/users/{guest}"

    for enabled in (False, False, True):  # the second changes nothing: no event
        answer = caller.request("PATCH", user, json={"accountEnabled": enabled})
        assert answer.status_code == 204, answer.text
    for command in ("disable", "enable"):
        server.cli("guests", command, guest, "--tenant", domain)
    assert caller.request("DELETE", user).status_code == 204
    restored = caller.request("POST", f"/v1.0/directory/deletedItems/{guest}/restore")
    assert restored.status_code == 200, restored.text
    # A restore that is refused (the address was invited again meanwhile) owes no event.
    address = f"taken.{uuid.uuid4().hex[:8]}@example.com"
    first = invite(caller, address)
    assert caller.request("DELETE", f"/v1.0/users/{first}").status_code == 204
    invite(caller, address)
    refused = caller.request("POST", f"/v1.0/directory/deletedItems/{first}/restore")
    assert refused.status_code == 400, refused.text
    unknown = caller.request("PATCH", f"/v1.0/users/{uuid.uuid4()}", json={"accountEnabled": False})
    assert unknown.status_code == 404

    expected = [
        ("user.disabled", guest, app_id),
        ("user.enabled", guest, app_id),
        ("user.disabled", guest, None),  # the CLI: no app
        ("user.enabled", guest, None),
        ("user.deleted", guest, app_id),
        ("user.restored", guest, app_id),
        ("user.deleted", first, app_id),
    ]
    deadline = time.monotonic() + 30
    while len(receiver.received) < len(expected):
        assert time.monotonic() < deadline, f"only {len(receiver.received)} deliveries"
        time.sleep(0.05)
    time.sleep(1.5)  # nothing more arrives: the refused restore wrote no event
    assert len(receiver.received) == len(expected)
    payloads = sorted(
        (
            standardwebhooks.Webhook(secret).verify(got.body, got.headers)
            for got in receiver.received
        ),
        key=lambda p: p["data"]["sequence"],
    )
    got = [(p["type"], p["data"]["userId"], p["data"]["actor"]["appId"]) for p in payloads]
    assert got == expected
    for payload in payloads:  # user.deleted's shape for each of them
        assert set(payload["data"]) == {"tenantId", "sequence", "userId", "actor"}
    assert {p["data"]["tenantId"] for p in payloads} == {caller.tenant}

    feed = caller.request(
        "GET", "/api/events", params={"after": "0", "type": ",".join(USER_EVENTS)}
    )
    assert feed.status_code == 200, feed.text
    listed = feed.json()["value"]
    assert [(e["type"], e["data"]) for e in listed] == [(p["type"], p["data"]) for p in payloads]
    every = caller.request("GET", "/api/events", params={"after": "0"}).json()["value"]
    assert [e["type"] for e in every].count("invitation.created") == 3
    types = {t["type"] for t in caller.request("GET", "/api/events/types").json()["value"]}
    assert {"user.disabled", "user.enabled", "user.restored"} <= types
    actions = [
        e["action"]
        for e in json.loads(server.cli("audit", "list", "--tenant", domain, "--json").stdout)
    ]
    assert actions.count("user.disable") == 2  # one audit row per event, no more
    assert actions.count("user.restore") == 1


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("microsoft-user-events")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=DB)
async def broker(
    request: pytest.FixtureRequest, microsoft: Server, tmp_path: Path
) -> AsyncIterator[tuple[UserAdmin, Actor, Callable[..., SqlUnitOfWork], Caller]]:
    demo = Caller.demo(microsoft)
    app = Caller.new_app(microsoft, demo.tenant, *ADMIN)
    url = database(request, tmp_path)
    migrate.upgrade(url)
    db = connect(url, pool_size=2)
    client = GraphClient(microsoft.base_url, ca_file=str(microsoft.cert))

    def uow(write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(db, write=write)

    graph = GraphUserAdmin(
        uow, client=client, app_tokens=None, now=lambda: datetime.now(UTC)
    )  # the caller's own token is forwarded
    actor = Actor(tenant_id=demo.tenant, app_id=None, credential=app.token, request_id="r-1")
    yield UserAdmin(graph, name="graph"), actor, uow, app
    await client.close()
    await db.close()


@pytest.mark.anyio
async def test_graph_mode_writes_the_same_events_with_its_changes(
    broker: tuple[UserAdmin, Actor, Callable[..., SqlUnitOfWork], Caller],
) -> None:
    users, actor, uow, caller = broker
    guest = invite(caller)
    await users.set_account_enabled(actor, guest, False)
    await users.set_account_enabled(actor, guest, False)  # already disabled: no event
    await users.set_account_enabled(actor, guest, True)
    assert caller.request("DELETE", f"/v1.0/users/{guest}").status_code == 204  # in Entra
    restored = await users.restore(actor, guest)
    assert restored.id == guest

    await events.number_pending(uow())
    found = await events.feed(uow, tenant_id=actor.tenant_id, after=0, types=[], limit=100)
    data = [(e.type, json.loads(e.body)["data"]) for e in found]
    assert [t for t, _ in data] == ["user.disabled", "user.enabled", "user.restored"]
    for _, body in data:
        assert body["userId"] == guest
        assert body["actor"] == {"appId": None, "requestId": "r-1"}
        assert set(body) == {"tenantId", "sequence", "userId", "actor"}
    async with uow(write=False) as work:
        audit = await work.audit.list(actor.tenant_id, limit=10)
    assert [a.action for a in audit][:3] == ["user.restore", "user.enable", "user.disable"]
