"""The identity endpoints over HTTP: discovery, JWKS, and every token-endpoint failure."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def token_request(server: Server, tenant: str, **form: str) -> httpx.Response:
    with server.client() as client:
        return client.post(f"/{tenant}/oauth2/v2.0/token", data=form)


def valid_form(server: Server) -> dict[str, str]:
    creds = server.demo_credentials()
    return {
        "grant_type": "client_credentials",
        "client_id": creds["AppID"],
        "client_secret": creds["AppSecret"],
        "scope": GRAPH_SCOPE,
    }


def assert_oauth_error(response: httpx.Response, status: int, error: str, aadsts: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [aadsts]
    assert body["error_description"].startswith(f"AADSTS{aadsts}: ")
    for key in ("timestamp", "trace_id", "correlation_id"):
        assert body[key]
    assert response.headers["cache-control"] == "no-store"


def test_discovery_document_by_id_and_by_domain(http_server: Server) -> None:
    tid = http_server.demo_credentials()["TenantID"]
    with http_server.client() as client:
        by_id = client.get(f"/{tid}/v2.0/.well-known/openid-configuration").json()
        by_domain = client.get("/contoso.example/v2.0/.well-known/openid-configuration").json()
    assert by_id == by_domain
    base = f"{http_server.base_url}/{tid}"
    assert by_id["issuer"] == f"{base}/v2.0"
    assert by_id["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert by_id["jwks_uri"] == f"{base}/discovery/v2.0/keys"
    assert by_id["id_token_signing_alg_values_supported"] == ["RS256"]


def test_jwks_publishes_only_public_members(http_server: Server) -> None:
    with http_server.client() as client:
        keys = client.get("/contoso.example/discovery/v2.0/keys").json()["keys"]
    assert keys
    for key in keys:
        assert set(key) <= {"kty", "use", "alg", "kid", "n", "e"}
        assert key["kty"] == "RSA"
        assert key["use"] == "sig"
        modulus = base64.urlsafe_b64decode(key["n"] + "==")
        assert len(modulus) * 8 >= 2048


def test_unknown_tenant_in_identity_paths_is_a_clean_400(http_server: Server) -> None:
    with http_server.client() as client:
        for path in (
            "/nowhere.example/v2.0/.well-known/openid-configuration",
            f"/{uuid.uuid4()}/discovery/v2.0/keys",
        ):
            assert_oauth_error(client.get(path), 400, "invalid_request", 90002)
    assert_oauth_error(
        token_request(http_server, "nowhere.example", **valid_form(http_server)),
        400,
        "invalid_request",
        90002,
    )


def test_token_success_shape_and_signature(http_server: Server) -> None:
    creds = http_server.demo_credentials()
    response = token_request(http_server, creds["TenantID"], **valid_form(http_server))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer"
    with http_server.client() as client:
        jwks = client.get(f"/{creds['TenantID']}/discovery/v2.0/keys").json()
    header = jwt.get_unverified_header(body["access_token"])
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        body["access_token"],
        key=jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience="https://graph.microsoft.com",
        issuer=f"{http_server.base_url}/{creds['TenantID']}/v2.0",
    )
    assert body["expires_in"] == claims["exp"] - claims["iat"]
    assert claims["roles"] == ["User.Invite.All", "User.Read.All"]


def test_token_ids_are_unique(http_server: Server) -> None:
    creds = http_server.demo_credentials()
    form = valid_form(http_server)
    jtis = set()
    with http_server.client() as client:
        for _ in range(20):
            token = client.post(f"/{creds['TenantID']}/oauth2/v2.0/token", data=form).json()
            jtis.add(jwt.decode(token["access_token"], options={"verify_signature": False})["jti"])
    assert len(jtis) == 20


def test_client_secret_basic_including_form_encoding(http_server: Server) -> None:
    creds = http_server.demo_credentials()
    form = valid_form(http_server)
    with http_server.client() as client:
        response = client.post(
            f"/{creds['TenantID']}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
            auth=(form["client_id"], form["client_secret"]),
        )
        assert response.status_code == 200, response.text
        wrong = client.post(
            f"/{creds['TenantID']}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
            auth=(form["client_id"], "gg_wrong"),
        )
    assert_oauth_error(wrong, 401, "invalid_client", 7000215)
    assert wrong.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("change", "status", "error", "aadsts"),
    [
        ({"client_secret": "gg_wrong"}, 401, "invalid_client", 7000215),
        ({"client_id": str(uuid.uuid4())}, 401, "invalid_client", 700016),
        ({"client_secret": ""}, 401, "invalid_client", 7000218),
        ({"client_id": ""}, 400, "invalid_request", 900144),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"grant_type": "authorization_code"}, 400, "invalid_request", 900144),
        ({"grant_type": ""}, 400, "invalid_request", 900144),
        ({"scope": "User.Read"}, 400, "invalid_scope", 1002012),
        ({"scope": "openid"}, 400, "invalid_scope", 1002012),
        ({"scope": "https://evil.test/.default"}, 400, "invalid_resource", 500011),
    ],
)
def test_token_failures(
    http_server: Server, change: dict[str, str], status: int, error: str, aadsts: int
) -> None:
    form = {**valid_form(http_server), **change}
    form = {k: v for k, v in form.items() if not (k == "grant_type" and v == "")}
    response = token_request(http_server, "contoso.example", **form)
    assert_oauth_error(response, status, error, aadsts)
    assert valid_form(http_server)["client_secret"] not in response.text


def test_app_of_another_tenant_is_unknown_here(http_server: Server) -> None:
    http_server.cli("tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example")
    assert_oauth_error(
        token_request(http_server, "fabrikam.example", **valid_form(http_server)),
        401,
        "invalid_client",
        700016,
    )


def test_both_client_authentication_methods_at_once(http_server: Server) -> None:
    form = valid_form(http_server)
    with http_server.client() as client:
        response = client.post(
            "/contoso.example/oauth2/v2.0/token",
            data=form,
            auth=(form["client_id"], form["client_secret"]),
        )
    assert_oauth_error(response, 400, "invalid_request", 9002313)


def test_duplicate_parameters_are_refused(http_server: Server) -> None:
    form = valid_form(http_server)
    body = "&".join(f"{k}={v}" for k, v in form.items()) + "&grant_type=client_credentials"
    with http_server.client() as client:
        response = client.post(
            "/contoso.example/oauth2/v2.0/token",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert_oauth_error(response, 400, "invalid_request", 9002313)


def test_transport_shape_errors(http_server: Server) -> None:
    form = valid_form(http_server)
    with http_server.client() as client:
        as_json = client.post("/contoso.example/oauth2/v2.0/token", json=form)
        as_get = client.get("/contoso.example/oauth2/v2.0/token")
        huge = client.post(
            "/contoso.example/oauth2/v2.0/token",
            content=b"a=" + b"x" * 1_000_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        common = client.post("/common/oauth2/v2.0/token", data=form)
    assert_oauth_error(as_json, 400, "invalid_request", 900144)
    assert as_get.status_code == 405
    assert as_get.json()["error"] == "invalid_request"
    assert huge.status_code == 413
    assert_oauth_error(common, 400, "invalid_request", 50059)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_protected_route_refuses_bad_tokens_with_graph_errors(http_server: Server) -> None:
    creds = http_server.demo_credentials()
    good = token_request(http_server, creds["TenantID"], **valid_form(http_server)).json()[
        "access_token"
    ]
    header, payload, signature = good.split(".")
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    expired = {**claims, "exp": int(time.time()) - 400}
    expired_payload = base64.urlsafe_b64encode(json.dumps(expired).encode()).rstrip(b"=").decode()
    cases = {
        "missing": {},
        "basic scheme": {"Authorization": "Basic abc"},
        "empty bearer": {"Authorization": "Bearer"},
        "two words": {"Authorization": "Bearer a b"},
        "alg none": bearer(f"{none_header}.{payload}."),
        "stripped signature": bearer(f"{header}.{payload}."),
        "re-signed payload": bearer(f"{header}.{expired_payload}.{signature}"),
        "garbage": bearer("not-a-token"),
    }
    with http_server.client() as client:
        assert client.get("/v1.0/organization", headers=bearer(good)).status_code == 200
        assert (
            client.get(
                "/v1.0/organization", headers={"Authorization": f"bearer {good}"}
            ).status_code
            == 200
        )
        for name, headers in cases.items():
            response = client.get("/v1.0/organization", headers=headers)
            assert response.status_code == 401, name
            assert response.headers["www-authenticate"].startswith("Bearer")
            body = response.json()
            assert body["error"]["code"] == "InvalidAuthenticationToken", name
            assert body["message"] == body["error"]["message"]
            assert body["error"]["innerError"]["request-id"] == response.headers["request-id"]
        query = client.get(f"/v1.0/organization?access_token={good}")
        assert query.status_code == 401


def test_logs_hold_no_secrets_or_tokens(http_server: Server) -> None:
    """Runs after the tests above: none of their secrets or tokens reached a log line."""
    creds = http_server.demo_credentials()
    token = token_request(http_server, creds["TenantID"], **valid_form(http_server)).json()
    with http_server.client() as client:
        client.get("/v1.0/organization", headers=bearer(token["access_token"]))
        client.get(f"/v1.0/organization?access_token={token['access_token']}")
    logs = http_server.logs()
    assert "guestgate.access" in logs
    assert creds["AppSecret"] not in logs
    assert "gg_" not in logs
    assert "eyJ" not in logs
