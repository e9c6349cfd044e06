from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from guestgate.domain.apps import (
    INVITE,
    READ_USERS,
    READWRITE_USERS,
    check_permissions,
    grants,
    hash_secret,
    new_secret,
    parse_lifetime,
    secret_hint,
)
from guestgate.domain.tenants import check_invitation_lifetime, is_guid, normalise_domain
from guestgate.errors import ValidationError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("contoso.example", "contoso.example"),
        ("Contoso.EXAMPLE", "contoso.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("ｃｏｎｔｏｓｏ.example", "contoso.example"),
    ],
)
def test_normalise_domain_gives_one_lowercase_a_label(given: str, expected: str) -> None:
    assert normalise_domain(given) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "contoso",
        "contoso.example.",
        " contoso.example",
        "-a.example",
        "a..b",
        "a_b.example",
        "x" * 64 + ".example",
        "1.2.3.4",
        "exa mple.com",
        "a.example\n",
    ],
)
def test_normalise_domain_rejects_invalid_names(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalise_domain(bad)
    assert info.value.code == "InvalidDomain"


def test_invitation_lifetime_is_0_to_365_days() -> None:
    assert [check_invitation_lifetime(d) for d in (0, 1, 30, 365)] == [0, 1, 30, 365]
    for bad in (-1, 366, True):
        with pytest.raises(ValidationError) as info:
            check_invitation_lifetime(bad)
        assert info.value.code == "InvalidInvitationLifetime"
        assert "0-365 days (0: never expires)" in info.value.message


def test_is_guid_accepts_hyphenated_form_in_any_case() -> None:
    assert is_guid("3771b160-f31d-4d46-a2da-f785b6a8c1ed")
    assert is_guid("3771B160-F31D-4D46-A2DA-F785B6A8C1ED")
    assert not is_guid("{3771b160-f31d-4d46-a2da-f785b6a8c1ed}")
    assert not is_guid("3771b160f31d4d46a2daf785b6a8c1ed")
    assert not is_guid("contoso.example")


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("2w", 14), ("6m", 180), ("2y", 730)])
def test_parse_lifetime_units(text: str, days: int) -> None:
    assert parse_lifetime(text) == timedelta(days=days)


@pytest.mark.parametrize("bad", ["", "3y", "0d", "1h", "-1d", "1.5y", "y", "731d"])
def test_parse_lifetime_rejects_bad_or_too_long(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_lifetime(bad)


def test_check_permissions_refuses_unknown_and_dedups() -> None:
    assert check_permissions([INVITE, INVITE, READ_USERS]) == (INVITE, READ_USERS)
    with pytest.raises(ValidationError):
        check_permissions(["user.invite.all"])


def test_grants_is_case_sensitive_and_knows_implied_permissions() -> None:
    assert grants([INVITE], INVITE)
    assert not grants(["user.invite.all"], INVITE)
    assert not grants([READ_USERS], INVITE)
    assert grants([READWRITE_USERS], INVITE)
    assert grants([READWRITE_USERS], READ_USERS)


def test_new_secrets_are_256_bit_and_unique() -> None:
    values = {new_secret() for _ in range(2000)}
    assert len(values) == 2000
    for value in list(values)[:50]:
        assert value.startswith("gg_")
        assert len(value) == 3 + 43  # 32 bytes in unpadded base64url
        assert secret_hint(value) == value[3:6]


def test_secret_hash_is_keyed() -> None:
    secret = new_secret()
    k1, k2 = secrets.token_bytes(32), secrets.token_bytes(32)
    assert hash_secret(k1, secret) == hash_secret(k1, secret)
    assert hash_secret(k1, secret) != hash_secret(k2, secret)
    assert secret not in hash_secret(k1, secret)
