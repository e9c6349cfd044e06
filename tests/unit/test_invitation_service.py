"""The invitation service and both directories, against the in-memory fakes of the ports.

Time and randomness are fixed, so every id, ticket and link is known in advance.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import pytest

from guestgate.adapters.sealing import Sealer
from guestgate.domain.invitations import InviteRequest, build_invite_request, ticket_hash
from guestgate.domain.messages import decode_payload
from guestgate.domain.randomness import SeededRandomness
from guestgate.domain.tenants import Tenant
from guestgate.errors import Conflict, GuestgateError, UnknownOutcome, ValidationError
from guestgate.services.directory import Actor
from guestgate.services.governance import Governance
from guestgate.services.graph_directory import GraphDirectory
from guestgate.services.invitations import InvitationService
from guestgate.services.local_directory import LocalDirectory
from tests.fakes import FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
PUBLIC_URL = "https://gg.test"
SEALER = Sealer(secrets.token_bytes(32))
TENANT = Tenant(
    id="5c0e0000-0000-4000-8000-000000000001",
    name="Contoso",
    domains=("contoso.example",),
    created_at="2026-01-01T00:00:00.000000Z",
)
ACTOR = Actor(tenant_id=TENANT.id, app_id="0f7a0000-0000-4000-8000-000000000002", request_id="r1")


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def local_service(store: FakeStore, seed: int = 7) -> tuple[InvitationService, Wakes]:
    def uow(write: bool = True) -> FakeUnitOfWork:
        return FakeUnitOfWork(store, write=write)

    directory = LocalDirectory(
        uow,
        sealer=SEALER,
        public_url=PUBLIC_URL,
        cursor_key=b"c" * 32,
        now=lambda: NOW,
        rng=SeededRandomness(seed),
    )
    wakes = Wakes()
    service = InvitationService(directory, Governance(sealer=SEALER, directory="local"), wake=wakes)
    return service, wakes


async def with_tenant() -> FakeStore:
    store = FakeStore()
    async with FakeUnitOfWork(store) as uow:
        await uow.tenants.add(TENANT)
        await uow.commit()
    return store


def request(email: str, **fields: Any) -> InviteRequest:
    return build_invite_request(email=email, **fields)


async def test_invite_stores_guest_invitation_mail_and_audit_with_known_ids() -> None:
    store = await with_tenant()
    service, wakes = local_service(store)
    expected = SeededRandomness(7)
    ticket, user_id, invitation_id = expected.token(32), expected.uuid(), expected.uuid()

    view = await service.invite(
        ACTOR, request("Ada@Example.com", redirect_url="https://app.example", send_message=True)
    )

    assert view.id == invitation_id
    assert view.user_id == user_id
    assert view.redeem_url == (
        f"{PUBLIC_URL}/redeem/?tenant={TENANT.id}&user={user_id}&ticket={ticket}&ver=2.0"
    )
    assert view.status == "PendingAcceptance"
    assert view.expires_at == "2026-03-31T12:00:00Z"
    _, stored_hash = store.invitations[invitation_id]
    assert stored_hash == ticket_hash(ticket)
    assert store.users[user_id].user_principal_name == "Ada_example.com#EXT#@contoso.example"
    [mail] = store.outbox.values()
    assert (mail.kind, mail.recipient) == ("invitation", "Ada@example.com")
    assert mail.sealed is not None
    payload = decode_payload(mail.kind, SEALER.open(mail.sealed, f"outbox:{mail.id}"))
    assert getattr(payload, "redeem_url") == view.redeem_url  # noqa: B009
    [audit] = store.audit
    assert (audit.action, audit.target, audit.app_id) == (
        "invitation.create",
        user_id,
        ACTOR.app_id,
    )
    assert audit.details == {
        "invitationId": invitation_id,
        "email": "Ada@example.com",
        "directory": "local",
    }
    assert wakes.count == 1


async def test_nothing_is_queued_or_woken_without_mail() -> None:
    store = await with_tenant()
    service, wakes = local_service(store)
    await service.invite(ACTOR, request("quiet@example.com"))
    assert store.outbox == {}
    assert wakes.count == 0


async def test_requester_is_notified_in_the_same_transaction() -> None:
    store = await with_tenant()
    service, wakes = local_service(store)
    await service.invite(ACTOR, request("bo@example.com", requested_by="boss@contoso.example"))
    [note] = store.outbox.values()
    assert (note.kind, note.recipient) == ("requester_notification", "boss@contoso.example")
    assert store.audit[0].actor == "boss@contoso.example"
    assert wakes.count == 1


async def test_the_gate_refuses_members_without_the_admin_permission_and_stores_nothing() -> None:
    store = await with_tenant()
    service, _ = local_service(store)
    app = Actor(tenant_id=TENANT.id, app_id="a", permissions=frozenset({"User.Invite.All"}))
    with pytest.raises(ValidationError) as info:
        await service.invite(app, request("member@example.com", user_type="Member"))
    assert info.value.code == "InvitedUserTypeNotAllowed"
    assert (store.users, store.invitations, store.audit) == ({}, {}, [])
    admin = Actor(tenant_id=TENANT.id, app_id="a", permissions=frozenset({"User.ReadWrite.All"}))
    view = await service.invite(admin, request("member@example.com", user_type="Member"))
    assert view.user_type == "Member"


async def test_resend_replaces_the_ticket_and_revoke_ends_it() -> None:
    store = await with_tenant()
    service, wakes = local_service(store)
    first = await service.invite(ACTOR, request("cy@example.com"))
    resent = await service.resend(ACTOR, first.id)
    assert resent.id == first.id
    assert resent.redeem_url != first.redeem_url
    assert store.invitations[first.id][1] != ticket_hash(first.redeem_url or "")
    revoked = await service.revoke(ACTOR, first.id)
    assert revoked.status == "Revoked"
    with pytest.raises(Conflict):
        await service.resend(ACTOR, first.id)
    assert [a.action for a in store.audit] == [
        "invitation.create",
        "invitation.resend",
        "invitation.revoke",
    ]
    assert wakes.count == 1  # the resend's email


async def test_invite_many_answers_each_item_on_its_own() -> None:
    store = await with_tenant()
    service, _ = local_service(store)
    refused = ValidationError("bad", code="InvalidEmail")
    results = await service.invite_many(
        ACTOR, [request("one@example.com"), refused, request("two@contoso.example")]
    )
    assert results[1] is refused
    assert isinstance(results[2], GuestgateError)
    assert results[2].code == "AddressInTenantDomain"
    assert not isinstance(results[0], GuestgateError)
    assert len(store.invitations) == 1


class FakeGraph:
    """Microsoft Graph's invitation API as far as the graph directory uses it."""

    def __init__(self, store: FakeStore, *, lose_first_create: bool = False) -> None:
        self.store = store
        self.calls: list[tuple[str, str, Any]] = []
        self.lose_first_create = lose_first_create

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
        # A write transaction must never be open while we wait on the network.
        assert self.store.writer is None or not self.store.writer.locked()
        self.calls.append((method, path, json))
        if method == "POST":
            if self.lose_first_create:
                self.lose_first_create = False
                raise UnknownOutcome("no answer")
            return {
                "id": "inv-1",
                "invitedUser": {"id": "user-1"},
                "invitedUserEmailAddress": json["invitedUserEmailAddress"],
                "inviteRedeemUrl": "https://login.example/redeem",
                "status": "PendingAcceptance",
            }
        if method == "GET" and path == "/v1.0/users":
            return {"value": [{"id": "user-1"}]}
        if method == "GET" and path == "/v1.0/organization":
            return {"value": [{"verifiedDomains": [{"name": "Contoso.example"}]}]}
        raise AssertionError(f"unexpected call {method} {path}")


