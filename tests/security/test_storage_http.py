"""Over HTTP, on SQLite and PostgreSQL: values a database cannot compare are a 400 before any
query, and lookups of addresses beyond ASCII agree with the guest an invite made."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e
EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"storage-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir}/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    server = Server(workdir=workdir, database_url=url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def caller(server: Server) -> Caller:
    return Caller.demo(server)


@pytest.fixture(scope="module")
def admin(server: Server, caller: Caller) -> Caller:
    """An app that may also change and delete users."""
    return Caller.new_app(server, caller.tenant, "User.ReadWrite.All")


@pytest.mark.parametrize("ref", ["a%00b", "%00", "ada_x.example%23EXT%23@c.example%00"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_nul_in_the_user_path_is_a_400(admin: Caller, method: str, ref: str) -> None:
    answer = admin.request(method, f"/v1.0/users/{ref}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "Request_BadRequest"


@pytest.mark.parametrize(
    "params",
    [
        {"$search": '"displayName:a\x00b"'},
        {"$search": '"mail:\x00"'},
        {"$filter": "mail eq 'a\x00b'"},
        {"$filter": "startswith(displayName, '\x00')"},
        {"$filter": "userPrincipalName in ('\x00')"},
    ],
)
def test_a_nul_in_a_query_value_is_a_400(caller: Caller, params: dict[str, str]) -> None:
    answer = caller.request("GET", "/v1.0/users", params=params, headers=EVENTUAL)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_lookups_find_a_guest_with_non_ascii_letters_in_any_case(caller: Caller) -> None:
    tag = uuid.uuid4().hex[:6]
    created = caller.invite(
        {
            "invitedUserEmailAddress": f"Zoë.{tag}@Bücher.example",
            "inviteRedirectUrl": "https://example.com",
        }
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    for params in (
        {"$filter": f"mail eq 'ZOË.{tag.upper()}@BÜCHER.EXAMPLE'"},
        {"$filter": f"startswith(mail, 'ZOË.{tag}')"},
        {"$search": f'"mail:ZOË.{tag}"'},
    ):
        listed = caller.request("GET", "/v1.0/users", params=params, headers=EVENTUAL)
        assert listed.status_code == 200, listed.text
        assert [u["id"] for u in listed.json()["value"]] == [user_id], params
    upn = caller.request("GET", f"/v1.0/users/{user_id}").json()["userPrincipalName"]
    by_upn = caller.request("GET", f"/v1.0/users/{upn.upper().replace('#', '%23')}")
    assert by_upn.status_code == 200, by_upn.text
    assert by_upn.json()["id"] == user_id
