"""Every /api/invitations/{id} route takes the invitation id and the guest's user id (the
`id` of the 201 answer, as in the GT365 contract), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def caller(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Caller]:
    workdir: Path = tmp_path_factory.mktemp(f"ids-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir}/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    server = Server(workdir=workdir, database_url=url)
    server.start()
    try:
        yield Caller.demo(server)
    finally:
        server.stop()


def invite(caller: Caller) -> dict[str, str]:
    answer = caller.invite(
        {
            "invitedUserEmailAddress": f"ids.{uuid.uuid4().hex[:8]}@example.com",
            "inviteRedirectUrl": "https://example.com",
        }
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, str] = answer.json()
    assert body["id"] != body["invitationId"]
    return body


@pytest.mark.parametrize("which", ["id", "invitationId"])
def test_get_resend_and_revoke_take_either_id(caller: Caller, which: str) -> None:
    created = invite(caller)
    ref = created[which]
    got = caller.request("GET", f"/api/invitations/{ref}")
    assert got.status_code == 200, got.text
    assert got.json()["id"] == created["invitationId"]
    assert got.json()["invitedUser"]["id"] == created["id"]
    resent = caller.request("POST", f"/api/invitations/{ref}/resend")
    assert resent.status_code == 200, resent.text
    assert resent.json()["id"] == created["invitationId"]
    assert resent.json()["inviteRedeemUrl"] != created["inviteRedeemUrl"]
    revoked = caller.request("POST", f"/api/invitations/{ref}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "Revoked"
    assert (
        caller.request("GET", f"/api/invitations/{created['invitationId']}").json()["status"]
        == "Revoked"
    )


def test_the_user_id_leads_to_the_guests_newest_invitation(caller: Caller) -> None:
    first = invite(caller)
    again = caller.invite(
        {
            "invitedUserEmailAddress": first["invitedUserEmailAddress"],
            "inviteRedirectUrl": "https://example.com",
        }
    ).json()
    assert again["id"] == first["id"]
    got = caller.request("GET", f"/api/invitations/{first['id']}").json()
    assert got["id"] == again["invitationId"]
    assert got["status"] == "PendingAcceptance"


@pytest.mark.parametrize("ref", ["b2e2752b-cd0e-42c5-a8ca-dedf76b50bb6", "not-a-guid"])
@pytest.mark.parametrize("action", ["", "/resend", "/revoke"])
def test_an_unknown_id_is_a_404_naming_the_ids_accepted(
    caller: Caller, ref: str, action: str
) -> None:
    method = "GET" if not action else "POST"
    answer = caller.request(method, f"/api/invitations/{ref}{action}")
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    assert error["code"] == "InvitationNotFound"
    assert "invitationId" in error["message"]
    assert "user id" in error["message"]
