from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guestgate.domain.emails import domain_matches, parse_email
from guestgate.errors import ValidationError


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("Zo\u00eb@example.com", "Zoe\u0308@example.com"),
        ("a@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "a@example.com"),
        ("\u212aelvin@example.com", "kelvin@example.com"),
        ("bob@B\u00fcCHER.example", "bob@xn--bcher-kva.example"),
    ],
)
def test_spellings_of_one_address_share_one_key(a: str, b: str) -> None:
    assert parse_email(a).key == parse_email(b).key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("stra\u00dfe@example.com", "strasse@example.com"),
        ("alice+hr@example.com", "alice@example.com"),
        ("alice@ex\u0430mple.com", "alice@example.com"),
    ],
)
def test_different_mailboxes_keep_different_keys(a: str, b: str) -> None:
    assert parse_email(a).key != parse_email(b).key


def test_homograph_domain_is_kept_as_its_a_label() -> None:
    assert parse_email("alice@ex\u0430mple.com").domain == "xn--exmple-4nf.com"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plainaddress",
        "@x.com",
        "a@",
        "a@@b.com",
        "a@b",
        "a b@c.com",
        "a@b..com",
        ".a@b.com",
        "a.@b.com",
        "a..b@c.com",
        '"quoted local"@x.com',
        "u@[127.0.0.1]",
        "u@[IPv6:::1]",
        "Alice <a@b.com>",
        "a@localhost",
        "a@x.invalid",
        "a@example.com.",
        "alice@example.org)<bob@example.org>",
        "alice@example.org(<bob@example.org>",
        '"Eve\r\nBcc: x@evil.com" <eve@example.org>',
        "a\u0000b@x.com",
        "a\u202eb@x.com",
        "a\u2028@x.com",
        " a@x.com",
        "a@x.com\n",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_invalid_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_email(bad)
    assert info.value.code == "InvalidEmailAddress"


def test_length_limits_follow_rfc5321() -> None:
    assert parse_email("x" * 64 + "@example.com")
    longest = "x" * 64 + "@" + "b" * 63 + "." + "b" * 63 + "." + "b" * 57 + ".com"
    assert len(longest) == 254
    assert parse_email(longest)
    with pytest.raises(ValidationError):
        parse_email(longest.replace("@", "@b"))


def test_domain_matches_tenant_domains_and_subdomains() -> None:
    assert domain_matches("contoso.example", ("contoso.example",))
    assert domain_matches("eu.contoso.example", ("contoso.example",))
    assert not domain_matches("notcontoso.example", ("contoso.example",))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(max_size=80))
def test_any_text_yields_an_address_or_a_validation_error(text: str) -> None:
    try:
        address = parse_email(text)
    except ValidationError:
        return
    assert parse_email(address.address).key == address.key


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.from_regex(r"[a-z0-9]{1,20}@[a-z]{1,20}\.com", fullmatch=True))
def test_key_ignores_ascii_case(text: str) -> None:
    assert parse_email(text).key == parse_email(text.upper()).key


def test_remembered_domains_give_the_same_answers() -> None:
    for _ in range(3):
        assert parse_email("a@B\u00fccher.example").domain == "xn--bcher-kva.example"
        with pytest.raises(ValidationError):
            parse_email("a@localhost")
