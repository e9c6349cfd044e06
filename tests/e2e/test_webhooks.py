"""Webhooks and the event feed through a running server, on SQLite and PostgreSQL.

An admin app registers an endpoint over the API and the CLI; invitations made through the
API reach a real HTTP receiver signed as Standard Webhooks says (checked by the
`standardwebhooks` and `svix` libraries), and the same events come out of `GET /api/events`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
import svix.webhooks

from tests.e2e.server import Caller, Server
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
UNKNOWN = "5c0ffee5-0000-4000-8000-00000000beef"  # no endpoint has this id
ADMIN = ("User.Invite.All", "User.ReadWrite.All", "AuditLog.Read.All")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"hooks-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir}/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    env = {"GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true", "GUESTGATE_WEBHOOK_RETRY_SCALE": "0.001"}
    running = Server(workdir=workdir, database_url=url, demo=False, extra_env=env).start()
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def cli(server: Server, *args: str) -> Any:
    return json.loads(server.cli(*args, "--json").stdout)


def new_tenant(server: Server, *permissions: str) -> tuple[str, Caller]:
    domain = f"t{uuid.uuid4().hex[:10]}.example"
    cli(server, "tenant", "create", "--name", "Fabrikam", "--domain", domain)
    return domain, Caller.new_app(server, domain, *(permissions or ADMIN))


def wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def invite(caller: Caller) -> dict[str, Any]:
    answer = caller.invite({"invitedUserEmailAddress": f"g.{uuid.uuid4().hex[:8]}@example.com"})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def verify(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = standardwebhooks.Webhook(secret).verify(body, headers)
    svix.webhooks.Webhook(secret).verify(body, headers)
    return payload


def test_an_invitation_is_delivered_signed_and_appears_in_the_feed(
    server: Server, receiver: Receiver
) -> None:
    _, caller = new_tenant(server)
    made = caller.request("POST", "/api/webhooks", json={"url": receiver.url})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    REGISTRY.secret(secret, "webhook secret")
    assert secret.startswith("whsec_")
    invited = invite(caller)
    wait_for(lambda: len(receiver.received) == 1)
    (got,) = receiver.received
    payload = verify(secret, got.body, got.headers)
    assert payload["type"] == "invitation.created"
    assert payload["data"]["invitationId"] == invited["invitationId"]
    assert payload["data"]["sequence"] == 1
    assert invited["inviteRedeemUrl"].split("/")[-1] not in got.body.decode()  # no ticket
    feed = caller.request("GET", "/api/events", params={"after": "0"}).json()
    (event,) = feed["value"]
    assert event["id"] == got.webhook_id
    assert event["data"] == payload["data"]
    assert feed["cursor"] == "1"
    after = caller.request("GET", "/api/events", params={"after": feed["cursor"]}).json()
    assert after["value"] == []
    listed = caller.request("GET", "/api/webhooks").json()["value"]
    assert [e["url"] for e in listed] == [receiver.url]
    assert "secret" not in listed[0]
    detail = caller.request("GET", f"/api/webhooks/{listed[0]['id']}").json()
    assert detail["deliveries"] == {"delivered": 1}
    assert detail["attempts"][0]["statusCode"] == 200


def test_rotate_disable_replay_and_delete_over_the_api(server: Server, receiver: Receiver) -> None:
    _, caller = new_tenant(server)
    made = caller.request(
        "POST", "/api/webhooks", json={"url": receiver.url, "eventTypes": ["invitation.created"]}
    ).json()
    old = made["secret"]
    rotated = caller.request("POST", f"/api/webhooks/{made['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    REGISTRY.secret(old, "webhook secret")
    REGISTRY.secret(new, "webhook secret")
    invite(caller)
    wait_for(lambda: len(receiver.received) == 1)
    first = receiver.received[0]
    verify(old, first.body, first.headers)
    verify(new, first.body, first.headers)
    replayed = caller.request(
        "POST", f"/api/webhooks/{made['id']}/replay", json={"eventId": first.webhook_id}
    )
    assert replayed.status_code == 202
    assert replayed.json() == {"queued": 1}
    wait_for(lambda: len(receiver.received) == 2)
    assert receiver.received[1].webhook_id == first.webhook_id
    off = caller.request("PATCH", f"/api/webhooks/{made['id']}", json={"enabled": False})
    assert off.json()["enabled"] is False
    invite(caller)
    time.sleep(1.5)  # the worker looks every second: it must not send to a disabled endpoint
    assert len(receiver.received) == 2
    assert caller.request("DELETE", f"/api/webhooks/{made['id']}").status_code == 204
    assert caller.request("GET", f"/api/webhooks/{made['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "ftp://example.com/x"}, "InvalidWebhookUrl"),
        ({"url": "https://user:pw@example.com/x"}, "InvalidWebhookUrl"),
        ({"url": "https://0.0.0.0/x"}, "WebhookTargetNotAllowed"),
        ({"url": "https://[::]/x"}, "WebhookTargetNotAllowed"),
        ({"url": "https://no-such-host.invalid/x"}, "WebhookHostNotFound"),
        ({"url": "https://example.com/x", "eventTypes": ["guest.exploded"]}, "UnknownEventType"),
        ({"url": 5}, "InvalidRequestBody"),
        ({}, "InvalidRequestBody"),
    ],
)
def test_bad_webhook_requests_are_4xx_and_store_nothing(
    server: Server, body: dict[str, Any], code: str
) -> None:
    _, caller = new_tenant(server)
    answer = caller.request("POST", "/api/webhooks", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code
    assert caller.request("GET", "/api/webhooks").json()["value"] == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/events?after=abc", {}, 400),
        ("GET", "/api/events?after=-1", {}, 400),
        ("GET", "/api/events?top=0", {}, 400),
        ("GET", "/api/events?type=nope", {}, 400),
        ("GET", "/api/events?cursor=1", {}, 400),
        ("GET", "/api/webhooks/not-a-guid", {}, 404),
        ("GET", f"/api/webhooks/{UNKNOWN}", {}, 404),
        ("PATCH", f"/api/webhooks/{UNKNOWN}", {"json": {"enabled": True}}, 404),
        ("POST", f"/api/webhooks/{UNKNOWN}/replay", {"json": {"eventId": "x"}}, 404),
        (
            "POST",
            "/api/webhooks",
            {"content": b"{", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("POST", "/api/webhooks", {"content": b"url=x"}, 415),
    ],
)
def test_bad_feed_and_endpoint_requests_are_4xx(
    server: Server, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    _, caller = new_tenant(server)
    assert caller.request(method, path, **kwargs).status_code == status


def test_replay_needs_one_event_or_a_whole_range(server: Server, receiver: Receiver) -> None:
    _, caller = new_tenant(server)
    made = caller.request("POST", "/api/webhooks", json={"url": receiver.url}).json()
    REGISTRY.secret(made["secret"], "webhook secret")
    for body in ({}, {"start": "2026-01-01T00:00:00Z"}, {"start": "yesterday", "end": "now"}):
        answer = caller.request("POST", f"/api/webhooks/{made['id']}/replay", json=body)
        assert answer.status_code == 400, body
        assert answer.json()["error"]["code"] == "InvalidReplay"


def test_managing_webhooks_needs_the_admin_permission(server: Server) -> None:
    _, caller = new_tenant(server, "User.Invite.All")
    assert caller.request("GET", "/api/webhooks").status_code == 403
    assert caller.request("POST", "/api/webhooks", json={"url": "https://e.com"}).status_code == 403
    assert caller.request("GET", "/api/events").status_code == 403


def test_the_cli_adds_lists_rotates_replays_and_removes(server: Server, receiver: Receiver) -> None:
    domain, caller = new_tenant(server)
    made = cli(
        server, "webhook", "add", "--tenant", domain, "--url", receiver.url,
        "--events", "invitation.created,invitation.revoked",
    )  # fmt: skip
    REGISTRY.secret(made["secret"], "webhook secret")
    assert made["event_types"] == ["invitation.created", "invitation.revoked"]
    listed = cli(server, "webhook", "list", "--tenant", domain)
    assert [e["id"] for e in listed] == [made["id"]]
    assert made["secret"] not in json.dumps(listed)
    rotated = cli(server, "webhook", "rotate-secret", "--tenant", domain, made["id"])
    REGISTRY.secret(rotated["secret"], "webhook secret")
    invite(caller)
    wait_for(lambda: len(receiver.received) == 1)
    first = receiver.received[0]
    verify(rotated["secret"], first.body, first.headers)
    queued = cli(
        server, "webhook", "replay", "--tenant", domain, made["id"], "--event", first.webhook_id
    )
    assert queued == {"queued": 1}
    wait_for(lambda: len(receiver.received) == 2)
    shown = cli(server, "webhook", "show", "--tenant", domain, made["id"])
    assert shown["deliveries"] == {"delivered": 1}
    assert [a["status_code"] for a in shown["attempts"]] == [200, 200]
    cli(server, "webhook", "remove", "--tenant", domain, made["id"])
    assert cli(server, "webhook", "list", "--tenant", domain) == []
    refused = server.cli(
        "webhook", "add", "--tenant", domain, "--url", "https://0.0.0.0/", check=False
    )
    assert refused.returncode == 1
    assert "WebhookTargetNotAllowed" in refused.stderr
