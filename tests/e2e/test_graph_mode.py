"""Graph mode: a guestgate brokering to Microsoft Graph.

Tested against a local-mode guestgate that plays Graph and the identity platform over real
HTTP, and against a fault-injecting stand-in.
"""

from __future__ import annotations

import concurrent.futures
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.fake_graph import TENANT, FakeGraph
from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A local-mode guestgate standing in for Microsoft Graph and Entra (https, for MSAL)."""
    workdir: Path = tmp_path_factory.mktemp("microsoft")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, microsoft: Server) -> Iterator[Server]:
    """guestgate in graph mode, forwarding callers' tokens to `microsoft`."""
    workdir: Path = tmp_path_factory.mktemp("broker")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={
            "GUESTGATE_DIRECTORY": "graph",
            "GUESTGATE_GRAPH_URL": microsoft.base_url,
            "GUESTGATE_GRAPH_CA_FILE": str(microsoft.cert),
        },
    )
    server.start()
    yield server
    server.stop()


def call(server: Server, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
    with server.client() as client:
        return client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def audit(server: Server) -> list[tuple[str, str, str]]:
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as conn:
        return list(conn.execute("SELECT tenant_id, action, target FROM audit_events ORDER BY id"))


def test_invites_land_in_the_tenant_and_answer_in_the_gt365_shape(
    microsoft: Server, broker: Server
) -> None:
    tenant = Caller.demo(microsoft)  # its token is "issued by Entra for Graph"
    answer = call(
        broker,
        "POST",
        "/api/InviteGuest",
        tenant.token,
        json={
            "invitedUserEmailAddress": "brokered@example.com",
            "inviteRedirectUrl": "https://google.at",
            "sendInvitationMessage": True,
            "requestedBy": "adele@contoso.example",
            "more": {"k": "v"},
        },
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "PendingAcceptance"
    assert body["sendInvitationMessage"] is True
    assert body["inviteRedeemUrl"].startswith(
        f"{microsoft.base_url}/redeem/?tenant={tenant.tenant}"
    )
    assert body["more"] == {"k": "v"}
    found = tenant.request(
        "GET", f"/v1.0/users/{body['id']}", params={"$select": "mail,userType"}
    ).json()
    assert found == {**found, "mail": "brokered@example.com", "userType": "Guest"}
    assert (tenant.tenant, "invitation.create", body["id"]) in audit(broker)
    # The requester is on one of the tenant's verified domains: the broker's own mailer tells them.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not list((broker.workdir / "var" / "mail").glob("*.eml")):
        time.sleep(0.1)
    [note] = list((broker.workdir / "var" / "mail").glob("*.eml"))
    assert b"brokered@example.com has been invited" in note.read_bytes()


def test_validation_happens_before_graph_is_called(microsoft: Server, broker: Server) -> None:
    tenant = Caller.demo(microsoft)
    bad = call(
        broker, "POST", "/api/InviteGuest", tenant.token, json={"invitedUserEmailAddress": "nope"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidEmailAddress"


def test_graph_401_and_403_come_back_with_graphs_code(microsoft: Server, broker: Server) -> None:
    refused = call(
        broker,
        "POST",
        "/api/InviteGuest",
        "not-a-token",
        json={"invitedUserEmailAddress": "a@example.com"},
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    reader = Caller.new_app(microsoft, "contoso.example", "User.Read.All")
    denied = call(
        broker,
        "POST",
        "/api/InviteGuest",
        reader.token,
        json={"invitedUserEmailAddress": "a@example.com"},
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_list_resend_and_revoke_through_graph(microsoft: Server, broker: Server) -> None:
    admin = Caller.new_app(
        microsoft, "contoso.example", "User.Invite.All", "User.Read.All", "User.ReadWrite.All"
    )
    created = call(
        broker,
        "POST",
        "/api/InviteGuest",
        admin.token,
        json={"invitedUserEmailAddress": "cycle@example.com"},
    ).json()
    listed = call(
        broker, "GET", "/api/invitations", admin.token, params={"email": "cycle@example.com"}
    ).json()
    assert [i["id"] for i in listed["value"]] == [created["id"]]
    resent = call(broker, "POST", f"/api/invitations/{created['id']}/resend", admin.token)
    assert resent.status_code == 200, resent.text
    assert resent.json()["inviteRedeemUrl"] != created["inviteRedeemUrl"]
    revoked = call(broker, "POST", f"/api/invitations/{created['id']}/revoke", admin.token)
    assert revoked.status_code == 200, revoked.text
    assert admin.request("GET", f"/v1.0/users/{created['id']}").status_code == 404


def test_local_only_surfaces_are_off_in_graph_mode(broker: Server) -> None:
    with broker.client() as client:
        assert (
            client.get("/contoso.example/v2.0/.well-known/openid-configuration").status_code == 404
        )
        assert client.get("/redeem/?tenant=x&user=y&ticket=z").status_code == 404
        assert client.get("/v1.0/users").status_code == 404


# ----------------------------------------------------------------- faults


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    graph = FakeGraph().start()
    yield graph
    graph.stop()


@pytest.fixture
def faulty_broker(tmp_path: Path, fake: FakeGraph) -> Iterator[Server]:
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env={
            "GUESTGATE_DIRECTORY": "graph",
            "GUESTGATE_GRAPH_URL": fake.url,
            "GUESTGATE_GRAPH_TIMEOUT": "1",
            # As in the two-worker test below: the fake stamps arrivals in this test's
            # process, whose delays on a loaded machine bunch more than the default 40 ms.
            "GUESTGATE_GRAPH_PACING_MARGIN_MS": "500",
        },
    )
    server.start()
    yield server
    server.stop()


def invite(server: Server, email: str, **extra: Any) -> httpx.Response:
    return call(
        server,
        "POST",
        "/api/InviteGuest",
        "caller-token",
        json={"invitedUserEmailAddress": email, "sendInvitationMessage": True, **extra},
    )


def test_retry_after_is_honoured(fake: FakeGraph, faulty_broker: Server) -> None:
    fake.script = ["429:1", "503", "ok"]
    answer = invite(faulty_broker, "retry@example.com")
    assert answer.status_code == 201, answer.text
    times = [t for t, _ in fake.posts]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.95


def test_graph_staying_down_is_a_clean_503(fake: FakeGraph, faulty_broker: Server) -> None:
    fake.script = ["503"] * 10
    answer = invite(faulty_broker, "down@example.com")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "GraphUnavailable"
    assert "retry-after" in answer.headers
    fake.script = ["500"]
    assert invite(faulty_broker, "broken@example.com").status_code == 502
    fake.script = ["400"]
    refused = invite(faulty_broker, "refused@example.com")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "BadRequest"


def test_a_timed_out_create_is_checked_not_blindly_resent(
    fake: FakeGraph, faulty_broker: Server
) -> None:
    fake.script = ["stall"]
    answer = invite(faulty_broker, "stalled@example.com")
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == fake.users["stalled@example.com"]
    assert fake.lookups == 1  # it looked before sending again
    assert len(fake.posts) == 2
    assert fake.posts[0][1]["sendInvitationMessage"] is True
    assert fake.posts[1][1]["sendInvitationMessage"] is False  # no second email
    assert len(fake.users) == 1


def test_limiter_keeps_under_150_invitations_per_5_seconds(
    fake: FakeGraph, faulty_broker: Server
) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def worker(start: int) -> None:
        for i in range(start, 180, 12):
            status = invite(faulty_broker, f"bulk{i}@example.com").status_code
            with lock:
                results.append(status)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(201) == 180
    times = sorted(t for t, _ in fake.posts)
    assert len(times) == 180
    worst = max(sum(1 for u in times if t <= u < t + 5.0) for t in times)
    assert worst <= 150
    assert times[-1] - times[0] >= 5.0 - 0.1


def test_two_workers_together_keep_under_150_invitations_per_5_seconds(
    fake: FakeGraph, tmp_path: Path
) -> None:
    broker = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        workers=2,
        extra_env={
            "GUESTGATE_DIRECTORY": "graph",
            "GUESTGATE_GRAPH_URL": fake.url,
            # Half a second of margin (137 turns per 5 s): arrivals here are stamped by this
            # test's process, whose own delays on a loaded machine can bunch a few together.
            # Unshared, the two workers would let about 270 through in 5 s.
            "GUESTGATE_GRAPH_PACING_MARGIN_MS": "500",
        },
    )
    broker.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            statuses = list(
                pool.map(lambda i: invite(broker, f"pair{i}@example.com").status_code, range(180))
            )
    finally:
        broker.stop()
    assert statuses.count(201) == 180
    times = sorted(t for t, _ in fake.posts)
    assert len(times) == 180
    # Each worker alone would have let 150 through per window: together they share one pace.
    assert max(sum(1 for u in times if t <= u < t + 5.0) for t in times) <= 150


# ----------------------------------------------------------------- app credentials


def test_app_credential_mode_validates_entra_tokens_and_uses_its_own(
    microsoft: Server, tmp_path: Path
) -> None:
    own = json.loads(
        microsoft.cli(
            "app",
            "create",
            "--tenant",
            "contoso.example",
            "--name",
            "guestgate broker",
            "--permission",
            "User.Invite.All",
            "--permission",
            "User.Read.All",
            "--json",
        ).stdout
    )
    broker = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env={
            "GUESTGATE_DIRECTORY": "graph",
            "GUESTGATE_GRAPH_URL": microsoft.base_url,
            "GUESTGATE_ENTRA_URL": microsoft.base_url,
            "GUESTGATE_GRAPH_CA_FILE": str(microsoft.cert),
            "GUESTGATE_GRAPH_CLIENT_ID": own["AppID"],
            "GUESTGATE_GRAPH_CLIENT_SECRET": own["AppSecret"],
            "GUESTGATE_GRAPH_TENANT": own["TenantID"],
        },
    )
    broker.start()
    try:
        hr = json.loads(
            microsoft.cli(
                "app",
                "create",
                "--tenant",
                "contoso.example",
                "--name",
                "HR workflow",
                "--permission",
                "User.Invite.All",
                "--json",
            ).stdout
        )
        with microsoft.client() as client:

            def token(app: dict[str, str], scope: str) -> str:
                return str(
                    client.post(
                        f"/{app['TenantID']}/oauth2/v2.0/token",
                        data={
                            "grant_type": "client_credentials",
                            "client_id": app["AppID"],
                            "client_secret": app["AppSecret"],
                            "scope": scope,
                        },
                    ).json()["access_token"]
                )

            api_token = token(hr, "api://guestgate/.default")
            graph_token = token(hr, "https://graph.microsoft.com/.default")
        answer = call(
            broker,
            "POST",
            "/api/InviteGuest",
            api_token,
            json={"invitedUserEmailAddress": "appmode@example.com"},
        )
        assert answer.status_code == 201, answer.text
        created = Caller.demo(microsoft).request("GET", f"/v1.0/users/{answer.json()['id']}").json()
        assert created["mail"] == "appmode@example.com"
        # The broker validated the caller itself: wrong audience, no role, garbage → 401/403.
        assert (
            call(
                broker,
                "POST",
                "/api/InviteGuest",
                graph_token,
                json={"invitedUserEmailAddress": "x@example.com"},
            ).status_code
            == 401
        )
        assert (
            call(
                broker,
                "POST",
                "/api/InviteGuest",
                "garbage",
                json={"invitedUserEmailAddress": "x@example.com"},
            ).status_code
            == 401
        )
        assert (
            call(broker, "GET", "/api/invitations", api_token).status_code == 403
        )  # no User.Read.All
        assert (own["TenantID"], "invitation.create", answer.json()["id"]) in audit(broker)
    finally:
        broker.stop()


def test_fake_graph_tenant_is_used_for_audit(fake: FakeGraph, faulty_broker: Server) -> None:
    assert invite(faulty_broker, "audited@example.com").status_code == 201
    assert (TENANT, "invitation.create", fake.users["audited@example.com"]) in audit(faulty_broker)


def test_bulk_through_graph(microsoft: Server, broker: Server) -> None:
    tenant = Caller.demo(microsoft)
    response = call(
        broker,
        "POST",
        "/api/InviteGuests",
        tenant.token,
        json={
            "invitations": [
                {"invitedUserEmailAddress": "bulk.one@example.com"},
                {"invitedUserEmailAddress": "bad address"},
                {"invitedUserEmailAddress": "bulk.two@example.com"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["succeeded"], body["failed"]) == (2, 1)
    ids = [item["invitation"]["id"] for item in body["value"] if item["status"] == 201]
    for user_id in ids:
        assert tenant.request("GET", f"/v1.0/users/{user_id}").status_code == 200
