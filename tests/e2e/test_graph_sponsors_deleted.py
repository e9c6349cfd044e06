"""The Graph surface's sponsors, accountEnabled and deleted items, on SQLite and PostgreSQL:
Graph's shapes, permissions and errors, a disabled or deleted guest refused at redemption,
and the restore round trip."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e
DEMO_DOMAIN = "contoso.example"
DELETED = "/v1.0/directory/deletedItems"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("sponsors")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def caller(server: Server) -> Caller:
    demo = Caller.demo(server)
    return Caller.new_app(
        server, demo.tenant, "User.Invite.All", "User.Read.All", "User.ReadWrite.All"
    )


@pytest.fixture(scope="module")
def reader(server: Server, caller: Caller) -> Caller:
    return Caller.new_app(server, caller.tenant, "User.Read.All")


def member(server: Server, caller: Caller, name: str = "m") -> str:
    address = f"{name}.{uuid.uuid4().hex[:8]}@{DEMO_DOMAIN}"
    out = server.cli(
        "user", "create", "--tenant", caller.tenant, "--email", address, "--name", name, "--json"
    )
    found: str = json.loads(out.stdout)["id"]
    return found


def guest(caller: Caller, **extra: Any) -> dict[str, Any]:
    answer = caller.invite(
        {"invitedUserEmailAddress": f"g.{uuid.uuid4().hex[:8]}@partner.example", **extra}
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def sponsors(caller: Caller, user_id: str) -> list[str]:
    answer = caller.request("GET", f"/v1.0/users/{user_id}/sponsors")
    assert answer.status_code == 200, answer.text
    assert answer.json()["@odata.context"].endswith("/v1.0/$metadata#directoryObjects")
    assert all(s["@odata.type"] == "#microsoft.graph.user" for s in answer.json()["value"])
    return [s["id"] for s in answer.json()["value"]]


def add(caller: Caller, user_id: str, sponsor_id: str) -> httpx.Response:
    return caller.request(
        "POST",
        f"/v1.0/users/{user_id}/sponsors/$ref",
        json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{sponsor_id}"},
    )


def code(answer: httpx.Response) -> str:
    found: str = answer.json()["error"]["code"]
    return found


def test_the_requester_sponsors_a_new_guest_by_default(server: Server, caller: Caller) -> None:
    boss = member(server, caller, "boss")
    address = caller.request("GET", f"/v1.0/users/{boss}", params={"$select": "mail"}).json()[
        "mail"
    ]
    invited = guest(caller, requestedBy=address)
    assert sponsors(caller, invited["id"]) == [boss]
    # Sponsors named: they, not the requester.
    other = member(server, caller, "other")
    named = caller.request(
        "POST",
        "/v1.0/invitations",
        json={
            "invitedUserEmailAddress": f"n.{uuid.uuid4().hex[:8]}@partner.example",
            "inviteRedirectUrl": "https://example.com",
            "invitedUserSponsors": [{"id": other}],
        },
    )
    assert named.status_code == 201, named.text
    assert sponsors(caller, named.json()["invitedUser"]["id"]) == [other]
    # A requester that is not a member sponsors nobody.
    assert sponsors(caller, guest(caller, requestedBy="x@partner.example")["id"]) == []


def test_sponsors_are_added_up_to_five_and_removed(server: Server, caller: Caller) -> None:
    user_id = guest(caller)["id"]
    five = [member(server, caller, f"s{i}") for i in range(6)]
    for sponsor in five[:5]:
        answer = add(caller, user_id, sponsor)
        assert answer.status_code == 204, answer.text
    assert sponsors(caller, user_id) == five[:5]
    sixth = add(caller, user_id, five[5])
    assert sixth.status_code == 400, sixth.text
    assert code(sixth) == "Request_BadRequest"
    again = add(caller, user_id, five[0])
    assert again.status_code == 400
    assert code(again) == "Request_BadRequest"
    gone = caller.request("DELETE", f"/v1.0/users/{user_id}/sponsors/{five[0]}/$ref")
    assert gone.status_code == 204, gone.text
    assert sponsors(caller, user_id) == five[1:5]
    assert add(caller, user_id, five[5]).status_code == 204
    assert sponsors(caller, user_id) == [*five[1:5], five[5]]
    # Only its own reference went: the sponsor is still a user.
    assert caller.request("GET", f"/v1.0/users/{five[0]}").status_code == 200


def test_bad_sponsor_requests_are_graphs_errors(server: Server, caller: Caller) -> None:
    user_id = guest(caller)["id"]
    unknown = str(uuid.uuid4())
    cases = [
        (add(caller, user_id, unknown), 404, "Request_ResourceNotFound"),
        (add(caller, unknown, member(server, caller)), 404, "Request_ResourceNotFound"),
        (add(caller, user_id, user_id), 400, "Request_BadRequest"),
        (
            caller.request(
                "POST", f"/v1.0/users/{user_id}/sponsors/$ref", json={"@odata.id": "nope"}
            ),
            400,
            "Request_BadRequest",
        ),
        (
            caller.request("POST", f"/v1.0/users/{user_id}/sponsors/$ref", json={"x": 1}),
            400,
            "Request_BadRequest",
        ),
        (
            caller.request("DELETE", f"/v1.0/users/{user_id}/sponsors/not-a-guid/$ref"),
            400,
            "Request_BadRequest",
        ),
        (
            caller.request("DELETE", f"/v1.0/users/{user_id}/sponsors/{unknown}/$ref"),
            404,
            "Request_ResourceNotFound",
        ),
        (caller.request("GET", f"/v1.0/users/{unknown}/sponsors"), 404, "Request_ResourceNotFound"),
    ]
    for answer, status, expected in cases:
        assert answer.status_code == status, answer.text
        assert code(answer) == expected, answer.text
    assert sponsors(caller, user_id) == []


def test_writes_need_user_readwrite_all(server: Server, caller: Caller, reader: Caller) -> None:
    user_id = guest(caller)["id"]
    sponsor = member(server, caller)
    assert add(reader, user_id, sponsor).status_code == 403
    assert (
        reader.request(
            "PATCH", f"/v1.0/users/{user_id}", json={"accountEnabled": False}
        ).status_code
        == 403
    )
    assert reader.request("DELETE", f"/v1.0/users/{user_id}").status_code == 403
    assert reader.request("GET", f"/v1.0/users/{user_id}/sponsors").status_code == 200
    assert caller.request("DELETE", f"/v1.0/users/{user_id}").status_code == 204
    assert reader.request("GET", f"{DELETED}/{user_id}").status_code == 200
    assert reader.request("POST", f"{DELETED}/{user_id}/restore").status_code == 403
    assert reader.request("DELETE", f"{DELETED}/{user_id}").status_code == 403
    assert caller.request("GET", f"{DELETED}/{user_id}").status_code == 200  # still there


def enabled(caller: Caller, user_id: str) -> bool:
    answer = caller.request("GET", f"/v1.0/users/{user_id}", params={"$select": "accountEnabled"})
    assert answer.status_code == 200, answer.text
    found: bool = answer.json()["accountEnabled"]
    return found


def test_a_disabled_guest_cannot_redeem_until_enabled(server: Server, caller: Caller) -> None:
    invited = guest(caller)
    user_id, link = invited["id"], invited["inviteRedeemUrl"]
    assert enabled(caller, user_id) is True
    off = caller.request("PATCH", f"/v1.0/users/{user_id}", json={"accountEnabled": False})
    assert off.status_code == 204, off.text
    assert enabled(caller, user_id) is False
    with server.client() as client:
        page = client.get(link.replace(server.base_url, ""))
    assert page.status_code == 403, page.text
    assert "Your account is disabled" in page.text
    assert "AADSTS50057" in page.text
    assert (
        caller.request("PATCH", f"/v1.0/users/{user_id}", json={"accountEnabled": True}).status_code
        == 204
    )
    with server.client() as client:
        assert client.get(link.replace(server.base_url, "")).status_code == 200


def test_a_patch_renames_a_user_audited_with_the_old_and_new_name(
    server: Server, caller: Caller
) -> None:
    invited = guest(caller, invitedUserDisplayName="Before Name")
    user_id = invited["id"]
    answer = caller.request("PATCH", f"/v1.0/users/{user_id}", json={"displayName": " After "})
    assert answer.status_code == 204, answer.text
    assert caller.request("GET", f"/v1.0/users/{user_id}").json()["displayName"] == "After"
    audit = json.loads(server.cli("audit", "list", "--tenant", caller.tenant, "--json").stdout)
    renamed = [a for a in audit if a["action"] == "user.update" and a["target"] == user_id]
    assert renamed, audit[:5]
    assert renamed[0]["details"]["displayName"] == {"from": "Before Name", "to": "After"}


def test_bad_patches_are_400_and_change_nothing(caller: Caller) -> None:
    user_id = guest(caller)["id"]
    for body in (
        {"accountEnabled": "false"},
        {"accountEnabled": 0},
        {"accountEnabled": None},
        {"displayName": ""},
        {"displayName": "x" * 257},
        {"displayName": 7},
        {"displayName": "ok", "accountEnabled": "no"},
        {"accountEnabled": False, "surname": "x"},
    ):
        answer = caller.request("PATCH", f"/v1.0/users/{user_id}", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert code(answer) == "Request_BadRequest"
    assert (
        "accountEnabled"
        in caller.request("PATCH", f"/v1.0/users/{user_id}", json={"accountEnabled": "no"}).json()[
            "error"
        ]["message"]
    )
    assert enabled(caller, user_id) is True
    assert caller.request("GET", f"/v1.0/users/{user_id}").json()["displayName"] != "ok"
    unknown = caller.request("PATCH", f"/v1.0/users/{uuid.uuid4()}", json={"accountEnabled": False})
    assert unknown.status_code == 404
    assert code(unknown) == "Request_ResourceNotFound"
    not_json = caller.request(
        "PATCH",
        f"/v1.0/users/{user_id}",
        content=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert not_json.status_code == 400


def test_delete_restore_round_trip_keeps_id_sponsors_and_state(
    server: Server, caller: Caller
) -> None:
    invited = guest(caller)
    user_id, link = invited["id"], invited["inviteRedeemUrl"]
    sponsor = member(server, caller)
    assert add(caller, user_id, sponsor).status_code == 204
    assert (
        caller.request(
            "PATCH", f"/v1.0/users/{user_id}", json={"accountEnabled": False}
        ).status_code
        == 204
    )
    before = caller.request("GET", f"/v1.0/users/{user_id}").json()
    assert caller.request("DELETE", f"/v1.0/users/{user_id}").status_code == 204
    # Gone from the users and from redemption.
    assert caller.request("GET", f"/v1.0/users/{user_id}").status_code == 404
    listed = caller.request("GET", "/v1.0/users", params={"$filter": f"mail eq '{before['mail']}'"})
    assert listed.json()["value"] == []
    with server.client() as client:
        assert client.get(link.replace(server.base_url, "")).status_code == 404
    # In deleted items, with deletedDateTime.
    items = caller.request("GET", f"{DELETED}/microsoft.graph.user").json()
    assert items["@odata.context"].endswith("#directory/deletedItems/microsoft.graph.user")
    mine = [d for d in items["value"] if d["id"] == user_id]
    assert len(mine) == 1
    assert mine[0]["deletedDateTime"].endswith("Z")
    assert mine[0]["@odata.type"] == "#microsoft.graph.user"
    one = caller.request("GET", f"{DELETED}/{user_id}")
    assert one.status_code == 200
    assert one.json()["mail"] == before["mail"]
    restored = caller.request("POST", f"{DELETED}/{user_id}/restore")
    assert restored.status_code == 200, restored.text
    assert restored.json()["id"] == user_id
    assert caller.request("GET", f"/v1.0/users/{user_id}").json() == before
    assert sponsors(caller, user_id) == [sponsor]
    assert enabled(caller, user_id) is False
    assert caller.request("GET", f"{DELETED}/{user_id}").status_code == 404
    again = caller.request("POST", f"{DELETED}/{user_id}/restore")
    assert again.status_code == 404
    assert code(again) == "Request_ResourceNotFound"


def test_permanent_delete_and_a_new_guest_of_the_same_address(caller: Caller) -> None:
    address = f"again.{uuid.uuid4().hex[:8]}@partner.example"
    first = caller.invite({"invitedUserEmailAddress": address}).json()["id"]
    upn = caller.request("GET", f"/v1.0/users/{first}").json()["userPrincipalName"]
    assert caller.request("DELETE", f"/v1.0/users/{first}").status_code == 204
    # The address can be invited again: a new user, with a new name, as Entra does.
    second = caller.invite({"invitedUserEmailAddress": address}).json()["id"]
    assert second != first
    assert caller.request("GET", f"/v1.0/users/{second}").json()["userPrincipalName"] != upn
    # Restoring the first while the second holds the address: 400, nothing changes.
    conflict = caller.request("POST", f"{DELETED}/{first}/restore")
    assert conflict.status_code == 400
    assert code(conflict) == "Request_BadRequest"
    assert caller.request("GET", f"{DELETED}/{first}").status_code == 200
    purged = caller.request("DELETE", f"{DELETED}/{first}")
    assert purged.status_code == 204, purged.text
    assert caller.request("GET", f"{DELETED}/{first}").status_code == 404
    assert caller.request("DELETE", f"{DELETED}/{first}").status_code == 404
    for path in (f"{DELETED}/not-a-guid", f"{DELETED}/not-a-guid/restore"):
        method = "GET" if path.endswith("guid") else "POST"
        bad = caller.request(method, path)
        assert bad.status_code == 400, bad.text
        assert code(bad) == "Request_BadRequest"


def test_deleted_items_page_with_top_and_skiptoken(caller: Caller) -> None:
    ids = [guest(caller)["id"] for _ in range(3)]
    for user_id in ids:
        assert caller.request("DELETE", f"/v1.0/users/{user_id}").status_code == 204
    seen: list[str] = []
    url = f"{DELETED}/microsoft.graph.user?$top=2"
    while url:
        page = caller.request("GET", url.replace(caller.server.base_url, ""))
        assert page.status_code == 200, page.text
        assert len(page.json()["value"]) <= 2
        seen += [d["id"] for d in page.json()["value"]]
        url = page.json().get("@odata.nextLink", "")
    assert set(ids) <= set(seen)
    assert len(seen) == len(set(seen))
    bad = caller.request("GET", f"{DELETED}/microsoft.graph.user", params={"$top": "0"})
    assert bad.status_code == 400
