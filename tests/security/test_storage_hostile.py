"""Values a client can send that a database cannot store or compare, and unique constraints
under races: each gets a mapped answer (400, 409, or the one guest), never a 500. SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from guestgate.adapters.sql.driver import Database
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.odata import UserQuery, parse_filter, parse_search
from guestgate.domain.timestamps import utcnow
from guestgate.domain.views import InvitationView
from guestgate.errors import Conflict, GuestgateError, ValidationError
from guestgate.services import users
from tests.security.services import UowFactory, make_service, new_actor

pytestmark = pytest.mark.anyio


async def rows(db: Database, sql: str, **params: object) -> list[dict[str, object]]:
    tx = await db.begin(write=False)
    try:
        return [dict(r) for r in await tx.fetchall(sql, params)]
    finally:
        await tx.rollback()


async def test_a_guest_upn_longer_than_its_column_is_derived_shorter(
    uow: UowFactory, db: Database
) -> None:
    labels = ".".join(["d" * 62] * 4)[:240]
    domain = f"{labels}.example"  # 248 characters: a valid, if unkind, tenant domain
    actor = await new_actor(uow, domain)
    local = "l" * 64
    address = f"{local}@{'e' * 58}.{'f' * 58}.{'g' * 58}.hhhh.example"
    assert len(address) <= 254
    service = make_service(uow)
    view = await service.invite(actor, build_invite_request(email=address))
    [stored] = await rows(
        db, "SELECT user_principal_name FROM users WHERE id = :id", id=view.user_id
    )
    upn = str(stored["user_principal_name"])
    assert len(upn) <= 400
    assert upn.endswith(f"#EXT#@{domain}")
    assert upn.startswith(f"{local}_")
    again = await service.invite(actor, build_invite_request(email=address.upper()))
    assert again.user_id == view.user_id
    found = await users.get_user(uow(write=False), tenant_id=actor.tenant_id, ref=upn.upper())
    assert found.id == view.user_id


async def test_parallel_first_invites_of_one_spelling_make_one_guest(
    uow: UowFactory, db: Database
) -> None:
    """Both inserts collide on the email key and the UPN: never an error, always one guest."""
    actor = await new_actor(uow)
    service = make_service(uow)
    for _ in range(15):
        email = f"same.{uuid.uuid4().hex[:8]}@example.com"
        answers = await asyncio.gather(
            *(service.invite(actor, build_invite_request(email=email)) for _ in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(a, InvitationView) for a in answers), answers
        ids = {a.user_id for a in answers if isinstance(a, InvitationView)}
        stored = await rows(db, "SELECT id FROM users WHERE email_key = :key", key=email)
        assert [r["id"] for r in stored] == list(ids)


async def test_parallel_resets_onto_one_new_address_leave_one_owner(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    for _ in range(10):
        first, second = [
            await service.invite(
                actor, build_invite_request(email=f"g.{uuid.uuid4().hex[:8]}@example.com")
            )
            for _ in range(2)
        ]
        target = f"moved.{uuid.uuid4().hex[:8]}@example.com"
        answers = await asyncio.gather(
            *(
                service.invite(
                    actor, build_invite_request(email=target, reset_user_id=guest.user_id)
                )
                for guest in (first, second)
            ),
            return_exceptions=True,
        )
        assert all(isinstance(a, InvitationView | Conflict) for a in answers), answers
        won = [a for a in answers if isinstance(a, InvitationView)]
        lost = [a for a in answers if isinstance(a, Conflict)]
        assert len(won) == 1, answers
        assert [c.code for c in lost] == ["AddressInUse"]
        stored = await rows(db, "SELECT id FROM users WHERE email_key = :key", key=target)
        assert [r["id"] for r in stored] == [won[0].user_id]


async def test_a_member_holding_a_guests_upn_gets_the_guest_a_free_one(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    tenant_domain = (await rows(db, "SELECT domain FROM tenant_domains"))[-1]["domain"]
    taken = f"alice_example.com#EXT#@{tenant_domain}"
    member = await users.create_member(
        uow(), tenant_id=actor.tenant_id, email=taken, display_name="Alice", now=utcnow()
    )
    view = await make_service(uow).invite(actor, build_invite_request(email="alice@example.com"))
    assert view.user_id != member.id
    [stored] = await rows(
        db, "SELECT user_principal_name FROM users WHERE id = :id", id=view.user_id
    )
    assert stored["user_principal_name"] != taken
    assert str(stored["user_principal_name"]).endswith(f"#EXT#@{tenant_domain}")


async def test_a_member_with_a_guests_upn_is_refused_with_409(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    view = await make_service(uow).invite(actor, build_invite_request(email="Bob@Example.com"))
    [stored] = await rows(
        db, "SELECT user_principal_name FROM users WHERE id = :id", id=view.user_id
    )
    before = await rows(db, "SELECT id FROM users")
    with pytest.raises(Conflict) as refused:
        await users.create_member(
            uow(),
            tenant_id=actor.tenant_id,
            email=str(stored["user_principal_name"]).lower(),
            display_name="Bob",
            now=utcnow(),
        )
    assert refused.value.code == "UserPrincipalNameInUse"
    assert await rows(db, "SELECT id FROM users") == before


@pytest.mark.parametrize(
    "ref", ["a\x00b", "ada_x#EXT#@c.example\x00", "\x00", "bad\ud800surrogate"]
)
async def test_a_user_reference_a_database_cannot_compare_is_a_400(
    uow: UowFactory, ref: str
) -> None:
    actor = await new_actor(uow)
    with pytest.raises(ValidationError):
        await users.get_user(uow(write=False), tenant_id=actor.tenant_id, ref=ref)
    with pytest.raises(ValidationError):
        await make_service(uow).delete_user(actor, ref)


@pytest.mark.parametrize(
    ("option", "text"),
    [
        ("search", '"displayName:a\x00b"'),
        ("search", '"mail:\ud800"'),
        ("filter", "mail eq 'a\x00b'"),
        ("filter", "startswith(displayName, '\ud800')"),
        ("filter", "userType eq 'Guest\x00'"),
    ],
)
async def test_query_values_a_database_cannot_compare_are_a_400(
    uow: UowFactory, option: str, text: str
) -> None:
    actor = await new_actor(uow)

    async def run() -> None:
        query = (
            UserQuery(search=parse_search(text))
            if option == "search"
            else UserQuery(filter=parse_filter(text))
        )
        await users.list_users(
            uow(write=False), tenant_id=actor.tenant_id, query=query, with_count=True
        )

    with pytest.raises(GuestgateError) as refused:
        await run()
    assert isinstance(refused.value, ValidationError)


@pytest.mark.parametrize("name", ["n" * 257, "a\x00b", "bidi\u202eoverride", "   "])
async def test_a_member_name_that_cannot_be_stored_or_shown_is_a_400(
    uow: UowFactory, db: Database, name: str
) -> None:
    actor = await new_actor(uow)
    with pytest.raises(ValidationError) as refused:
        await users.create_member(
            uow(),
            tenant_id=actor.tenant_id,
            email="m@partner.example",
            display_name=name,
            now=utcnow(),
        )
    assert refused.value.code == "InvalidDisplayName"
    assert await rows(db, "SELECT id FROM users") == []


async def test_a_reset_racing_a_first_invite_of_its_new_address_leaves_one_guest(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    for _ in range(10):
        moving = await service.invite(
            actor, build_invite_request(email=f"r.{uuid.uuid4().hex[:8]}@example.com")
        )
        target = f"wanted.{uuid.uuid4().hex[:8]}@example.com"
        reset, invited = await asyncio.gather(
            service.invite(actor, build_invite_request(email=target, reset_user_id=moving.user_id)),
            service.invite(actor, build_invite_request(email=target)),
            return_exceptions=True,
        )
        stored = await rows(db, "SELECT id FROM users WHERE email_key = :key", key=target)
        assert len(stored) == 1, (reset, invited)
        assert isinstance(invited, InvitationView), invited
        assert invited.user_id == stored[0]["id"]
        if isinstance(reset, InvitationView):
            assert reset.user_id == moving.user_id == stored[0]["id"]
        else:
            assert isinstance(reset, Conflict), reset
            assert reset.code == "AddressInUse"


@pytest.mark.parametrize("way", ["register", "change", "create", "set-sign-in"])
async def test_parallel_apps_claiming_one_application_id_uri_leave_one_holder(
    uow: UowFactory, db: Database, way: str
) -> None:
    """The check that the URI is free and the write race on PostgreSQL: the loser of the
    unique index gets the check's own 400, never a 500, and one app holds the URI. Graph's
    applications API registers and changes apps, the CLI and console create them and set
    their sign-in."""
    from guestgate.services import app_registrations as registrations
    from guestgate.services import apps as app_service
    from guestgate.services.app_registrations import Changes

    actor = await new_actor(uow)
    uri = f"api://{uuid.uuid4()}"
    now = utcnow()
    existing = []
    for n in range(6 if way in ("change", "set-sign-in") else 0):
        made = await registrations.register(
            uow(), tenant_id=actor.tenant_id, changes=Changes(name=f"App {n}"), actor=None, now=now
        )
        existing.append(made.app)

    async def claim(n: int) -> str:
        try:
            if way == "register":
                await registrations.register(
                    uow(),
                    tenant_id=actor.tenant_id,
                    changes=Changes(name=f"App {n}", app_id_uris=[uri]),
                    actor=None,
                    now=now,
                )
            elif way == "change":
                await registrations.change(
                    uow(),
                    tenant_id=actor.tenant_id,
                    object_id=existing[n].object_id,
                    changes=Changes(app_id_uris=[uri]),
                    actor=None,
                    now=now,
                )
            elif way == "create":
                await app_service.create_app(
                    uow(),
                    tenant_ref=actor.tenant_id,
                    name=f"App {n}",
                    permissions=["User.Invite.All"],
                    secret_lifetime=timedelta(days=30),
                    hash_key=b"k" * 32,
                    now=now,
                    sign_in=app_service.SignIn(app_id_uri=uri),
                )
            else:
                await app_service.update_sign_in(
                    uow(),
                    tenant_ref=actor.tenant_id,
                    app_id=existing[n].id,
                    app_id_uri=uri,
                    now=now,
                )
        except ValidationError as exc:
            return exc.code
        return "ok"

    answers = await asyncio.gather(*(claim(n) for n in range(6)))
    stored = await rows(
        db, "SELECT id FROM apps WHERE tenant_id = :t AND app_id_uri = :u", t=actor.tenant_id, u=uri
    )
    assert len(stored) == 1
    assert answers.count("ok") == 1, answers
    assert set(answers) == {"ok", "AppIdUriTaken"}
