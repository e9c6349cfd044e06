"""Redirect URIs, application ID URIs and scopes an app may register, and how they match."""

from __future__ import annotations

import pytest

from guestgate.domain.apps import (
    check_api_scopes,
    check_app_id_uri,
    check_redirect_uri,
    check_redirect_uris,
    redirect_uri_matches,
)
from guestgate.errors import ValidationError


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/callback",
        "https://app.example:8443/cb?tenant=1",
        "http://localhost/cb",
        "http://127.0.0.1:5000/cb",
        "http://[::1]:8400/",
    ],
)
def test_https_and_loopback_redirect_uris_are_accepted(uri: str) -> None:
    assert check_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "http://app.example/cb",  # plain http off the loopback
        "https://app.example/cb#frag",
        "https://user:pw@app.example/cb",
        "https://*.example/cb",
        "https://app.example/c b",
        "javascript:alert(1)",
        "app.example/cb",
        "https:///cb",
        "https://app.example:99999/cb",
        "http://localhost.evil.example/cb",
        "https://app.example/" + "a" * 1100,
        "https://app.example/\u00e9",
    ],
)
def test_unsafe_redirect_uris_are_refused(uri: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_redirect_uri(uri)
    assert caught.value.code == "InvalidRedirectUri"


def test_duplicate_redirect_uris_are_stored_once() -> None:
    assert check_redirect_uris(["https://a.example/cb", "https://a.example/cb"]) == (
        "https://a.example/cb",
    )


@pytest.mark.parametrize(
    "presented",
    [
        "https://app.example/cb/",
        "https://app.example/CB",
        "https://APP.example/cb",
        "https://app.example/cb?x=1",
        "https://app.example/cb/../cb",
        "https://app.example:443/cb",
        "https://app.example/cb%2F",
        "https://evil@app.example/cb",
        "http://app.example/cb",
        "https://app.example.evil.example/cb",
    ],
)
def test_a_redirect_uri_matches_only_exactly(presented: str) -> None:
    assert redirect_uri_matches("https://app.example/cb", "https://app.example/cb")
    assert not redirect_uri_matches("https://app.example/cb", presented)


def test_a_loopback_redirect_uri_matches_on_any_port_only() -> None:
    assert redirect_uri_matches("http://localhost/cb", "http://localhost:53117/cb")
    assert redirect_uri_matches("http://127.0.0.1:5000/cb", "http://127.0.0.1:6000/cb")
    assert not redirect_uri_matches("http://localhost/cb", "http://localhost:53117/cb/")
    assert not redirect_uri_matches("http://localhost/cb", "http://127.0.0.1:53117/cb")
    assert not redirect_uri_matches("http://localhost/cb", "http://localhost:53117/cb?x")
    assert not redirect_uri_matches("http://localhost/cb", "http://LOCALHOST:1/cb")
    assert not redirect_uri_matches("http://localhost/cb", "http://x@localhost:1/cb")


@pytest.mark.parametrize("uri", ["api://reports", "https://contoso.example/reports"])
def test_application_id_uris_are_accepted(uri: str) -> None:
    assert check_app_id_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "reports",
        "api://reports/",
        "http://x.example",
        "api://",
        "api://guestgate",
        "api://GuestGate",
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/x",
    ],
)
def test_malformed_application_id_uris_are_refused(uri: str) -> None:
    with pytest.raises(ValidationError):
        check_app_id_uri(uri)


def test_scope_names_are_checked_and_reserved_names_refused() -> None:
    assert check_api_scopes(["read", "Reports.Write", "read"]) == ("read", "Reports.Write")
    for bad in ("openid", "a b", "", "x/y"):
        with pytest.raises(ValidationError):
            check_api_scopes([bad])