class Turns:
    def __init__(self) -> None:
        self.taken = 0

    async def acquire(self, tenant_id: str) -> None:
        self.taken += 1


def graph_service(store: FakeStore, graph: FakeGraph, turns: Turns) -> InvitationService:
    def uow(write: bool = True) -> FakeUnitOfWork:
        return FakeUnitOfWork(store, write=write)

    directory = GraphDirectory(uow, client=graph, limiter=turns, app_tokens=None, now=lambda: NOW)
    governance = Governance(sealer=SEALER, directory="graph")
    return InvitationService(directory, governance, wake=lambda: None)


async def test_graph_mode_calls_graph_first_then_records_the_same_audit() -> None:
    store = FakeStore()
    graph, turns = FakeGraph(store), Turns()
    service = graph_service(store, graph, turns)
    actor = Actor(tenant_id=TENANT.id, app_id="app", tenant_name="Contoso", credential="tok")
    view = await service.invite(
        actor, request("gi@example.com", send_message=True, requested_by="boss@contoso.example")
    )
    assert (view.id, view.user_id, view.redeem_url) == (
        "inv-1",
        "user-1",
        "https://login.example/redeem",
    )
    assert [(m, p) for m, p, _ in graph.calls] == [
        ("POST", "/v1.0/invitations"),
        ("GET", "/v1.0/organization"),
    ]
    assert turns.taken == 1
    [audit] = store.audit
    assert (audit.action, audit.target) == ("invitation.create", "user-1")
    assert audit.details is not None
    assert audit.details["directory"] == "graph"
    # Graph sends the invitation; guestgate tells the requester, who is on a verified domain.
    [note] = store.outbox.values()
    assert note.kind == "requester_notification"
    assert audit.details["requesterNotice"] == "queued"


async def test_graph_mode_withholds_requesters_outside_the_verified_domains() -> None:
    store = FakeStore()
    graph, turns = FakeGraph(store), Turns()
    service = graph_service(store, graph, turns)
    actor = Actor(tenant_id=TENANT.id, app_id="app", tenant_name="Contoso", credential="tok")
    await service.invite(actor, request("gx@example.com", requested_by="someone@elsewhere.example"))
    assert store.outbox == {}
    [audit] = store.audit
    assert audit.details is not None
    assert audit.details["requesterNotice"] == "withheld"


async def test_graph_mode_looks_before_repeating_a_create_with_unknown_outcome() -> None:
    store = FakeStore()
    graph, turns = FakeGraph(store, lose_first_create=True), Turns()
    service = graph_service(store, graph, turns)
    actor = Actor(tenant_id=TENANT.id, app_id="app", credential="tok")
    await service.invite(actor, request("lost@example.com", send_message=True))
    assert [(m, p) for m, p, _ in graph.calls] == [
        ("POST", "/v1.0/invitations"),
        ("GET", "/v1.0/users"),
        ("POST", "/v1.0/invitations"),
    ]
    # The guest exists, so the second create asks for a link without a second email.
    assert graph.calls[2][2]["sendInvitationMessage"] is False
    assert turns.taken == 2
