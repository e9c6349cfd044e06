"""One id works everywhere in Microsoft 365 mode, on SQLite and PostgreSQL: get, resend and
revoke on /api/invitations/{id} take the invitation id of the 201 answer as well as the
guest's user id. Graph keeps no invitations to look up, so guestgate keeps which guest each
invitation made; a local-mode guestgate plays Graph."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e
ADMIN = ("User.Invite.All", "User.Read.All", "User.ReadWrite.All")


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("microsoft-ids")
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
    workdir: Path = tmp_path_factory.mktemp(f"broker-ids-{request.param}")
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
        },
    )
    server.start()
    yield server
    server.stop()


def call(server: Server, method: str, path: str, token: str) -> httpx.Response:
    with server.client() as client:
        return client.request(method, path, headers={"Authorization": f"Bearer {token}"})


def stored_user_of(broker: Server, tenant_id: str, invitation_id: str) -> str | None:
    """What the broker's database keeps for an invitation id."""

    async def read() -> str | None:
        db = connect(broker.database_url, pool_size=1)
        try:
            async with SqlUnitOfWork(db, write=False) as uow:
                return await uow.graph_invitations.user_id(tenant_id, invitation_id)
        finally:
            await db.close()

    return asyncio.run(read())


def invite(broker: Server, admin: Caller) -> dict[str, Any]:
    with broker.client() as client:
        answer = client.post(
            "/api/InviteGuest",
            headers={"Authorization": f"Bearer {admin.token}"},
            json={"invitedUserEmailAddress": f"ids.{uuid.uuid4().hex[:8]}@partner.example"},
        )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_invitation_id_and_the_user_id_both_find_the_invitation(
    microsoft: Server, broker: Server
) -> None:
    admin = Caller.new_app(microsoft, "contoso.example", *ADMIN)
    made = invite(broker, admin)
    user_id, invitation_id = made["id"], made["invitationId"]
    assert invitation_id != user_id
    assert stored_user_of(broker, admin.tenant, invitation_id) == user_id
    for ref in (invitation_id, user_id, invitation_id.upper()):
        found = call(broker, "GET", f"/api/invitations/{ref}", admin.token)
        assert found.status_code == 200, found.text
        assert found.json()["invitedUser"]["id"] == user_id
        assert found.json()["invitedUserEmailAddress"] == made["invitedUserEmailAddress"]

    resent = call(broker, "POST", f"/api/invitations/{invitation_id}/resend", admin.token)
    assert resent.status_code == 200, resent.text
    assert resent.json()["invitedUser"]["id"] == user_id
    assert resent.json()["inviteRedeemUrl"].startswith(f"{microsoft.base_url}/redeem/")
    # The first invitation id still finds the guest after a resend made another one.
    assert call(broker, "GET", f"/api/invitations/{invitation_id}", admin.token).status_code == 200

    revoked = call(broker, "POST", f"/api/invitations/{invitation_id}/revoke", admin.token)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "Revoked"
    # Revoking deletes the guest in Graph: neither id finds it any more.
    gone = admin.request("GET", f"/v1.0/users/{user_id}")
    assert gone.status_code == 404
    for ref in (invitation_id, user_id):
        missing = call(broker, "GET", f"/api/invitations/{ref}", admin.token)
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "InvitationNotFound"


def test_an_unknown_id_is_404_naming_both_kinds_of_id(microsoft: Server, broker: Server) -> None:
    admin = Caller.new_app(microsoft, "contoso.example", *ADMIN)
    for method, suffix in (("GET", ""), ("POST", "/resend"), ("POST", "/revoke")):
        for ref in (str(uuid.uuid4()), "not-an-id"):
            missing = call(broker, method, f"/api/invitations/{ref}{suffix}", admin.token)
            assert missing.status_code == 404, missing.text
            error = missing.json()["error"]
            assert error["code"] == "InvitationNotFound"
            assert "invitationId" in error["message"]
            assert "user id" in error["message"]


def test_another_tenants_invitation_id_is_not_found(microsoft: Server, broker: Server) -> None:
    admin = Caller.new_app(microsoft, "contoso.example", *ADMIN)
    made = invite(broker, admin)
    domain = f"other-{uuid.uuid4().hex[:8]}.example"
    microsoft.cli("tenant", "create", "--name", "Fabrikam", "--domain", domain)
    other = Caller.new_app(microsoft, domain, *ADMIN)
    for ref in (made["invitationId"], made["id"]):
        found = call(broker, "GET", f"/api/invitations/{ref}", other.token)
        assert found.status_code == 404, found.text
        assert found.json()["error"]["code"] == "InvitationNotFound"
    assert stored_user_of(broker, other.tenant, made["invitationId"]) is None
