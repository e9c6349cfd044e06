"""Webhooks and the feed in Microsoft 365 mode, on SQLite and PostgreSQL: an admin app of the
Entra tenant registers an endpoint on a graph-mode guestgate, and what guestgate does there
(invite with Microsoft's mail, resend, revoke) reaches a real receiver signed as Standard
Webhooks says, in order, and comes out of the feed. A local-mode guestgate plays Graph."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks
import svix.webhooks

from tests.e2e.server import Caller, Server
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
ADMIN = ("User.Invite.All", "User.Read.All", "User.ReadWrite.All", "AuditLog.Read.All")


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("microsoft-events")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, microsoft: Server
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"broker-events-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir}/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    server = Server(
        workdir=workdir,
        database_url=url,
        extra_env={
            "GUESTGATE_DIRECTORY": "graph",
            "GUESTGATE_GRAPH_URL": microsoft.base_url,
            "GUESTGATE_GRAPH_CA_FILE": str(microsoft.cert),
            "GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true",
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def call(server: Server, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
    with server.client() as client:
        return client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_what_guestgate_does_in_graph_mode_is_delivered_signed_and_in_the_feed(
    microsoft: Server, broker: Server, receiver: Receiver
) -> None:
    admin = Caller.new_app(microsoft, "contoso.example", *ADMIN)  # Entra's token, for Graph
    made = call(broker, "POST", "/api/webhooks", admin.token, json={"url": receiver.url})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    REGISTRY.secret(secret, "webhook secret")
    email = f"hooked.{uuid.uuid4().hex[:8]}@example.com"
    invited = call(
        broker,
        "POST",
        "/api/InviteGuest",
        admin.token,
        json={"invitedUserEmailAddress": email, "sendInvitationMessage": True},
    )
    assert invited.status_code == 201, invited.text
    guest = invited.json()
    resent = call(broker, "POST", f"/api/invitations/{guest['id']}/resend", admin.token)
    assert resent.status_code == 200, resent.text
    revoked = call(broker, "POST", f"/api/invitations/{guest['id']}/revoke", admin.token)
    assert revoked.status_code == 200, revoked.text

    deadline = time.monotonic() + 30
    while len(receiver.received) < 5:
        assert time.monotonic() < deadline, f"only {len(receiver.received)} deliveries"
        time.sleep(0.05)
    payloads = []
    for got in receiver.received:
        payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
        svix.webhooks.Webhook(secret).verify(got.body, got.headers)
        payloads.append(payload)
    payloads.sort(key=lambda p: p["data"]["sequence"])
    assert [p["type"] for p in payloads] == [
        "invitation.created",
        "invitation.sent",
        "invitation.resent",
        "invitation.sent",
        "invitation.revoked",
    ]
    assert [p["data"]["sequence"] for p in payloads] == [1, 2, 3, 4, 5]
    assert {p["data"]["tenantId"] for p in payloads} == {admin.tenant}
    assert {p["data"]["userId"] for p in payloads} == {guest["id"]}
    for link in (guest["inviteRedeemUrl"], resent.json()["inviteRedeemUrl"]):
        assert all(link not in r.body.decode() for r in receiver.received)

    feed = call(broker, "GET", "/api/events", admin.token, params={"after": "0"})
    assert feed.status_code == 200, feed.text
    assert {e["id"] for e in feed.json()["value"]} == {r.webhook_id for r in receiver.received}
    assert [e["type"] for e in feed.json()["value"]] == [p["type"] for p in payloads]
    listed = call(broker, "GET", "/api/webhooks", admin.token).json()["value"]
    assert [e["url"] for e in listed] == [receiver.url]
