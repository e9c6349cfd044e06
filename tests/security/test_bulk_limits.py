"""Bulk bodies: refused while read, or by their number before any entry is parsed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, count, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    smtp = SmtpSink().start()
    yield smtp
    smtp.stop()


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    yield from start_server(request, tmp_path_factory.mktemp("bulk"), sink)


@pytest.fixture(scope="module")
def caller(server: Server) -> Caller:
    return Caller.demo(server)


def stored(server: Server) -> tuple[int, int]:
    return (
        count(server, "SELECT COUNT(*) FROM invitations"),
        count(server, "SELECT COUNT(*) FROM outbox"),
    )


def post_bulk(caller: Caller, body: bytes, **headers: str) -> httpx.Response:
    return caller.request(
        "POST",
        "/api/InviteGuests",
        content=body,
        headers={"Content-Type": "application/json", **headers},
    )


def test_many_tiny_entries_are_refused_by_their_number_and_nothing_is_stored(
    caller: Caller, server: Server
) -> None:
    before = stored(server)
    body = b'{"invitations": [' + b",".join([b"{}"] * 600_000) + b"]}"  # just under 2 MiB
    answer = post_bulk(caller, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "InvalidBulkSize"
    assert stored(server) == before


def test_the_number_is_checked_before_any_entry_is_parsed(caller: Caller) -> None:
    items = [{"invitedUserEmailAddress": f"g{i}@example.com"} for i in range(501)]
    body = json.dumps({"invitations": items}).encode()
    # The last entry holds a duplicate key, which the full parse refuses: it is never reached.
    body = body.replace(b'"g500@example.com"}', b'"g500@example.com", "x": 1, "x": 2}')
    answer = post_bulk(caller, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "InvalidBulkSize"


def test_an_oversized_body_is_refused_while_it_is_read(caller: Caller, server: Server) -> None:
    before = stored(server)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies as bytes arrive
        yield b'{"invitations": ['
        for _ in range(300):
            yield (
                b'{"invitedUserEmailAddress": "x@example.com", "more": {"pad": "'
                + b"p" * 10_000
                + b'"}},'
            )
        yield b"{}]}"

    answer = caller.request(
        "POST",
        "/api/InviteGuests",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert stored(server) == before


def test_each_entry_answers_for_itself(caller: Caller, server: Server) -> None:
    good = [f"bulk.{uuid.uuid4().hex[:8]}@example.com" for _ in range(3)]
    body = {
        "invitations": [
            {"invitedUserEmailAddress": good[0]},
            {"invitedUserEmailAddress": "not an address"},
            {"invitedUserEmailAddress": good[1], "inviteRedirectUrl": "https://x.example/\u202e"},
            {"invitedUserEmailAddress": good[2], "inviteRedirectUrl": "https://\u00fcber.example/"},
        ]
    }
    answer = caller.request("POST", "/api/InviteGuests", json=body)
    assert answer.status_code == 200, answer.text
    value = answer.json()["value"]
    assert [item["status"] for item in value] == [201, 400, 400, 201]
    assert value[3]["invitation"]["inviteRedirectUrl"] == "https://xn--ber-goa.example/"
    for email, expected in ((good[0], 1), (good[1], 0), (good[2], 1)):
        assert count(server, "SELECT COUNT(*) FROM invitations WHERE email = %s", email) == expected
