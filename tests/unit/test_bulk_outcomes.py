"""A bulk call reports every item's own outcome, whatever one of them meets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guestgate.domain.invitations import InviteRequest
from guestgate.errors import GuestgateError
from guestgate.services.directory import Actor, Gate, Outcome, Record
from guestgate.web.body import count_items
from tests.unit.test_invitation_service import ACTOR, local_service, request, with_tenant

pytestmark = pytest.mark.anyio


class FailsOnce:
    """Wraps a directory; the invite of one address raises what no rule expects."""

    def __init__(self, inner: Any, address: str) -> None:
        self.inner, self.address = inner, address

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def invite(
        self, actor: Actor, request: InviteRequest, *, gate: Gate, record: Record
    ) -> Outcome:
        if request.email.address == self.address:
            raise RuntimeError("the storage broke on this one")
        outcome: Outcome = await self.inner.invite(actor, request, gate=gate, record=record)
        return outcome


async def test_an_unexpected_failure_after_committed_items_is_that_items_answer() -> None:
    store = await with_tenant()
    service, _ = local_service(store)
    service.directory = FailsOnce(service.directory, "b@example.com")
    results = await service.invite_many(
        ACTOR,
        [request("a@example.com"), request("b@example.com"), request("c@example.com")],
    )
    first, failed, last = results
    assert not isinstance(first, GuestgateError)
    assert isinstance(failed, GuestgateError)
    assert failed.code == "InternalServerError"
    assert "logged" in failed.message
    assert "storage broke" not in failed.message  # nothing internal reaches the caller
    assert not isinstance(last, GuestgateError)
    assert {u.mail for u in store.users.values()} == {"a@example.com", "c@example.com"}


def test_items_are_counted_before_any_of_them_is_parsed() -> None:
    # Item 600 has a duplicate key, which the full parse refuses; the count refuses first.
    items = [{"invitedUserEmailAddress": f"g{i}@example.com"} for i in range(700)]
    body = json.dumps({"invitations": items}).encode()
    body = body.replace(b'"g600@example.com"}', b'"g600@example.com", "x": 1, "x": 2}')
    assert count_items(body, "invitations") == 700


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"invitations": {}}', b'{"invitations": 1}', b"not json", b'{"other": []}'],
)
def test_a_body_without_a_list_is_left_to_the_full_parse(body: bytes) -> None:
    assert count_items(body, "invitations") is None
