"""Approval in Microsoft 365 mode: a held invite answers 202 before any call to Graph; the
approval makes the invitation in Graph (after the decision's transaction, as every Graph call
is), a decline never calls it. Against a local-mode guestgate playing Microsoft Graph, as in
test_graph_mode_gate.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.test_graph_mode_gate import graph_calls

pytestmark = pytest.mark.e2e
HELD = "held.example"


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("microsoft")
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
    workdir: Path = tmp_path_factory.mktemp("broker")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(
        workdir=workdir,
        database_url=url,
        extra_env={
            "GUESTGATE_DIRECTORY": "graph",
            "GUESTGATE_GRAPH_URL": microsoft.base_url,
            "GUESTGATE_GRAPH_CA_FILE": str(microsoft.cert),
        },
    )
    server.start()
    yield server
    server.stop()


def call(broker: Server, tenant: Caller, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with broker.client() as client:
        return client.request(
            method, path, headers={"Authorization": f"Bearer {tenant.token}"}, **kwargs
        )


def test_approval_comes_before_graph_and_its_approval_calls_graph(
    microsoft: Server, broker: Server
) -> None:
    tenant = Caller.demo(microsoft)
    shown = broker.cli("policy", "set", "--tenant", tenant.tenant, "--approval-for", HELD, "--json")
    assert json.loads(shown.stdout)["approval"]["requiredFor"] == [HELD]
    before = graph_calls(microsoft)
    guests = [f"g.{uuid.uuid4().hex[:8]}@{HELD}" for _ in range(2)]
    held = []
    for address in guests:
        answer = call(
            broker, tenant, "POST", "/api/InviteGuest", json={"invitedUserEmailAddress": address}
        )
        assert answer.status_code == 202, answer.text
        held.append(answer.json())
    assert graph_calls(microsoft) == before  # nothing reached Graph
    path = held[0]["statusUrl"].removeprefix(broker.base_url)
    assert call(broker, tenant, "GET", path).json()["status"] == "PendingApproval"

    # Deciding needs User.ReadWrite.All in the token; Graph then sees the approver's token.
    admin = Caller.new_app(microsoft, "contoso.example", "User.Invite.All", "User.ReadWrite.All")
    refused = call(broker, tenant, "POST", f"{path}/approve", json={})
    assert refused.status_code == 403, refused.text
    assert graph_calls(microsoft) == before
    approved = call(broker, admin, "POST", f"{path}/approve", json={"comment": "ok"})
    assert approved.status_code == 200, approved.text
    invitation = approved.json()["invitation"]
    assert invitation["invitedUserEmailAddress"] == guests[0]
    assert invitation["inviteRedeemUrl"].startswith(microsoft.base_url)
    assert graph_calls(microsoft) == before + 1
    found = tenant.request("GET", "/v1.0/users", params={"$filter": f"mail eq '{guests[0]}'"})
    assert [u["id"] for u in found.json()["value"]] == [invitation["invitedUser"]["id"]]
    again = call(broker, admin, "POST", f"{path}/approve", json={})
    assert again.status_code == 409, again.text

    other = held[1]["statusUrl"].removeprefix(broker.base_url)
    declined = call(broker, admin, "POST", f"{other}/decline", json={"comment": "no"})
    assert declined.status_code == 200, declined.text
    assert graph_calls(microsoft) == before + 1  # a decline never calls Graph
    assert call(broker, tenant, "GET", other).json()["status"] == "Declined"
