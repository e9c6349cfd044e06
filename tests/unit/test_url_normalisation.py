"""URLs are stored as plain ASCII URIs: what a client sends is normalised or refused at input."""

from __future__ import annotations

import pytest

from guestgate.domain.invitations import MAX_URL, check_redirect_url
from guestgate.errors import ValidationError


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://b\u00fccher.example/", "https://xn--bcher-kva.example/"),
        (
            "https://example.com/caf\u00e9?q=\u00fc#\u00e4",
            "https://example.com/caf%C3%A9?q=%C3%BC#%C3%A4",
        ),
        ("https://example.com/\u65e5\u672c", "https://example.com/%E6%97%A5%E6%9C%AC"),
        ("https://example.com/a%20b?x=%2F", "https://example.com/a%20b?x=%2F"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ('https://example.com/a"b<c>d{e}|^`', "https://example.com/a%22b%3Cc%3Ed%7Be%7D%7C%5E%60"),
        ("https://B\u00dcCHER.example:8443/x", "https://xn--bcher-kva.example:8443/x"),
        ("https://mycompany.com/guestinfo?x=1#top", "https://mycompany.com/guestinfo?x=1#top"),
    ],
)
def test_urls_are_normalised_to_ascii_uris(given: str, stored: str) -> None:
    assert check_redirect_url(given) == stored
    assert check_redirect_url(stored) == stored  # normalising twice changes nothing


@pytest.mark.parametrize(
    "bad",
    [
        "https://example.com/\u200bx",  # zero-width space
        "https://example.com/\u202egnp.exe",  # right-to-left override
        "https://example.com/\u2066x",  # bidi isolate
        "https://example.com/\ufeffx",  # byte order mark
        "https://example.com/\ue000",  # private use
        "https://example.com/\U000e0041",  # tag character
        "https://ex\u200bample.com/",
        "https://example.com/" + "\u00e9" * (MAX_URL // 6 + 1),  # fits as given, not encoded
    ],
)
def test_invisible_characters_and_overlong_encodings_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_redirect_url(bad)
    assert info.value.code == "InvalidRedirectUrl"


def test_every_normalised_url_fits_a_latin1_header() -> None:
    stored = check_redirect_url("https://\u00fcber.example/\u00fc?\u00fc=\u00fc")
    assert stored.isascii()
    stored.encode("latin-1")


def test_the_field_is_named_in_the_message() -> None:
    with pytest.raises(ValidationError) as info:
        check_redirect_url("https://example.com/\u200b", field="landingUrl")
    assert "landingUrl" in info.value.message


@pytest.mark.parametrize(
    ("stored", "location"),
    [
        ("https://example.com/caf\u00e9", "https://example.com/caf%C3%A9"),
        ("https://example.com/\u202egnp.exe", "/welcome"),  # stored before the rule: refused now
        ("https://example.com/ok?x=1", "https://example.com/ok?x=1"),
    ],
)
def test_a_url_stored_by_an_earlier_version_still_redirects(stored: str, location: str) -> None:
    from guestgate.web.forms import redirect_to

    answer = redirect_to(stored)
    assert answer.status_code == 303
    assert answer.headers["Location"] == location
