"""Console roles: what each role may see and do, role names, the guest-list filter's checks."""

from __future__ import annotations

import pytest

from guestgate.domain.console import check_filter
from guestgate.domain.roles import (
    GLOBAL_ADMINISTRATOR,
    GUEST_INVITER,
    READER,
    ROLES,
    SPONSOR,
    USER_ADMINISTRATOR,
    Access,
    parse_role,
)
from guestgate.errors import ValidationError


@pytest.mark.parametrize("role", [GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR])
def test_administrators_see_every_guest_and_may_do_everything(role: str) -> None:
    access = Access(frozenset({role}))
    assert (access.sees_all, access.may_invite, access.may_manage) == (True, True, True)
    assert access.may_see(sponsored=False, requested=False)


def test_a_reader_sees_every_guest_and_may_change_nothing() -> None:
    access = Access(frozenset({READER}))
    assert access.sees_all
    assert access.may_see(sponsored=False, requested=False)
    assert not access.may_invite
    assert not access.may_manage


def test_a_guest_inviter_invites_and_sees_only_what_it_requested() -> None:
    access = Access(frozenset({GUEST_INVITER}))
    assert (access.may_invite, access.may_manage, access.sees_all) == (True, True, False)
    assert access.may_see(sponsored=False, requested=True)
    assert not access.may_see(sponsored=True, requested=False)
    assert not access.may_see(sponsored=False, requested=False)


def test_a_sponsor_sees_what_it_sponsors_or_requested_and_does_not_invite() -> None:
    access = Access(frozenset({SPONSOR}))
    assert (access.may_invite, access.sees_all) == (False, False)
    assert access.may_see(sponsored=True, requested=False)
    assert access.may_see(sponsored=False, requested=True)
    assert not access.may_see(sponsored=False, requested=False)


def test_a_reader_who_is_also_a_sponsor_sees_all_but_changes_only_its_own_guests() -> None:
    access = Access(frozenset({READER, SPONSOR}))
    assert access.may_see(sponsored=False, requested=False)
    assert access.may_change(sponsored=True, requested=False)
    assert not access.may_change(sponsored=False, requested=False)


@pytest.mark.parametrize(
    ("roles", "own", "other"),
    [
        ({GLOBAL_ADMINISTRATOR}, True, True),
        ({USER_ADMINISTRATOR}, True, True),
        ({GUEST_INVITER}, True, False),
        ({SPONSOR}, True, False),
        ({READER}, False, False),
    ],
)
def test_who_may_change_a_guest(roles: set[str], own: bool, other: bool) -> None:
    access = Access(frozenset(roles))
    assert access.may_change(sponsored=False, requested=True) is own
    assert access.may_change(sponsored=False, requested=False) is other


def test_no_role_allows_nothing() -> None:
    access = Access(frozenset())
    assert (access.sees_all, access.may_invite, access.may_manage) == (False, False, False)
    assert not access.may_see(sponsored=True, requested=True)


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("global administrator", GLOBAL_ADMINISTRATOR),
        ("GuestInviter", GUEST_INVITER),
        (" Reader ", READER),
        ("user-administrator", USER_ADMINISTRATOR),
    ],
)
def test_role_names_match_without_case_or_spaces(text: str, role: str) -> None:
    assert parse_role(text) == role


def test_an_unknown_role_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_role("Owner")
    assert caught.value.code == "UnknownRole"
    assert "'Owner'" in caught.value.message
    assert all(r in caught.value.message for r in ROLES)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("state", "Lost", "no state"),
        ("sort", "secret", "cannot be sorted"),
        ("order", "up", "asc or desc"),
        ("text", "x" * 129, "at most 128"),
        ("domain", "a\x00b", "at most 128"),
        ("requester", "\ud800", "at most 128"),
    ],
)
def test_a_bad_guest_filter_is_named(field: str, value: str, says: str) -> None:
    given = {"state": "", "domain": "", "requester": "", "text": "", "sort": "", "order": ""}
    with pytest.raises(ValidationError) as caught:
        check_filter(**(given | {field: value}))
    assert says in caught.value.message


def test_a_filter_is_normalised() -> None:
    found = check_filter(
        state="Pending",
        domain=" @Fabrikam.Example ",
        requester="",
        text=" ada ",
        sort="",
        order="asc",
    )
    assert (found.state, found.domain, found.text, found.sort, found.descending) == (
        "Pending",
        "fabrikam.example",
        "ada",
        "invited",
        False,
    )
