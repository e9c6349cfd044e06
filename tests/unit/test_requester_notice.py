"""Who `requestedBy` mails: members and addresses of the tenant's domains; bulk: one summary."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from guestgate.adapters.mail.render import Sender, build
from guestgate.adapters.sealing import Sealer
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.messages import (
    RequesterSummary,
    decode_payload,
    encode_payload,
)
from guestgate.domain.randomness import SeededRandomness
from guestgate.domain.tenants import Tenant
from guestgate.domain.users import ACCEPTED, GUEST, INVITATION, MEMBER, User
from guestgate.errors import GuestgateError
from guestgate.services.directory import Actor
from guestgate.services.governance import Governance
from guestgate.services.graph_directory import GraphDirectory
from guestgate.services.invitations import InvitationService
from guestgate.services.local_directory import LocalDirectory
from tests.fakes import FakeStore, FakeUnitOfWork, OutboxRow

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SEALER = Sealer(secrets.token_bytes(32))
TENANT = Tenant(
    id="5c0e0000-0000-4000-8000-000000000001",
    name="Contoso",
    domains=("contoso.example", "fabrikam.example"),
    created_at="2026-01-01T00:00:00.000000Z",
)
ACTOR = Actor(tenant_id=TENANT.id, app_id="0f7a0000-0000-4000-8000-000000000002", request_id="r1")


def member(email: str, *, creation_type: str | None = None, state: str | None = None) -> User:
    return User(
        id=f"u-{email}",
        tenant_id=TENANT.id,
        user_type=MEMBER,
        display_name=email,
        mail=email,
        email_key=email.lower(),
        user_principal_name=email,
        external_user_state=state,
        external_user_state_changed_at=None,
        creation_type=creation_type,
        created_at="2026-01-01T00:00:00.000000Z",
    )


async def local(*users: User) -> tuple[FakeStore, InvitationService]:
    store = FakeStore()
    async with FakeUnitOfWork(store) as uow:
        await uow.tenants.add(TENANT)
        for user in users:
            await uow.users.add_if_absent(user)
        await uow.commit()

    def uow(write: bool = True) -> FakeUnitOfWork:
        return FakeUnitOfWork(store, write=write)

    directory = LocalDirectory(
        uow,
        sealer=SEALER,
        public_url="https://gg.test",
        cursor_key=b"c" * 32,
        now=lambda: NOW,
        rng=SeededRandomness(3),
    )
    governance = Governance(sealer=SEALER, directory="local", uow=uow, now=lambda: NOW)
    return store, InvitationService(directory, governance, wake=lambda: None)


def mails(store: FakeStore) -> list[OutboxRow]:
    return [row for row in store.outbox.values() if row.kind != "invitation"]


@pytest.mark.parametrize(
    "requester",
    [
        "boss@contoso.example",
        "Boss@FABRIKAM.example",  # any of the tenant's domains, in any case
        "boss@hr.contoso.example",  # a subdomain of one
        "lee@partner.example",  # a member of the tenant on another domain
    ],
)
async def test_requester_of_the_organization_is_notified(requester: str) -> None:
    store, service = await local(member("lee@partner.example"))
    await service.invite(
        ACTOR, build_invite_request(email="g@guest.example", requested_by=requester)
    )
    [note] = mails(store)
    assert (note.kind, note.recipient.lower()) == ("requester_notification", requester.lower())
    [event] = store.audit
    assert event.details is not None
    assert event.details["requesterNotice"] == "queued"


@pytest.mark.parametrize(
    "requester",
    [
        "stranger@elsewhere.example",
        "boss@contoso.example.evil.example",  # the tenant's domain as a prefix is not its domain
        "boss@notcontoso.example",
        "pending@partner.example",  # invited as a member, never accepted
        "guest@partner.example",  # a guest of the tenant
    ],
)
async def test_any_other_requester_is_stored_and_audited_not_mailed(requester: str) -> None:
    guest = replace(member("guest@partner.example"), user_type=GUEST)
    pending = member("pending@partner.example", creation_type=INVITATION, state="PendingAcceptance")
    store, service = await local(guest, pending)
    view = await service.invite(
        ACTOR, build_invite_request(email="g@guest.example", requested_by=requester)
    )
    assert view.requested_by == requester
    assert mails(store) == []
    [event] = store.audit
    assert event.actor == requester
    assert event.details is not None
    assert event.details["requesterNotice"] == "withheld"


async def test_an_accepted_member_invitee_counts_as_a_member() -> None:
    accepted = member("ann@partner.example", creation_type=INVITATION, state=ACCEPTED)
    store, service = await local(accepted)
    await service.invite(
        ACTOR, build_invite_request(email="g@guest.example", requested_by="ann@partner.example")
    )
    assert [m.recipient for m in mails(store)] == ["ann@partner.example"]


async def test_bulk_sends_each_requester_one_summary_of_their_guests() -> None:
    store, service = await local()
    requests: list[object] = [
        build_invite_request(email=f"g{i}@guest.example", requested_by="boss@contoso.example")
        for i in range(200)
    ]
    requests += [
        build_invite_request(email="h@guest.example", requested_by="hr@contoso.example"),
        build_invite_request(email="s@guest.example", requested_by="x@stranger.example"),
        build_invite_request(email="boss@contoso.example", requested_by="hr@contoso.example"),
    ]
    outcomes = await service.invite_many(ACTOR, requests)  # type: ignore[arg-type]
    assert isinstance(outcomes[-1], GuestgateError)  # own-domain address: not invited
    notes = mails(store)
    assert sorted((n.kind, n.recipient) for n in notes) == [
        ("requester_summary", "boss@contoso.example"),
        ("requester_summary", "hr@contoso.example"),
    ]
    boss = next(n for n in notes if n.recipient == "boss@contoso.example")
    assert boss.sealed is not None
    summary = decode_payload(boss.kind, SEALER.open(boss.sealed, f"outbox:{boss.id}"))
    assert isinstance(summary, RequesterSummary)
    assert summary.guests == tuple(f"g{i}@guest.example" for i in range(200))
    assert summary.org == "Contoso"
    hr = next(n for n in notes if n.recipient == "hr@contoso.example")
    assert hr.sealed is not None
    only_h = decode_payload(hr.kind, SEALER.open(hr.sealed, f"outbox:{hr.id}"))
    assert isinstance(only_h, RequesterSummary)
    assert only_h.guests == ("h@guest.example",)  # the failed invite is not listed
    notices = [e.details["requesterNotice"] for e in store.audit if e.details]
    assert notices.count("summary") == 201
    assert notices.count("withheld") == 1


async def test_graph_mode_knows_no_tenant_domains_so_mails_no_requester() -> None:
    store = FakeStore()

    def uow(write: bool = True) -> FakeUnitOfWork:
        return FakeUnitOfWork(store, write=write)

    class Graph:
        async def call(self, method: str, path: str, **kwargs: object) -> object:
            return {"id": "inv-1", "invitedUser": {"id": "user-1"}, "status": "PendingAcceptance"}

    class Turns:
        async def acquire(self, tenant_id: str) -> None:
            return None

    directory = GraphDirectory(
        uow, client=Graph(), limiter=Turns(), app_tokens=None, now=lambda: NOW
    )
    service = InvitationService(
        directory, Governance(sealer=SEALER, directory="graph", uow=uow), wake=lambda: None
    )
    actor = Actor(tenant_id=TENANT.id, app_id="app", tenant_name="Contoso", credential="tok")
    await service.invite(
        actor, build_invite_request(email="g@guest.example", requested_by="boss@contoso.example")
    )
    assert store.outbox == {}
    [event] = store.audit
    assert event.actor == "boss@contoso.example"
    assert event.details is not None
    assert event.details["requesterNotice"] == "withheld"


def test_summary_round_trips_and_renders_every_guest() -> None:
    summary = RequesterSummary(
        to="boss@contoso.example", org="Contoso", guests=("a@x.example", "<b>@x.example")
    )
    assert decode_payload(summary.kind, encode_payload(summary)) == summary
    mail = build(summary, outbox_id="m1", sender=Sender("invites@contoso.example"), now=NOW)
    parsed = mail.parsed()
    assert parsed["Subject"] == "Guests invited to Contoso at your request: 2"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "- a@x.example" in text.get_content()
    assert "<li>&lt;b&gt;@x.example</li>" in html.get_content()
    german = build(
        RequesterSummary(to="b@c.example", org="Contoso", guests=("a@x.example",), language="de"),
        outbox_id="m2",
        sender=Sender("invites@contoso.example"),
        now=NOW,
    )
    assert "eingeladene Gäste" in german.parsed()["Subject"]


def test_summary_lists_the_guests_held_for_an_approver_apart() -> None:
    sender = Sender("invites@contoso.example")
    both = RequesterSummary(
        to="boss@contoso.example",
        org="Contoso",
        guests=("a@x.example",),
        held=("h1@x.example", "<h2>@x.example"),
    )
    assert decode_payload(both.kind, encode_payload(both)) == both
    parsed = build(both, outbox_id="m1", sender=sender, now=NOW).parsed()
    assert parsed["Subject"] == "Guests invited to Contoso at your request: 1"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    invited, _, waiting = text.get_content().partition("2 more wait for an approver")
    assert "- a@x.example" in invited
    assert "- h1@x.example" in waiting
    assert "h1@x.example" not in invited
    assert "<li>&lt;h2&gt;@x.example</li>" in html.get_content()
    only_held = replace(both, guests=())
    parsed = build(only_held, outbox_id="m2", sender=sender, now=NOW).parsed()
    assert parsed["Subject"] == "Guests waiting for approval in Contoso at your request: 2"
    body = parsed.get_body(("plain",))
    assert body is not None
    assert "were invited" not in body.get_content()
    german = build(replace(only_held, language="de"), outbox_id="m3", sender=sender, now=NOW)
    assert "zur Genehmigung wartende Gäste: 2" in german.parsed()["Subject"]
    # A summary stored before held guests were listed reads back with none.
    old = encode_payload(replace(both, held=())).replace(b', "held": []', b"")
    assert decode_payload(both.kind, old).held == ()  # type: ignore[union-attr]
