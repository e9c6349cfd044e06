"""The authorization request's checks, PKCE, pairwise subjects and client_info (pure rules)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from guestgate.config import TokenSettings
from guestgate.domain import oidc
from guestgate.domain.apps import App
from guestgate.domain.users import User
from guestgate.errors import ConfigError, SignInPageError, SignInRedirectError

TENANT = "6c8b2f0e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
APP = App(
    id="3f7a9c2e-5b1d-4e6f-8a9b-0c1d2e3f4a5b",
    object_id="0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a",
    tenant_id=TENANT,
    name="Reports",
    permissions=(),
    created_at="2026-01-01T00:00:00.000000Z",
    redirect_uris=("https://app.example/cb", "http://localhost/cb"),
)
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).rstrip(b"=").decode()


def _params(**changes: str | None) -> dict[str, list[str]]:
    base: dict[str, str | None] = {
        "client_id": APP.id,
        "redirect_uri": "https://app.example/cb",
        "response_type": "code",
        "scope": "openid profile",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "state": "s",
        "nonce": "n",
    }
    base.update(changes)
    return {k: [v] for k, v in base.items() if v is not None}


def test_a_good_request_is_checked_and_kept_whole() -> None:
    params = _params(login_hint="a@b.example", client_info="1", response_mode="form_post")
    uri = oidc.check_client(params, APP, TENANT)
    checked = oidc.check_request(params, APP, uri, TENANT)
    assert checked.redirect_uri == "https://app.example/cb"
    assert checked.response_mode == "form_post"
    assert checked.client_info is True
    assert checked.max_age is None
    assert oidc.check_request(_params(max_age="0"), APP, uri, TENANT).max_age == 0
    assert oidc.AuthorizeRequest.decode(checked.encode()) == checked


@pytest.mark.parametrize(
    ("changes", "app"),
    [
        ({"client_id": None}, APP),
        ({}, None),
        ({"redirect_uri": None}, APP),
        ({"redirect_uri": "https://app.example/cb/"}, APP),
    ],
)
def test_client_and_redirect_problems_are_pages_not_redirects(
    changes: dict[str, str | None], app: App | None
) -> None:
    with pytest.raises(SignInPageError):
        oidc.check_client(_params(**changes), app, TENANT)


def test_an_app_of_another_tenant_is_not_found() -> None:
    with pytest.raises(SignInPageError):
        oidc.check_client(_params(), APP, "00000000-0000-4000-8000-000000000000")


def test_a_duplicated_parameter_is_refused() -> None:
    params = _params()
    params["redirect_uri"] = ["https://app.example/cb", "https://evil.example/"]
    with pytest.raises(SignInPageError):
        oidc.check_client(params, APP, TENANT)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": None}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"prompt": "create"}, "invalid_request"),
        ({"nonce": "x" * 600}, "invalid_request"),
        ({"state": "a\x00b"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "1e3"}, "invalid_request"),
        ({"max_age": "\u0661"}, "invalid_request"),
    ],
)
def test_other_problems_go_back_to_the_app(changes: dict[str, str | None], error: str) -> None:
    params = _params(**changes)
    with pytest.raises(SignInRedirectError) as caught:
        oidc.check_request(params, APP, "https://app.example/cb", TENANT)
    assert caught.value.error == error


def test_pkce_is_optional_for_confidential_and_required_for_public_clients() -> None:
    params = _params(code_challenge=None, code_challenge_method=None)
    assert oidc.check_request(params, APP, "https://app.example/cb", TENANT).code_challenge is None
    public = App(**{**{f: getattr(APP, f) for f in APP.__slots__}, "public_client": True})
    with pytest.raises(SignInRedirectError):
        oidc.check_request(params, public, "https://app.example/cb", TENANT)


def test_pkce_verifiers_match_their_s256_challenge_only() -> None:
    assert oidc.pkce_matches(CHALLENGE, "v" * 43)
    assert not oidc.pkce_matches(CHALLENGE, "w" * 43)
    assert not oidc.pkce_matches(CHALLENGE, "v" * 42)  # too short for RFC 7636
    assert not oidc.pkce_matches(CHALLENGE, "v" * 43 + "!")


def test_pairwise_subjects_differ_per_app_and_are_stable() -> None:
    key = b"k" * 32
    one = oidc.pairwise_subject(key, tenant_id=TENANT, app_id="a", user_id="u")
    assert one == oidc.pairwise_subject(key, tenant_id=TENANT, app_id="a", user_id="u")
    assert one != oidc.pairwise_subject(key, tenant_id=TENANT, app_id="b", user_id="u")
    assert len(one) == 43


def test_client_info_is_unpadded_base64url_json_of_uid_and_utid() -> None:
    info = oidc.client_info("u-1", TENANT)
    assert "=" not in info
    decoded = json.loads(base64.urlsafe_b64decode(info + "=" * (-len(info) % 4)))
    assert decoded == {"uid": "u-1", "utid": TENANT}


def test_the_response_is_appended_to_a_redirect_uri_with_a_query() -> None:
    assert oidc.response_location("https://a.example/cb?x=1", {"code": "c", "state": None}) == (
        "https://a.example/cb?x=1&code=c"
    )
    assert oidc.response_location("https://a.example/cb", {"error": "a b"}) == (
        "https://a.example/cb?error=a+b"
    )


def _user(user_type: str, state: str | None) -> User:
    return User(
        id="u",
        tenant_id=TENANT,
        user_type=user_type,
        display_name="U",
        mail="u@x.example",
        email_key="u@x.example",
        user_principal_name="u@contoso.example",
        external_user_state=state,
        external_user_state_changed_at=None,
        creation_type=None,
        created_at="2026-01-01T00:00:00.000000Z",
    )


def test_members_and_accepted_guests_may_sign_in_no_one_else() -> None:
    assert oidc.may_sign_in(_user("Member", None))
    assert oidc.may_sign_in(_user("Guest", "Accepted"))
    assert not oidc.may_sign_in(_user("Guest", "PendingAcceptance"))
    assert not oidc.may_sign_in(None)


def test_the_session_lifetime_is_bounded() -> None:
    assert TokenSettings().session_seconds == 86400
    for bad in (60, 31 * 86400):
        with pytest.raises(ConfigError):
            TokenSettings(session_seconds=bad)
