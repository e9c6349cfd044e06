"""The CLI's invitation actions beside a running server, on SQLite and PostgreSQL.

An admin resends, revokes and deletes from the shell and sets a tenant's invitation
lifetime; the guest's links and the API's answers change as they would through the API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"cli-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir}/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    running = Server(workdir=workdir, database_url=url, demo=False).start()
    yield running
    running.stop()


def cli(server: Server, *args: str) -> Any:
    return json.loads(server.cli(*args, "--json").stdout)


def new_tenant(server: Server) -> tuple[str, Caller]:
    """A tenant of its own (its domain), and an app of it that invites and reads."""
    domain = f"t{uuid.uuid4().hex[:10]}.example"
    cli(server, "tenant", "create", "--name", "Fabrikam", "--domain", domain)
    caller = Caller.new_app(server, domain, "User.Invite.All", "User.Read.All")
    return domain, caller


def link_status(server: Server, url: str) -> int:
    with server.client() as client:
        return client.get(url.removeprefix(server.base_url)).status_code


def guest_email() -> str:
    return f"guest.{uuid.uuid4().hex[:10]}@example.com"


def test_resend_gives_a_new_link_and_revoke_ends_it(server: Server) -> None:
    tenant, caller = new_tenant(server)
    invited = cli(server, "invite", guest_email(), "--tenant", tenant)
    assert link_status(server, invited["inviteRedeemUrl"]) == 200

    resent = cli(server, "invitations", "resend", invited["invitationId"], "--tenant", tenant)
    assert resent["inviteRedeemUrl"] != invited["inviteRedeemUrl"]
    assert link_status(server, invited["inviteRedeemUrl"]) == 404
    assert link_status(server, resent["inviteRedeemUrl"]) == 200
    api = caller.request("GET", f"/api/invitations/{invited['invitationId']}").json()
    assert resent == api | {"inviteRedeemUrl": resent["inviteRedeemUrl"]}

    revoked = cli(server, "invitations", "revoke", invited["invitationId"], "--tenant", tenant)
    assert revoked["status"] == "Revoked"
    assert revoked == caller.request("GET", f"/api/invitations/{invited['invitationId']}").json()
    assert link_status(server, resent["inviteRedeemUrl"]) == 404
    again = server.cli("invitations", "revoke", invited["invitationId"], "--tenant", tenant)
    assert "Revoked" in again.stdout  # revoking twice is fine, as in the API
    refused = server.cli(
        "invitations", "resend", invited["invitationId"], "--tenant", tenant, check=False
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("guestgate: InvitationNotPending: ")
    unknown = server.cli(
        "invitations", "revoke", str(uuid.uuid4()), "--tenant", tenant, check=False
    )
    assert unknown.returncode == 1
    assert "InvitationNotFound" in unknown.stderr
    actions = [e["action"] for e in cli(server, "audit", "list", "--tenant", tenant)]
    assert actions[:3] == ["invitation.revoke", "invitation.resend", "invitation.create"]


def test_guests_delete_by_id_or_user_principal_name(server: Server) -> None:
    tenant, caller = new_tenant(server)
    by_id = cli(server, "invite", guest_email(), "--tenant", tenant)
    by_upn = cli(server, "invite", guest_email(), "--tenant", tenant)
    upn = caller.request("GET", f"/v1.0/users/{by_upn['id']}").json()["userPrincipalName"]

    assert cli(server, "guests", "delete", by_id["id"], "--tenant", tenant) == {
        "deleted": by_id["id"]
    }
    assert server.cli("guests", "delete", upn, "--tenant", tenant).stdout.split() == [
        "deleted",
        upn,
    ]
    assert cli(server, "guests", "list", "--tenant", tenant) == []
    for invited in (by_id, by_upn):
        assert link_status(server, invited["inviteRedeemUrl"]) == 404
        assert caller.request("GET", f"/v1.0/users/{invited['id']}").status_code == 404
    gone = server.cli("guests", "delete", by_id["id"], "--tenant", tenant, check=False)
    assert gone.returncode == 1
    assert "does not exist" in gone.stderr
    member = cli(
        server, "user", "create", "--tenant", tenant, "--email", f"ann@{tenant}", "--name", "Ann"
    )
    refused = server.cli("guests", "delete", member["id"], "--tenant", tenant, check=False)
    assert refused.returncode == 1
    assert "Only invited users can be deleted" in refused.stderr


def _days_from_now(stamp: str) -> float:
    expires = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (expires - datetime.now(UTC)) / timedelta(days=1)


def test_invitation_lifetime_sets_the_next_invites_expiry(server: Server) -> None:
    tenant, caller = new_tenant(server)
    first = cli(server, "invite", guest_email(), "--tenant", tenant)
    assert round(_days_from_now(first["expiresDateTime"])) == 30  # the default

    changed = cli(server, "tenant", "set", tenant, "--invitation-lifetime-days", "7")
    assert changed["invitationLifetimeDays"] == 7
    assert (
        round(
            _days_from_now(
                cli(server, "invite", guest_email(), "--tenant", tenant)["expiresDateTime"]
            )
        )
        == 7
    )
    by_api = caller.invite({"invitedUserEmailAddress": guest_email()})
    assert by_api.status_code == 201
    assert round(_days_from_now(by_api.json()["expiresDateTime"])) == 7
    resent = cli(server, "invitations", "resend", first["invitationId"], "--tenant", tenant)
    assert round(_days_from_now(resent["expiresDateTime"])) == 7

    cli(server, "tenant", "set", tenant, "--invitation-lifetime-days", "0")
    never = cli(server, "invite", guest_email(), "--tenant", tenant)
    assert never["expiresDateTime"] is None
    assert never["status"] == "PendingAcceptance"
    assert link_status(server, never["inviteRedeemUrl"]) == 200

    for bad in ("366", "-1"):
        refused = server.cli(
            "tenant",
            "set",
            tenant,
            "--invitation-lifetime-days",
            bad,
            "--logo-url",
            "https://cdn.example/logo.png",
            check=False,
        )
        assert refused.returncode == 1
        assert refused.stderr.startswith("guestgate: InvalidInvitationLifetime: ")
        assert "0-365 days" in refused.stderr
    unchanged = cli(server, "tenant", "set", tenant)
    assert (unchanged["invitationLifetimeDays"], unchanged["logoUrl"]) == (0, None)
    updates = [
        e["details"]
        for e in cli(server, "audit", "list", "--tenant", tenant)
        if e["action"] == "tenant.update"
    ]
    assert updates == [None, {"invitationLifetimeDays": 0}, {"invitationLifetimeDays": 7}]


def test_guests_disable_enable_deleted_and_restore(server: Server) -> None:
    tenant, caller = new_tenant(server)
    invited = cli(server, "invite", guest_email(), "--tenant", tenant)
    guest = invited["id"]

    def enabled() -> bool:
        answer = caller.request("GET", f"/v1.0/users/{guest}?$select=accountEnabled")
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["accountEnabled"])

    assert cli(server, "guests", "disable", guest, "--tenant", tenant) == {
        "id": guest,
        "accountEnabled": False,
    }
    assert not enabled()
    assert link_status(server, invited["inviteRedeemUrl"]) != 200  # a disabled guest cannot redeem
    shown = server.cli("guests", "enable", guest, "--tenant", tenant).stdout.splitlines()
    assert [line.split() for line in shown] == [["id", guest], ["accountEnabled", "True"]]
    assert enabled()
    assert link_status(server, invited["inviteRedeemUrl"]) == 200

    assert server.cli("guests", "deleted", "--tenant", tenant).stdout.strip() == "(none)"
    cli(server, "guests", "delete", guest, "--tenant", tenant)
    [row] = cli(server, "guests", "deleted", "--tenant", tenant)
    assert (row["id"], row["mail"]) == (guest, invited["invitedUserEmailAddress"])
    deleted = datetime.fromisoformat(row["deletedDateTime"].replace("Z", "+00:00"))
    purged = datetime.fromisoformat(row["purgeDateTime"].replace("Z", "+00:00"))
    assert abs(deleted - datetime.now(UTC)) < timedelta(minutes=5)
    assert purged - deleted == timedelta(days=30)
    table = server.cli("guests", "deleted", "--tenant", tenant).stdout.splitlines()
    assert table[0].split() == ["id", "address", "deleted", "purged"]
    assert table[1].split() == [guest, row["mail"], row["deletedDateTime"], row["purgeDateTime"]]

    restored = cli(server, "guests", "restore", guest, "--tenant", tenant)
    assert (restored["id"], restored["mail"], restored["restored"]) == (guest, row["mail"], True)
    assert cli(server, "guests", "deleted", "--tenant", tenant) == []
    assert [g["id"] for g in cli(server, "guests", "list", "--tenant", tenant)] == [guest]
    assert enabled()
    actions = [e["action"] for e in cli(server, "audit", "list", "--tenant", tenant)]
    assert actions[:4] == ["user.restore", "user.delete", "user.enable", "user.disable"]

    for args, code in (
        (("guests", "disable", str(uuid.uuid4())), "Request_ResourceNotFound"),
        (("guests", "enable", "nobody@example.com"), "Request_ResourceNotFound"),
        (("guests", "restore", guest), "Request_ResourceNotFound"),  # not deleted now
        (("guests", "restore", "not-a-guid"), "Request_BadRequest"),
    ):
        refused = server.cli(*args, "--tenant", tenant, "--json", check=False)
        assert refused.returncode == 1, args
        assert refused.stderr.startswith(f"guestgate: {code}: "), refused.stderr
        assert refused.stdout == ""
        if code == "Request_ResourceNotFound":
            assert "(database " in refused.stderr  # which database was searched
    for command in ("disable", "enable", "restore"):
        unknown = server.cli("guests", command, guest, "--tenant", "nowhere.example", check=False)
        assert unknown.returncode == 1
        assert "nowhere.example" in unknown.stderr
        assert "(database " in unknown.stderr
    unknown = server.cli("guests", "deleted", "--tenant", "nowhere.example", check=False)
    assert (unknown.returncode, "nowhere.example" in unknown.stderr) == (1, True)
    missing = server.cli("guests", "deleted", check=False)
    assert missing.returncode == 2
    assert "--tenant" in missing.stderr
    assert enabled()  # nothing a refusal touched changed
    assert actions == [e["action"] for e in cli(server, "audit", "list", "--tenant", tenant)]
