"""Graph mode's invitation gate: a refused invite answers 403 before any call to Graph.

Against a local-mode guestgate playing Microsoft Graph, as in test_graph_mode.py."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e
ALL_MEMBERS = "adminsGuestInvitersAndAllMembers"
DEMO_DOMAIN = "contoso.example"  # the demo tenant's domain, where Graph knows no such user


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("microsoft")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, microsoft: Server) -> Iterator[Server]:
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


def graph_calls(microsoft: Server) -> int:
    return microsoft.logs().count('"msg": "POST /v1.0/invitations')


def test_a_blocked_domain_is_refused_before_graph_is_called(
    microsoft: Server, broker: Server
) -> None:
    tenant = Caller.demo(microsoft)
    shown = broker.cli(
        "policy", "set", "--tenant", tenant.tenant, "--blocked-domains", "blocked.example", "--json"
    )
    assert json.loads(shown.stdout)["blockedDomains"] == ["blocked.example"]
    before = graph_calls(microsoft)
    with broker.client() as client:
        refused = client.post(
            "/api/InviteGuest",
            headers={"Authorization": f"Bearer {tenant.token}"},
            json={"invitedUserEmailAddress": "someone@blocked.example"},
        )
        allowed = client.post(
            "/api/InviteGuest",
            headers={"Authorization": f"Bearer {tenant.token}"},
            json={"invitedUserEmailAddress": "someone@fine.example"},
        )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "DomainNotAllowed"
    assert allowed.status_code == 201, allowed.text
    assert graph_calls(microsoft) == before + 1  # the allowed one only
    found = tenant.request(
        "GET", "/v1.0/users", params={"$filter": "mail eq 'someone@blocked.example'"}
    ).json()
    assert found["value"] == []


def user_lookups(microsoft: Server, at_least: int = 0) -> int:
    """GET /v1.0/users calls in Graph's log, waiting a moment for `at_least` to be written."""
    deadline = time.monotonic() + 5
    while True:
        found = microsoft.logs().count('"msg": "GET /v1.0/users')
        if found >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_only_members_in_graph_may_invite_under_all_members(
    microsoft: Server, broker: Server
) -> None:
    tenant = Caller.demo(microsoft)
    member = f"member.{uuid.uuid4().hex[:8]}@partner.example"  # not one of the tenant's domains
    microsoft.cli("user", "create", "--tenant", tenant.tenant, "--email", member, "--name", "M")
    guest = f"guest.{uuid.uuid4().hex[:8]}@partner.example"
    assert tenant.invite({"invitedUserEmailAddress": guest}).status_code == 201
    broker.cli(
        "policy", "set", "--tenant", tenant.tenant, "--allow-invites-from", ALL_MEMBERS, "--json"
    )

    def invite(requested_by: str) -> httpx.Response:
        with broker.client() as client:
            return client.post(
                "/api/InviteGuest",
                headers={"Authorization": f"Bearer {tenant.token}"},
                json={
                    "invitedUserEmailAddress": f"g.{uuid.uuid4().hex[:8]}@fine.example",
                    "requestedBy": requested_by,
                },
            )

    try:
        for refused_by in (guest, f"nobody.{uuid.uuid4().hex[:8]}@{DEMO_DOMAIN}"):
            invitations, lookups = graph_calls(microsoft), user_lookups(microsoft)
            refused = invite(refused_by)
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "InviterNotAllowed"
            assert refused_by in refused.json()["error"]["message"]
            assert user_lookups(microsoft, lookups + 1) == lookups + 1  # asked Graph who it is
            assert graph_calls(microsoft) == invitations  # and invited nobody
        invitations = graph_calls(microsoft)
        allowed = invite(member.upper())
        assert allowed.status_code == 201, allowed.text
        assert graph_calls(microsoft) == invitations + 1
    finally:
        broker.cli("policy", "set", "--tenant", tenant.tenant, "--allow-invites-from", "everyone")
