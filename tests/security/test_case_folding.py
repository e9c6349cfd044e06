"""Lookups and uniqueness agree, on both databases, for addresses and names beyond ASCII.

SQLite's LOWER() folds ASCII letters only, while invites treat ``Zoë@…`` and ``ZOË@…`` as one
guest: every lookup ($filter, $search, /v1.0/users/{upn}) finds what uniqueness says is there.
"""

from __future__ import annotations

import unicodedata

import pytest

from guestgate.domain.invitations import build_invite_request
from guestgate.domain.odata import UserQuery, parse_filter, parse_search
from guestgate.services import users
from guestgate.services.directory import Actor
from tests.security.services import UowFactory, make_service, new_actor

pytestmark = pytest.mark.anyio
ADDRESS = "Zoë.Ünal@Bücher.example"
NAME = "Zoë Ünal-Øster"


async def guest(uow: UowFactory) -> tuple[Actor, str]:
    actor = await new_actor(uow)
    view = await make_service(uow).invite(
        actor, build_invite_request(email=ADDRESS, display_name=NAME)
    )
    return actor, view.user_id


async def found(uow: UowFactory, actor: Actor, query: UserQuery) -> list[str]:
    page, total = await users.list_users(
        uow(write=False), tenant_id=actor.tenant_id, query=query, with_count=True
    )
    assert total == len(page)
    return [u.id for u in page]


@pytest.mark.parametrize(
    "text",
    [
        "mail eq 'zoë.ünal@bücher.example'",
        "mail eq 'ZOË.ÜNAL@BÜCHER.EXAMPLE'",
        "mail eq 'zoë.ünal@xn--bcher-kva.example'",
        f"mail eq '{unicodedata.normalize('NFD', ADDRESS.upper())}'",
        "mail in ('someone@else.example', 'ZOË.ünal@bücher.example')",
        "startswith(mail, 'ZOË.Ü')",
        "displayName eq 'ZOË ÜNAL-øSTER'",
        "startswith(displayName, 'zoë ü')",
        "startswith(userPrincipalName, 'ZOË.ÜNAL_')",
        "not (mail ne 'zoë.ünal@bücher.example')",
    ],
)
async def test_filters_find_a_guest_whatever_the_case_of_non_ascii_letters(
    uow: UowFactory, text: str
) -> None:
    actor, user_id = await guest(uow)
    assert await found(uow, actor, UserQuery(filter=parse_filter(text))) == [user_id]


@pytest.mark.parametrize("text", ['"mail:ÜNAL@BÜ"', '"displayName:ÜNAL-Ø"', '"displayName:zoë"'])
async def test_search_finds_a_guest_whatever_the_case_of_non_ascii_letters(
    uow: UowFactory, text: str
) -> None:
    actor, user_id = await guest(uow)
    assert await found(uow, actor, UserQuery(search=parse_search(text))) == [user_id]


async def test_the_upn_path_finds_the_guest_in_any_case_and_invites_agree(
    uow: UowFactory,
) -> None:
    actor, user_id = await guest(uow)
    stored = await users.get_user(uow(write=False), tenant_id=actor.tenant_id, ref=user_id)
    for ref in (stored.user_principal_name.upper(), stored.user_principal_name.lower()):
        again = await users.get_user(uow(write=False), tenant_id=actor.tenant_id, ref=ref)
        assert again.id == user_id
    view = await make_service(uow).invite(actor, build_invite_request(email=ADDRESS.upper()))
    assert view.user_id == user_id
    assert await found(uow, actor, UserQuery()) == [user_id]
