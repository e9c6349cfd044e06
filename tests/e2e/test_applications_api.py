"""App registrations through Graph's /v1.0/applications, on SQLite and PostgreSQL.

An app registered through the API signs users in on the redirect URIs it was given (and no
other), gets client-credentials tokens with the secret addPassword returns, stops working
when the secret is removed or the app deleted; hostile bodies store nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT, Browser, latest_code, new_member, pkce, returned
from tests.e2e.smtp import SmtpSink
from tests.leaks import REGISTRY

pytestmark = pytest.mark.e2e
CALLBACK = "https://app.example/callback"
NATIVE = "http://localhost:8400/callback"
APPS = "/v1.0/applications"
GRAPH = "https://graph.microsoft.com/.default"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("applications")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(server: Server) -> Caller:
    return Caller.new_app(server, DEMO_TENANT, "Application.ReadWrite.All")


def create(admin: Caller, body: dict[str, Any]) -> dict[str, Any]:
    answer = admin.request("POST", APPS, json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def add_password(admin: Caller, object_id: str, **credential: str) -> dict[str, Any]:
    answer = admin.request(
        "POST", f"{APPS}/{object_id}/addPassword", json={"passwordCredential": credential}
    )
    assert answer.status_code == 200, answer.text
    made: dict[str, Any] = answer.json()
    REGISTRY.secret(made["secretText"], "client secret")
    return made


def token(server: Server, app_id: str, secret: str) -> httpx.Response:
    with server.client() as client:
        return client.post(
            f"/{DEMO_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app_id,
                "client_secret": secret,
                "scope": GRAPH,
            },
        )


def app_count(server: Server) -> int:
    listed = json.loads(server.cli("app", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    return len(listed)


def authorize(browser: Browser, app_id: str, redirect_uri: str) -> tuple[httpx.Response, str]:
    verifier, challenge = pkce()
    page = browser.authorize(
        DEMO_TENANT,
        client_id=app_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope="openid profile",
        state="s",
        nonce="n",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    return page, verifier


def sign_in(
    server: Server, sink: SmtpSink, app_id: str, redirect_uri: str, **client: str
) -> dict[str, Any]:
    """A member signs in to the app through the pages; the code is redeemed for tokens."""
    email, user_id = new_member(server)
    browser = Browser(server)
    try:
        page, verifier = authorize(browser, app_id, redirect_uri)
        assert page.status_code == 200, page.text
        before = len(sink.messages(to=email))
        assert browser.start(page, email).status_code == 303
        answer = returned(browser.enter_code(latest_code(sink, email, before + 1)))
        assert answer.location.startswith(redirect_uri), answer.location
        wrong, _ = authorize(browser, app_id, "https://app.example/other")
        assert wrong.status_code == 400
        assert "location" not in wrong.headers
    finally:
        browser.close()
    with server.client() as http:
        tokens = http.post(
            f"/{DEMO_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "authorization_code",
                "client_id": app_id,
                "code": answer.params["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                **client,
            },
        )
    assert tokens.status_code == 200, tokens.text
    claims: dict[str, Any] = jwt.decode(
        tokens.json()["id_token"], options={"verify_signature": False}
    )
    assert claims["aud"] == app_id
    assert claims["oid"] == user_id
    return claims


def test_a_confidential_app_registered_through_the_api_signs_a_member_in(
    server: Server, admin: Caller, sink: SmtpSink
) -> None:
    created = create(admin, {"displayName": "Web app", "web": {"redirectUris": [CALLBACK]}})
    assert created["displayName"] == "Web app"
    assert created["web"] == {"redirectUris": [CALLBACK]}
    assert created["publicClient"] == {"redirectUris": []}
    assert created["isFallbackPublicClient"] is False
    assert created["passwordCredentials"] == []
    assert created["createdDateTime"].endswith("Z")
    assert uuid.UUID(created["id"])
    assert uuid.UUID(created["appId"])
    secret = add_password(admin, created["id"], displayName="web")
    sign_in(server, sink, created["appId"], CALLBACK, client_secret=secret["secretText"])


def test_a_public_app_registered_through_the_api_signs_in_with_pkce_and_no_secret(
    server: Server, admin: Caller, sink: SmtpSink
) -> None:
    created = create(admin, {"displayName": "CLI", "publicClient": {"redirectUris": [NATIVE]}})
    assert created["isFallbackPublicClient"] is True
    assert created["publicClient"] == {"redirectUris": [NATIVE]}
    assert created["web"] == {"redirectUris": []}
    sign_in(server, sink, created["appId"], NATIVE)
    refused = admin.request("POST", f"{APPS}/{created['id']}/addPassword", json={})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "PublicClientSecret"
    fallback = create(admin, {"displayName": "Device app", "isFallbackPublicClient": True})
    assert fallback["isFallbackPublicClient"] is True


def test_patch_replaces_the_redirect_uris_identifier_uri_and_scopes(
    server: Server, admin: Caller
) -> None:
    created = create(admin, {"displayName": "Patched", "web": {"redirectUris": [CALLBACK]}})
    path = f"{APPS}/{created['id']}"
    new_uri = "https://app.example/new-callback"
    answer = admin.request(
        "PATCH",
        path,
        json={
            "displayName": "Patched again",
            "web": {"redirectUris": [new_uri]},
            "identifierUris": [f"api://patched-{uuid.uuid4().hex[:8]}"],
            "api": {"oauth2PermissionScopes": [{"value": "Notes.Read"}, {"value": "Notes.Write"}]},
        },
    )
    assert answer.status_code == 204, answer.text
    got = admin.request("GET", path).json()
    assert got["displayName"] == "Patched again"
    assert got["web"]["redirectUris"] == [new_uri]
    assert len(got["identifierUris"]) == 1
    scopes = got["api"]["oauth2PermissionScopes"]
    assert [s["value"] for s in scopes] == ["Notes.Read", "Notes.Write"]
    assert scopes == admin.request("GET", path).json()["api"]["oauth2PermissionScopes"]
    browser = Browser(server)
    try:
        assert authorize(browser, created["appId"], new_uri)[0].status_code == 200
        assert authorize(browser, created["appId"], CALLBACK)[0].status_code == 400
    finally:
        browser.close()
    # Graph removes a scope by disabling it first: both steps leave it out here.
    disabled = {"value": "Notes.Write", "isEnabled": False}
    body = {"api": {"oauth2PermissionScopes": [{"value": "Notes.Read"}, disabled]}}
    assert admin.request("PATCH", path, json=body).status_code == 204
    kept = admin.request("GET", path).json()
    assert [s["value"] for s in kept["api"]["oauth2PermissionScopes"]] == ["Notes.Read"]
    assert kept["web"]["redirectUris"] == [new_uri]  # not given, not changed
    cleared = admin.request("PATCH", path, json={"identifierUris": [], "web": {"redirectUris": []}})
    assert cleared.status_code == 204
    empty = admin.request("GET", path).json()
    assert empty["identifierUris"] == []
    assert empty["web"]["redirectUris"] == []


def test_add_password_gives_a_working_secret_and_remove_password_ends_it(
    server: Server, admin: Caller
) -> None:
    created = create(admin, {"displayName": "Daemon"})
    end = (datetime.now(UTC) + timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    made = add_password(admin, created["id"], displayName="ci", endDateTime=end)
    assert set(made) >= {"keyId", "secretText", "hint", "displayName", "endDateTime"}
    assert made["displayName"] == "ci"
    assert made["endDateTime"] == end
    assert made["secretText"][3:6] == made["hint"]
    first = token(server, created["appId"], made["secretText"])
    assert first.status_code == 200, first.text
    claims = jwt.decode(first.json()["access_token"], options={"verify_signature": False})
    assert claims.get("roles", []) == []  # the API grants no permissions
    listed = admin.request("GET", f"{APPS}/{created['id']}").json()["passwordCredentials"]
    shown = {k: v for k, v in made.items() if k != "@odata.context"} | {"secretText": None}
    assert listed == [shown]
    assert made["secretText"] not in json.dumps(listed)
    gone = admin.request(
        "POST", f"{APPS}/{created['id']}/removePassword", json={"keyId": made["keyId"]}
    )
    assert gone.status_code == 204, gone.text
    assert token(server, created["appId"], made["secretText"]).status_code == 401
    again = admin.request(
        "POST", f"{APPS}/{created['id']}/removePassword", json={"keyId": made["keyId"]}
    )
    assert again.status_code == 404


@pytest.mark.parametrize(
    "end",
    [
        "2020-01-01T00:00:00Z",
        (datetime.now(UTC) + timedelta(days=733)).isoformat(),
        "next week",
        (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S"),  # no time zone
    ],
    ids=["past", "beyond-two-years", "not-a-date", "no-time-zone"],
)
def test_add_password_refuses_end_dates_past_or_beyond_two_years(admin: Caller, end: str) -> None:
    created = create(admin, {"displayName": "Dated"})
    answer = admin.request(
        "POST",
        f"{APPS}/{created['id']}/addPassword",
        json={"passwordCredential": {"endDateTime": end}},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "InvalidLifetime"
    assert admin.request("GET", f"{APPS}/{created['id']}").json()["passwordCredentials"] == []


def test_a_deleted_app_is_gone_and_its_token_is_refused(server: Server, admin: Caller) -> None:
    created = create(admin, {"displayName": "Short-lived"})
    made = add_password(admin, created["id"])
    issued = token(server, created["appId"], made["secretText"]).json()["access_token"]
    REGISTRY.secret(issued, "access token")
    bearer = {"Authorization": f"Bearer {issued}"}
    with server.client() as client:
        assert client.get("/v1.0/organization", headers=bearer).status_code == 200
        assert admin.request("DELETE", f"{APPS}/{created['id']}").status_code == 204
        assert client.get("/v1.0/organization", headers=bearer).status_code == 401
    assert admin.request("GET", f"{APPS}/{created['id']}").status_code == 404
    assert token(server, created["appId"], made["secretText"]).status_code == 401
    assert admin.request("DELETE", f"{APPS}/{created['id']}").status_code == 404


def test_an_app_cannot_delete_itself(server: Server) -> None:
    made = server.create_app(DEMO_TENANT, "self", "Application.ReadWrite.All")
    caller = Caller(server, DEMO_TENANT, made["AppID"], made["AppSecret"])
    listed = caller.request("GET", f"{APPS}?$top=999").json()["value"]
    mine = next(a for a in listed if a["appId"] == made["AppID"])
    answer = caller.request("DELETE", f"{APPS}/{mine['id']}")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "CannotDeleteSelf"
    assert caller.request("GET", f"{APPS}/{mine['id']}").status_code == 200


def test_the_list_pages_with_top_and_next_link(admin: Caller) -> None:
    for n in range(3):
        create(admin, {"displayName": f"Paged {n}"})
    seen: list[str] = []
    page = admin.request("GET", f"{APPS}?$top=2").json()
    assert len(page["value"]) == 2
    assert "@odata.nextLink" in page
    while True:
        seen += [a["id"] for a in page["value"]]
        link = page.get("@odata.nextLink")
        if link is None:
            break
        page = admin.request("GET", httpx.URL(link).raw_path.decode()).json()
    assert len(seen) == len(set(seen)) >= 3
    everything = admin.request("GET", f"{APPS}?$top=999").json()["value"]
    assert [a["id"] for a in everything] == seen
    for bad in ("$top=0", "$top=1000", "$top=x", "$filter=displayName eq 'x'", "$skiptoken=zz"):
        assert admin.request("GET", f"{APPS}?{bad}").status_code == 400, bad


LONG = "https://app.example/" + "a" * 1100
HOSTILE: list[tuple[str, Any]] = [
    ("http-non-loopback", {"displayName": "x", "web": {"redirectUris": ["http://app.example/cb"]}}),
    ("fragment", {"displayName": "x", "web": {"redirectUris": ["https://app.example/cb#f"]}}),
    ("userinfo", {"displayName": "x", "web": {"redirectUris": ["https://u:p@app.example/cb"]}}),
    ("wildcard", {"displayName": "x", "web": {"redirectUris": ["https://*.app.example/cb"]}}),
    ("too-long-uri", {"displayName": "x", "web": {"redirectUris": [LONG]}}),
    (
        "1000-uris",
        {
            "displayName": "x",
            "web": {"redirectUris": [f"https://app.example/{n}" for n in range(1000)]},
        },
    ),
    (
        "both-kinds",
        {
            "displayName": "x",
            "web": {"redirectUris": [CALLBACK]},
            "publicClient": {"redirectUris": [NATIVE]},
        },
    ),
    (
        "fallback-with-web",
        {"displayName": "x", "isFallbackPublicClient": True, "web": {"redirectUris": [CALLBACK]}},
    ),
    ("no-name", {"web": {"redirectUris": [CALLBACK]}}),
    ("long-name", {"displayName": "n" * 121}),
    ("name-type", {"displayName": 5}),
    ("uris-type", {"displayName": "x", "web": {"redirectUris": "https://app.example/cb"}}),
    ("uri-item-type", {"displayName": "x", "web": {"redirectUris": [1]}}),
    ("fallback-type", {"displayName": "x", "isFallbackPublicClient": "yes"}),
    ("unknown-field", {"displayName": "x", "notes": "hello"}),
    ("unknown-nested", {"displayName": "x", "web": {"redirectUris": [], "homePageUrl": "h"}}),
    ("two-identifier-uris", {"displayName": "x", "identifierUris": ["api://a1", "api://a2"]}),
    ("reserved-identifier-uri", {"displayName": "x", "identifierUris": ["api://guestgate"]}),
    ("bad-scope", {"displayName": "x", "api": {"oauth2PermissionScopes": [{"value": "a b"}]}}),
    ("scope-without-value", {"displayName": "x", "api": {"oauth2PermissionScopes": [{}]}}),
    ("other-audience", {"displayName": "x", "signInAudience": "AzureADMultipleOrgs"}),
    (
        "permissions",
        {
            "displayName": "x",
            "requiredResourceAccess": [
                {
                    "resourceAppId": "00000003-0000-0000-c000-000000000000",
                    "resourceAccess": [
                        {"id": "09850681-111b-4a89-9bed-3f2cae46d706", "type": "Role"}
                    ],
                }
            ],
        },
    ),
    ("not-an-object", ["displayName"]),
]


@pytest.mark.parametrize(("case", "body"), HOSTILE, ids=[c for c, _ in HOSTILE])
def test_hostile_bodies_are_refused_naming_the_problem_and_nothing_is_stored(
    server: Server, admin: Caller, case: str, body: Any
) -> None:
    before = app_count(server)
    answer = admin.request("POST", APPS, json=body)
    assert answer.status_code == 400, (case, answer.text)
    error = answer.json()["error"]
    if case == "permissions":
        assert "requiredResourceAccess" in error["message"]
        assert "CLI" not in error["code"]
        assert "guestgate app create --permission" in error["message"]
    if case.startswith("unknown"):
        assert ("notes" if case == "unknown-field" else "homePageUrl") in error["message"]
    target = create(admin, {"displayName": "Target", "web": {"redirectUris": [CALLBACK]}})
    if isinstance(body, dict):
        patched = admin.request("PATCH", f"{APPS}/{target['id']}", json=body)
        if case not in ("no-name",):
            assert patched.status_code == 400, (case, patched.text)
    after = admin.request("GET", f"{APPS}/{target['id']}").json()
    assert after["displayName"] == "Target"
    assert after["web"]["redirectUris"] == [CALLBACK]
    assert app_count(server) == before + 1


def test_without_the_permission_every_route_is_403(server: Server, admin: Caller) -> None:
    target = create(admin, {"displayName": "Guarded"})
    reader = Caller.new_app(server, DEMO_TENANT, "User.ReadWrite.All", "User.Read.All")
    path = f"{APPS}/{target['id']}"
    for method, url, body in (
        ("POST", APPS, {"displayName": "x"}),
        ("GET", APPS, None),
        ("GET", path, None),
        ("PATCH", path, {"displayName": "x"}),
        ("DELETE", path, None),
        ("POST", f"{path}/addPassword", {}),
        ("POST", f"{path}/removePassword", {"keyId": str(uuid.uuid4())}),
    ):
        answer = reader.request(method, url, json=body)
        assert answer.status_code == 403, (method, url, answer.text)
        assert "Application.ReadWrite.All" in answer.json()["error"]["message"]
    assert admin.request("GET", path).json()["displayName"] == "Guarded"


def test_another_tenants_app_is_not_found(server: Server, admin: Caller) -> None:
    target = create(admin, {"displayName": "Ours"})
    domain = f"t{uuid.uuid4().hex[:8]}.example"
    server.cli("tenant", "create", "--name", "Other", "--domain", domain)
    other = Caller.new_app(server, domain, "Application.ReadWrite.All")
    path = f"{APPS}/{target['id']}"
    for method, url, body in (
        ("GET", path, None),
        ("PATCH", path, {"displayName": "stolen"}),
        ("DELETE", path, None),
        ("POST", f"{path}/addPassword", {}),
        ("POST", f"{path}/removePassword", {"keyId": str(uuid.uuid4())}),
    ):
        answer = other.request(method, url, json=body)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.json()["error"]["code"] == "Request_ResourceNotFound"
    assert all(a["id"] != target["id"] for a in other.request("GET", APPS).json()["value"])
    assert admin.request("GET", path).json()["displayName"] == "Ours"
    assert admin.request("GET", f"{APPS}/not-a-guid").status_code == 404


def test_an_app_deleted_while_a_user_signs_in_to_it_gets_no_code_and_no_500(
    server: Server, admin: Caller, sink: SmtpSink
) -> None:
    created = create(admin, {"displayName": "Vanishing", "web": {"redirectUris": [CALLBACK]}})
    email, _ = new_member(server)
    browser = Browser(server)
    try:
        page, _ = authorize(browser, created["appId"], CALLBACK)
        before = len(sink.messages(to=email))
        assert browser.start(page, email).status_code == 303
        code = latest_code(sink, email, before + 1)
        fields = browser.form_fields(browser.http.get("/signin/code"), "/signin/verify")
        assert admin.request("DELETE", f"{APPS}/{created['id']}").status_code == 204
        answer = browser.http.post("/signin/verify", data={**fields, "code": code})
        assert answer.status_code == 403, answer.text[:300]
        assert "location" not in answer.headers
        assert browser.http.get("/signin/code").status_code == 403
    finally:
        browser.close()


def test_a_client_becomes_public_only_without_secrets_or_permissions(
    server: Server, admin: Caller
) -> None:
    created = create(admin, {"displayName": "Switch", "web": {"redirectUris": [CALLBACK]}})
    path = f"{APPS}/{created['id']}"
    made = add_password(admin, created["id"])
    refused = admin.request("PATCH", path, json={"isFallbackPublicClient": True})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "PublicClientSecret"
    removed = admin.request("POST", f"{path}/removePassword", json={"keyId": made["keyId"]})
    assert removed.status_code == 204
    assert admin.request("PATCH", path, json={"isFallbackPublicClient": True}).status_code == 204
    now_public = admin.request("GET", path).json()
    assert now_public["isFallbackPublicClient"] is True
    assert now_public["publicClient"]["redirectUris"] == [CALLBACK]
    assert now_public["web"]["redirectUris"] == []
    # An app the operator granted permissions to stays confidential, and keeps them.
    granted = server.create_app(DEMO_TENANT, "granted", "User.Read.All")
    listed = admin.request("GET", f"{APPS}?$top=999").json()["value"]
    object_id = next(a["id"] for a in listed if a["appId"] == granted["AppID"])
    answer = admin.request("PATCH", f"{APPS}/{object_id}", json={"isFallbackPublicClient": True})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "PublicClientPermissions"
    renamed = admin.request("PATCH", f"{APPS}/{object_id}", json={"displayName": "Granted app"})
    assert renamed.status_code == 204
    issued = token(server, granted["AppID"], granted["AppSecret"]).json()["access_token"]
    REGISTRY.secret(granted["AppSecret"], "client secret")
    assert jwt.decode(issued, options={"verify_signature": False})["roles"] == ["User.Read.All"]
