"""Signing in through guestgate: the code flow against a running server, real SMTP.

The provider rules of RFC 9700 and OpenID Connect Core, one test each: exact redirect
URIs, PKCE required and no downgrade, single-use codes, state and nonce round trips, `iss`
in the response (RFC 9207), refresh-token rotation and reuse, a user removed mid-session.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.signin import (
    DEMO_TENANT,
    Browser,
    accepted_guest,
    latest_code,
    new_app,
    new_member,
    pkce,
    returned,
)
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e
CALLBACK = "https://app.example/callback"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("signin")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def browser(server: Server) -> Iterator[Browser]:
    b = Browser(server)
    yield b
    b.close()


def _params(app: dict[str, str], **extra: str) -> dict[str, str]:
    verifier, challenge = pkce()
    return {
        "client_id": app["AppID"],
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid profile offline_access",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_hex(32),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "_verifier": verifier,
        **extra,
    }


def _redeem(
    server: Server, app: dict[str, str], code: str, verifier: str | None, **extra: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": app["AppID"],
        "code": code,
        "redirect_uri": CALLBACK,
        **({"client_secret": app["AppSecret"]} if "AppSecret" in app else {}),
        **({"code_verifier": verifier} if verifier else {}),
        **extra,
    }
    with server.client() as client:
        return client.post(f"/{DEMO_TENANT}/oauth2/v2.0/token", data=form)


def _signed_in(
    server: Server, browser: Browser, sink: SmtpSink, app: dict[str, str], email: str, **extra: str
) -> tuple[dict[str, str], dict[str, str]]:
    params = _params(app, **extra)
    verifier = params.pop("_verifier")
    answer = returned(browser.sign_in(DEMO_TENANT, email, sink, **params))
    return params | {"_verifier": verifier}, answer.params


def test_a_member_signs_in_and_gets_entra_shaped_tokens(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, user_id = new_member(server)
    app = new_app(server, CALLBACK)
    tenant_id = app["TenantID"]
    params, answer = _signed_in(server, browser, sink, app, email)
    assert answer["state"] == params["state"]
    assert answer["iss"] == f"{server.base_url}/{tenant_id}/v2.0"
    tokens = _redeem(server, app, answer["code"], params["_verifier"], client_info="1")
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["aud"] == app["AppID"]
    assert claims["iss"] == answer["iss"]
    assert claims["nonce"] == params["nonce"]
    assert claims["oid"] == user_id
    assert claims["tid"] == tenant_id
    assert claims["ver"] == "2.0"
    assert claims["preferred_username"].startswith("member.")
    assert claims["sub"] != user_id
    assert "idp" not in claims
    assert set(body) >= {"access_token", "refresh_token", "expires_in", "scope", "client_info"}
    info = json.loads(httpx_b64(body["client_info"]))
    assert info == {"uid": user_id, "utid": tenant_id}
    with server.client() as client:
        me = client.get(
            "/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
    assert me.status_code == 200, me.text
    assert me.json()["sub"] == claims["sub"]


def httpx_b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _refresh(server: Server, app: dict[str, str], token: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": app["AppID"],
        "refresh_token": token,
        **({"client_secret": app["AppSecret"]} if "AppSecret" in app else {}),
        **extra,
    }
    with server.client() as client:
        return client.post(f"/{DEMO_TENANT}/oauth2/v2.0/token", data=form)


def _audit(server: Server) -> list[dict[str, object]]:
    out = server.cli("audit", "list", "--tenant", DEMO_TENANT, "--limit", "500", "--json").stdout
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def test_an_accepted_guest_signs_in_with_guest_claims_and_the_audit_shows_it(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, user_id = accepted_guest(server, sink)
    app = new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, app, email)
    body = _redeem(server, app, answer["code"], params["_verifier"]).json()
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["oid"] == user_id
    assert claims["email"] == email
    assert claims["preferred_username"] == email
    assert claims["idp"] == f"{server.base_url}/guest-otp"
    events = [e for e in _audit(server) if e.get("target") == user_id]
    assert any(e["action"] == "signin.success" for e in events), events


def test_pairwise_subjects_differ_between_apps_and_oid_does_not(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    first, second = new_app(server, CALLBACK), new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, first, email)
    one = _redeem(server, first, answer["code"], params["_verifier"]).json()
    # The second app rides on the session: no new code, straight back with one.
    params = _params(second)
    verifier = params.pop("_verifier")
    again = returned(browser.authorize(DEMO_TENANT, **params))
    two = _redeem(server, second, again.params["code"], verifier).json()
    a, b = (jwt.decode(t["id_token"], options={"verify_signature": False}) for t in (one, two))
    assert a["oid"] == b["oid"]
    assert a["sub"] != b["sub"]
    assert a["sid"] == b["sid"]


@pytest.mark.parametrize(
    "presented",
    [
        "https://app.example/callback/",
        "https://app.example/Callback",
        "https://APP.example/callback",
        "https://app.example/callback?next=1",
        "https://evil@app.example/callback",
        "https://app.example.evil.example/callback",
        "http://app.example/callback",
        "https://app.example/callback#x",
        "https://app.example/callback/../callback",
        "",
    ],
)
def test_redirect_uri_variations_get_an_error_page_never_a_redirect(
    server: Server, browser: Browser, presented: str
) -> None:
    app = new_app(server, CALLBACK)
    params = _params(app, redirect_uri=presented)
    params.pop("_verifier")
    answer = browser.authorize(DEMO_TENANT, **params)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "redirect" in answer.text.lower()
    assert "content-security-policy" in answer.headers


def test_unknown_apps_and_tenants_get_an_error_page(server: Server, browser: Browser) -> None:
    params = _params({"AppID": "00000000-0000-4000-8000-000000000000"})
    params.pop("_verifier")
    assert browser.authorize(DEMO_TENANT, **params).status_code == 400
    assert browser.authorize("nowhere.example", **params).status_code == 400
    assert browser.authorize(DEMO_TENANT, client_id="x" * 5000).status_code == 400


def test_errors_after_the_redirect_uri_is_checked_go_back_with_state_and_iss(
    server: Server, browser: Browser
) -> None:
    app = new_app(server, CALLBACK)
    for bad, error in (
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"scope": "openid api://nothing-here/read"}, "invalid_resource"),
        ({"prompt": "none"}, "login_required"),
    ):
        params = _params(app, **bad)
        params.pop("_verifier")
        answer = returned(browser.authorize(DEMO_TENANT, **params))
        assert answer.location.startswith(CALLBACK + "?")
        assert answer.params["error"] == error, answer.params
        assert answer.params["state"] == params["state"]
        assert answer.params["iss"] == f"{server.base_url}/{app['TenantID']}/v2.0"
        assert "code" not in answer.params


def test_a_public_client_must_use_pkce_and_plain_is_refused(
    server: Server, browser: Browser
) -> None:
    app = new_app(server, "http://localhost/callback", public=True)
    assert "AppSecret" not in app
    params = _params(app, redirect_uri="http://localhost:53117/callback")
    params.pop("_verifier")
    for drop in ({"code_challenge", "code_challenge_method"}, {"code_challenge_method"}):
        answer = returned(
            browser.authorize(DEMO_TENANT, **{k: v for k, v in params.items() if k not in drop})
        )
        assert answer.params["error"] == "invalid_request"
    # The loopback port may change; nothing else may.
    assert browser.authorize(DEMO_TENANT, **params).status_code == 200


def test_pkce_is_checked_and_a_downgrade_refused(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app = new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, app, email)
    wrong = _redeem(server, app, answer["code"], pkce()[0])
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    # The code is spent by the failed attempt.
    assert _redeem(server, app, answer["code"], params["_verifier"]).status_code == 400
    # A code issued without a challenge cannot be redeemed with a verifier.
    plain = _params(app)
    plain.pop("_verifier")
    del plain["code_challenge"], plain["code_challenge_method"]
    again = returned(browser.authorize(DEMO_TENANT, **plain))
    downgrade = _redeem(server, app, again.params["code"], pkce()[0])
    assert downgrade.json()["error"] == "invalid_grant"
    # A confidential client without a challenge and without a verifier is fine.
    fresh = returned(browser.authorize(DEMO_TENANT, **plain))
    assert _redeem(server, app, fresh.params["code"], None).status_code == 200


def test_a_code_is_bound_to_its_app_and_redirect_uri(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app, other = new_app(server, CALLBACK), new_app(server, CALLBACK, "https://app.example/two")
    params, answer = _signed_in(server, browser, sink, app, email)
    assert _redeem(server, other, answer["code"], params["_verifier"]).json()["error"] == (
        "invalid_grant"
    )
    moved = _redeem(
        server, app, answer["code"], params["_verifier"], redirect_uri="https://app.example/two"
    )
    assert moved.json()["error"] == "invalid_grant"
    no_secret = {k: v for k, v in app.items() if k != "AppSecret"}
    assert _redeem(server, no_secret, "x", None).status_code == 401


def test_a_replayed_code_is_refused_and_revokes_what_it_issued(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app = new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, app, email)
    first = _redeem(server, app, answer["code"], params["_verifier"])
    assert first.status_code == 200
    replay = _redeem(server, app, answer["code"], params["_verifier"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert _refresh(server, app, first.json()["refresh_token"]).json()["error"] == "invalid_grant"


def test_parallel_redemptions_of_one_code_yield_one_set_of_tokens(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app = new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, app, email)
    barrier = threading.Barrier(8)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def redeem() -> None:
        barrier.wait()
        got = _redeem(server, app, answer["code"], params["_verifier"])
        with lock:
            results.append(got)

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 1, [r.text for r in results]
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code != 200)
    # What the database holds afterwards: that family was revoked by the replays.
    assert _refresh(server, app, ok[0].json()["refresh_token"]).status_code == 400


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app = new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, app, email)
    first = _redeem(server, app, answer["code"], params["_verifier"]).json()["refresh_token"]
    rotated = _refresh(server, app, first, scope="openid profile offline_access")
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first
    assert "id_token" in rotated.json()
    assert _refresh(server, app, first).json()["error"] == "invalid_grant"
    # The thief and the owner look alike: the token rotated in between dies as well.
    assert _refresh(server, app, second).json()["error"] == "invalid_grant"


def test_refresh_is_bound_to_the_client_and_its_granted_scopes(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app, other = new_app(server, CALLBACK), new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, app, email)
    token = _redeem(server, app, answer["code"], params["_verifier"]).json()["refresh_token"]
    assert _refresh(server, other, token).json()["error"] == "invalid_grant"
    assert _refresh(server, app, token, scope="openid email").json()["error"] == "invalid_scope"
    wrong_secret = {**app, "AppSecret": "gg_wrong"}
    assert _refresh(server, wrong_secret, token).status_code == 401
    assert _refresh(server, app, token).status_code == 200


def test_a_user_removed_mid_session_cannot_sign_in_or_refresh(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, user_id = accepted_guest(server, sink)
    app = new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, app, email)
    token = _redeem(server, app, answer["code"], params["_verifier"]).json()
    server.cli("guests", "delete", user_id, "--tenant", DEMO_TENANT)
    again = _params(app)
    again.pop("_verifier")
    page = browser.authorize(DEMO_TENANT, **again)
    assert page.status_code == 200
    assert "Sign in" in page.text
    assert _refresh(server, app, token["refresh_token"]).json()["error"] == "invalid_grant"
    with server.client() as client:
        me = client.get(
            "/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
    assert me.status_code == 401
    # And no new code reaches the address.
    before = len(sink.messages(to=email))
    assert browser.start(page, email).status_code == 303
    assert len(sink.messages(to=email)) == before


def test_prompt_login_asks_again_and_prompt_none_uses_the_session(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app = new_app(server, CALLBACK)
    _signed_in(server, browser, sink, app, email)
    params = _params(app, prompt="login")
    params.pop("_verifier")
    assert browser.authorize(DEMO_TENANT, **params).status_code == 200
    params["prompt"] = "none"
    assert "code" in returned(browser.authorize(DEMO_TENANT, **params)).params
    # max_age: a session older than the app accepts asks for a new code.
    del params["prompt"]
    assert "code" in returned(browser.authorize(DEMO_TENANT, **params, max_age="3600")).params
    time.sleep(1.1)
    assert browser.authorize(DEMO_TENANT, **params, max_age="0").status_code == 200


def test_a_wrong_code_is_counted_audited_and_locks_after_five(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, user_id = new_member(server)
    app = new_app(server, CALLBACK)
    params = _params(app)
    params.pop("_verifier")
    page = browser.authorize(DEMO_TENANT, **params)
    assert browser.start(page, email).status_code == 303
    right = latest_code(sink, email, 1)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1):
        answer = browser.enter_code(wrong)
        assert answer.status_code == 400
        assert f"{left} attempt" in answer.text
    assert browser.enter_code(wrong).status_code == 400
    locked = browser.enter_code(right)
    assert locked.status_code == 400
    assert "location" not in locked.headers
    failures = [
        e for e in _audit(server) if e["action"] == "signin.failure" and e.get("target") == user_id
    ]
    assert len(failures) == 6
    reasons = [e["details"]["reason"] for e in failures]  # type: ignore[index]
    assert reasons.count("wrong_code") == 5
    assert reasons.count("code_locked") == 1


def test_an_unknown_address_sees_the_same_page_and_gets_no_mail(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    app = new_app(server, CALLBACK)
    params = _params(app)
    params.pop("_verifier")
    page = browser.authorize(DEMO_TENANT, **params)
    started = browser.start(page, "nobody.here@contoso.example")
    assert started.status_code == 303
    code_page = browser.http.get("/signin/code")
    assert "n***@contoso.example" in code_page.text
    assert sink.messages(to="nobody.here@contoso.example") == []
    assert browser.enter_code("123456").status_code == 400


def test_form_post_answers_with_a_self_submitting_form_under_a_strict_csp(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app = new_app(server, CALLBACK)
    params = _params(app, response_mode="form_post")
    params.pop("_verifier")
    answer = browser.sign_in(DEMO_TENANT, email, sink, **params)
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "script-src 'sha256-" in csp
    assert "form-action https://app.example;" in csp
    posted = returned(answer)
    assert posted.location == CALLBACK
    assert set(posted.params) == {"code", "state", "iss"}
    assert posted.params["state"] == params["state"]


def test_logout_ends_the_session_and_returns_only_to_a_registered_uri(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app = new_app(server, CALLBACK)
    params, answer = _signed_in(server, browser, sink, app, email)
    id_token = _redeem(server, app, answer["code"], params["_verifier"]).json()["id_token"]
    elsewhere = browser.http.get(
        f"/{DEMO_TENANT}/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": "https://evil.example/", "client_id": app["AppID"]},
    )
    assert elsewhere.status_code == 200
    assert "location" not in elsewhere.headers
    _signed_in(server, browser, sink, app, email)
    back = browser.http.get(
        f"/{DEMO_TENANT}/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": CALLBACK, "id_token_hint": id_token, "state": "s1"},
    )
    assert back.status_code == 303
    assert back.headers["location"] == f"{CALLBACK}?state=s1"
    again = _params(app)
    again.pop("_verifier")
    assert browser.authorize(DEMO_TENANT, **again).status_code == 200  # the page, not a code


def test_user_tokens_are_refused_by_the_graph_api_and_name_their_api(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    api = new_app(
        server,
        CALLBACK,
        extra=("--app-id-uri", "api://reports-" + secrets.token_hex(4), "--scope", "read"),
    )
    listed = json.loads(server.cli("app", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    uri = next(a["appIdUri"] for a in listed if a["AppID"] == api["AppID"])
    client = new_app(server, CALLBACK)
    params, answer = _signed_in(
        server, browser, sink, client, email, scope=f"{uri}/read openid profile offline_access"
    )
    body = _redeem(server, client, answer["code"], params["_verifier"]).json()
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["aud"] == uri
    assert access["scp"] == "read"
    assert access["azp"] == client["AppID"]
    assert body["scope"].split()[0] == f"{uri}/read"
    with server.client() as http:
        graph = http.get("/v1.0/users", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert graph.status_code == 401
    bad_scope = _params(client, scope=f"{uri}/write openid")
    bad_scope.pop("_verifier")
    assert returned(browser.authorize(DEMO_TENANT, **bad_scope)).params["error"] == "invalid_scope"


def test_discovery_lists_the_sign_in_endpoints(server: Server) -> None:
    with server.client() as client:
        doc = client.get(f"/{DEMO_TENANT}/v2.0/.well-known/openid-configuration").json()
    base = f"{server.base_url}/{doc['issuer'].split('/')[-2]}"
    assert doc["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert doc["end_session_endpoint"] == f"{base}/oauth2/v2.0/logout"
    assert doc["userinfo_endpoint"] == f"{server.base_url}/oidc/userinfo"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert "form_post" in doc["response_modes_supported"]
    assert {"authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "authorization_code"},
        {"grant_type": "authorization_code", "client_id": "x", "code": "y"},
        {"grant_type": "refresh_token", "client_id": "\x00", "refresh_token": "z" * 4000},
        {"grant_type": "authorization_code", "client_id": "x", "code": "c", "redirect_uri": "r"},
    ],
)
def test_hostile_token_requests_get_a_4xx(server: Server, form: dict[str, str]) -> None:
    with server.client() as client:
        answer = client.post(f"/{DEMO_TENANT}/oauth2/v2.0/token", data=form)
    assert 400 <= answer.status_code < 500, answer.text


def test_sign_in_activity_is_readable_through_graph_select(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, user_id = accepted_guest(server, sink)
    reader = Caller.new_app(server, DEMO_TENANT, "User.Read.All", "AuditLog.Read.All")
    path = f"/v1.0/users/{user_id}?$select=id,signInActivity"
    never = reader.request("GET", path).json()["signInActivity"]
    assert never["lastSignInDateTime"] is None
    assert never["lastSuccessfulSignInDateTime"] is None
    app = new_app(server, CALLBACK)
    params = _params(app)
    params.pop("_verifier")
    page = browser.authorize(DEMO_TENANT, **params)
    browser.start(page, email)
    right = latest_code(sink, email, 2)  # the first code was the redemption's
    failed = browser.enter_code("000000" if right != "000000" else "111111")
    assert failed.status_code == 400
    after_failure = reader.request("GET", path).json()["signInActivity"]
    assert after_failure["lastSignInDateTime"] is not None
    assert after_failure["lastSuccessfulSignInDateTime"] is None
    assert browser.enter_code(right).status_code == 303
    activity = reader.request("GET", path).json()["signInActivity"]
    assert activity["lastSuccessfulSignInDateTime"] == activity["lastSignInDateTime"]
    assert activity["lastSignInDateTime"] >= after_failure["lastSignInDateTime"]
    listed = reader.request(
        "GET", "/v1.0/users", params={"$select": "id,signInActivity", "$top": "999"}
    ).json()["value"]
    assert next(u for u in listed if u["id"] == user_id)["signInActivity"] == activity
    plain = Caller.new_app(server, DEMO_TENANT, "User.Read.All")
    assert plain.request("GET", path).status_code == 403
    assert "signInActivity" not in plain.request("GET", f"/v1.0/users/{user_id}").json()


def test_a_stranger_cannot_flood_an_address_with_codes(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, user_id = new_member(server)
    app = new_app(server, CALLBACK)
    params = _params(app)
    params.pop("_verifier")
    for _ in range(6):
        assert browser.start(browser.authorize(DEMO_TENANT, **params), email).status_code == 303
    sink.wait_for(5, to=email, subject_contains="verification code")
    time.sleep(1)  # the worker had time for a sixth mail, if one had been queued
    assert len(sink.messages(to=email, subject_contains="verification code")) == 5
    reasons = [
        e["details"]["reason"]  # type: ignore[index]
        for e in _audit(server)
        if e["action"] == "signin.failure" and e.get("target") == user_id
    ]
    assert reasons == ["too_many_codes"]


def test_forged_or_broken_sign_in_posts_change_nothing(
    server: Server, browser: Browser, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    app = new_app(server, CALLBACK)
    params = _params(app)
    params.pop("_verifier")
    page = browser.authorize(DEMO_TENANT, **params)
    fields = browser.form_fields(page, "/signin/start")
    post = browser.http.post
    # No CSRF token, a wrong one, another site's Origin, not a form, a tampered request.
    assert post("/signin/start", data={**fields, "csrf": "", "email": email}).status_code == 403
    assert (
        post("/signin/start", data={**fields, "csrf": "0" * 64, "email": email}).status_code == 403
    )
    other_site = {"Origin": "https://evil.example"}
    assert (
        post("/signin/start", data={**fields, "email": email}, headers=other_site).status_code
        == 403
    )
    assert post("/signin/start", json={**fields, "email": email}).status_code == 403
    tampered = {**fields, "request": fields["request"][:-4] + "AAAA", "email": email}
    assert post("/signin/start", data=tampered).status_code == 403
    for bad in ("not-an-address", "a@b", "x" * 300 + "@contoso.example", "a\x00@contoso.example"):
        answer = post("/signin/start", data={**fields, "email": bad})
        assert answer.status_code == 400, (bad, answer.text)
        fields = browser.form_fields(answer, "/signin/start")  # the page comes back, anew
    assert sink.messages(to=email) == []
    # Without the challenge cookie the code steps refuse.
    with server.client(follow_redirects=False) as stranger:
        assert stranger.get("/signin/code").status_code == 403
        assert stranger.post("/signin/verify", data={"code": "123456"}).status_code == 403
        assert stranger.post("/signin/resend", data={}).status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "client_id=%00&redirect_uri=x",
        "client_id=a&client_id=b",
        "scope=" + "a" * 9000,
        "client_id=" + "%ff" * 10,
        "redirect_uri=%E2%80%AEhttps://app.example/callback",
    ],
)
def test_hostile_authorize_requests_get_a_page_never_a_500(server: Server, query: str) -> None:
    with server.client(follow_redirects=False) as client:
        answer = client.get(f"/{DEMO_TENANT}/oauth2/v2.0/authorize?{query}")
        posted = client.post(
            f"/{DEMO_TENANT}/oauth2/v2.0/authorize",
            content=query.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert 400 <= answer.status_code < 500, answer.text
    assert 400 <= posted.status_code < 500, posted.text
    assert "location" not in answer.headers


def test_secret_guessing_through_the_user_grants_is_throttled(server: Server) -> None:
    app = new_app(server, CALLBACK)
    wrong = {**app, "AppSecret": "gg_" + "x" * 43}
    answers = [_refresh(server, wrong, "some-token").status_code for _ in range(10)]
    assert answers == [401] * 10
    throttled = _refresh(server, app, "some-token")
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "temporarily_unavailable"
    assert int(throttled.headers["retry-after"]) >= 1
