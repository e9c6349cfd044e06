"""Reading guests from Graph for lifecycle rules: what Graph's user shape means to each rule,
and answers no stand-in of Graph sends (a next link elsewhere, odd values). The calls go to a
recording Graph double; the end-to-end run against a real stand-in is
tests/e2e/test_graph_mode_lifecycle.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from guestgate.domain.lifecycle_eval import KeptAndInvited
from guestgate.errors import UpstreamFailed, UpstreamUnavailable
from guestgate.services.graph_lifecycle_facts import GraphGuestFacts, facts_of

pytestmark = pytest.mark.anyio
GRAPH = "https://graph.microsoft.com"


class Graph:
    """Answers each call with the next of `answers`, and records what was asked."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, dict[str, str] | None]] = []

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        json: Any = None,
        params: dict[str, str] | None = None,
        safe_to_repeat: bool = True,
    ) -> Any:
        self.calls.append((method, path, params))
        return self.answers.pop(0)


class Tokens:
    async def token(self) -> str:
        return "app-token"


class Store:
    async def kept(self, tenant_id: str, user_ids: Any) -> dict[str, KeptAndInvited]:
        return {}


class Uow:
    lifecycle = Store()

    async def __aenter__(self) -> Uow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def source(graph: Graph, *, tokens: Tokens | None = None) -> GraphGuestFacts:
    return GraphGuestFacts(
        lambda write=False: Uow(),  # type: ignore[arg-type,return-value]
        client=graph,
        app_tokens=tokens or Tokens(),
        graph_url=GRAPH,
    )


def user(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"id-{i}",
        "userType": "Guest",
        "displayName": f"G {i}",
        "mail": f"g{i}@fabrikam.example",
        "createdDateTime": "2026-01-02T03:04:05Z",
        **extra,
    }


def test_graphs_user_shape_as_the_rules_read_it() -> None:
    pending = facts_of(
        user(
            1,
            externalUserState="PendingAcceptance",
            externalUserStateChangeDateTime="2026-02-01T00:00:00.1234567Z",
            accountEnabled=False,
        ),
        KeptAndInvited(kept_at=None, invited_at=datetime(2026, 3, 1, tzinfo=UTC)),
        ("s1",),
    )
    assert pending.pending
    assert pending.invited_at == datetime(2026, 3, 1, tzinfo=UTC)  # guestgate's is later
    assert pending.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert not pending.enabled
    assert pending.sponsors == ("s1",)
    accepted = facts_of(
        user(
            2,
            externalUserState="Accepted",
            externalUserStateChangeDateTime="2026-02-01T00:00:00Z",
            signInActivity={"lastSuccessfulSignInDateTime": "2026-04-01T10:00:00Z"},
        ),
        None,
        (),
    )
    assert not accepted.pending
    assert accepted.invited_at is None  # a state change to Accepted is not an invitation
    assert accepted.last_sign_in == datetime(2026, 4, 1, 10, tzinfo=UTC)
    assert accepted.enabled
    odd = facts_of(user(3, signInActivity="nope", createdDateTime="yesterday"), None, ())
    assert odd.last_sign_in is None
    assert odd.created_at == datetime(1970, 1, 1, tzinfo=UTC)


async def test_pages_follow_graphs_next_link_and_sponsors_are_read_only_when_asked() -> None:
    graph = Graph(
        {"value": [user(1)], "@odata.nextLink": f"{GRAPH}/v1.0/users?$skiptoken=abc&$top=1"},
        {"value": [user(2), {"id": "m", "userType": "Member"}]},
    )
    found = [g.user_id async for g in source(graph).guests("t", sponsors=False)]
    assert found == ["id-1", "id-2"]
    first = graph.calls[0][2] or {}
    assert (first["$filter"], first["$top"]) == ("userType eq 'Guest'", "999")
    assert "signInActivity" in first["$select"].split(",")
    assert graph.calls[1][1:] == ("/v1.0/users", {"$skiptoken": "abc", "$top": "1"})
    with_sponsors = Graph({"value": [user(1)]}, {"value": [{"id": "s1"}, {"id": "s2"}]})
    listed = [g async for g in source(with_sponsors).guests("t", sponsors=True)]
    assert listed[0].sponsors == ("s1", "s2")
    assert with_sponsors.calls[1][1] == "/v1.0/users/id-1/sponsors"


@pytest.mark.parametrize(
    "link",
    [
        "https://graph.evil.example/v1.0/users?$skiptoken=abc",
        "http://graph.microsoft.com/v1.0/users?$skiptoken=abc",
        "//graph.evil.example/v1.0/users",
        42,
    ],
)
async def test_a_next_link_elsewhere_is_refused_before_any_call(link: object) -> None:
    graph = Graph({"value": [user(1)], "@odata.nextLink": link})
    with pytest.raises(UpstreamFailed):
        _ = [g async for g in source(graph).guests("t", sponsors=False)]
    assert len(graph.calls) == 1  # the token went nowhere else


async def test_without_guestgates_app_registration_nothing_is_read() -> None:
    graph = Graph()
    facts = GraphGuestFacts(
        lambda write=False: Uow(),  # type: ignore[arg-type,return-value]
        client=graph,
        app_tokens=None,
        graph_url=GRAPH,
    )
    with pytest.raises(UpstreamUnavailable) as refused:
        _ = [g async for g in facts.guests("t")]
    assert refused.value.code == "GraphCredentialsMissing"
    assert graph.calls == []
