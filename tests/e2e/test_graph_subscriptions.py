"""`/v1.0/subscriptions` through a running server, on SQLite and PostgreSQL: a client
written for Microsoft Graph's change notifications subscribes, passes the handshake, gets
the users it invites as notifications with its clientState, renews and deletes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Caller, Server
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"subs-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir}/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    env = {"GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true"}
    running = Server(workdir=workdir, database_url=url, demo=False, extra_env=env).start()
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver().start()
    yield found
    found.stop()


def caller_of(server: Server) -> Caller:
    domain = f"t{uuid.uuid4().hex[:10]}.example"
    server.cli("tenant", "create", "--name", "Fabrikam", "--domain", domain)
    return Caller.new_app(server, domain, "User.Invite.All", "User.Read.All")


def expiry(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_subscribe_get_notified_renew_and_delete(server: Server, receiver: Receiver) -> None:
    caller = caller_of(server)
    created = caller.request(
        "POST",
        "/v1.0/subscriptions",
        json={
            "changeType": "updated,deleted",
            "notificationUrl": receiver.url,
            "resource": "users",
            "expirationDateTime": expiry(2),
            "clientState": "secretClientValue",
        },
    )
    assert created.status_code == 201, created.text
    subscription: dict[str, Any] = created.json()
    assert subscription["resource"] == "/users"
    assert subscription["clientState"] == "secretClientValue"
    assert len(receiver.validations) == 1
    invited = caller.invite({"invitedUserEmailAddress": f"g.{uuid.uuid4().hex[:8]}@example.com"})
    assert invited.status_code == 201
    wait_for(lambda: len(receiver.received) == 1)
    (item,) = json.loads(receiver.received[0].body)["value"]
    assert item["clientState"] == "secretClientValue"
    assert item["subscriptionId"] == subscription["id"]
    assert item["resourceData"]["id"] == invited.json()["id"]
    path = f"/v1.0/subscriptions/{subscription['id']}"
    assert caller.request("GET", path).json()["notificationUrl"] == receiver.url
    listed = caller.request("GET", "/v1.0/subscriptions").json()["value"]
    assert [s["id"] for s in listed] == [subscription["id"]]
    renewed = caller.request("PATCH", path, json={"expirationDateTime": expiry(20)})
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["expirationDateTime"] > subscription["expirationDateTime"]
    too_long = caller.request("PATCH", path, json={"expirationDateTime": expiry(30)})
    assert too_long.status_code == 400
    assert caller.request("DELETE", path).status_code == 204
    assert caller.request("GET", path).status_code == 404


def test_a_failed_handshake_is_graphs_400_and_stores_nothing(
    server: Server, receiver: Receiver
) -> None:
    receiver.validation = lambda token: (200, "text/html", f"<b>{token}</b>")
    caller = caller_of(server)
    answer = caller.request(
        "POST",
        "/v1.0/subscriptions",
        json={
            "changeType": "updated",
            "notificationUrl": receiver.url,
            "resource": "/users",
            "expirationDateTime": expiry(1),
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "InvalidRequest"
    assert caller.request("GET", "/v1.0/subscriptions").json()["value"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"changeType": "updated", "resource": "/users", "expirationDateTime": "soon"},
        {"changeType": "updated", "resource": "/groups", "notificationUrl": "https://e.com"},
        {"changeType": "created", "resource": "/users", "notificationUrl": "http://[::1"},
    ],
)
def test_bad_subscriptions_are_400(server: Server, body: dict[str, Any]) -> None:
    caller = caller_of(server)
    answer = caller.request("POST", "/v1.0/subscriptions", json=body)
    assert answer.status_code == 400, answer.text


def test_unknown_subscriptions_are_404(server: Server) -> None:
    caller = caller_of(server)
    for path in ("/v1.0/subscriptions/nope", f"/v1.0/subscriptions/{uuid.uuid4()}"):
        assert caller.request("GET", path).status_code == 404
        assert caller.request("DELETE", path).status_code == 404
