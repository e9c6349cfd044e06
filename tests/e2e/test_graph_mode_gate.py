"""Graph mode's invitation gate: a refused invite answers 403 before any call to Graph.

Against a local-mode guestgate playing Microsoft Graph, as in test_graph_mode.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e


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
