"""Microsoft's own client libraries get tokens from guestgate unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import msal
import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ClientSecretCredential

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture
def session(tls_server: Server) -> Iterator[requests.Session]:
    """A requests session trusting the dev certificate.

    REQUESTS_CA_BUNDLE is set on these machines and would override `verify`.
    """
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(tls_server.cert)
        yield session


@pytest.mark.parametrize("tenant_ref", ["guid", "domain"])
def test_msal_acquires_a_token_by_tenant_id_and_domain(
    tls_server: Server, session: requests.Session, tenant_ref: str
) -> None:
    creds = tls_server.demo_credentials()
    tenant = creds["TenantID"] if tenant_ref == "guid" else "contoso.example"
    app = msal.ConfidentialClientApplication(
        creds["AppID"],
        client_credential=creds["AppSecret"],
        authority=f"{tls_server.base_url}/{tenant}",
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["tid"] == creds["TenantID"]
    assert claims["appid"] == creds["AppID"]
    assert claims["iss"] == f"{tls_server.base_url}/{creds['TenantID']}/v2.0"
    # The token works on our API.
    with tls_server.client() as client:
        answer = client.get(
            "/v1.0/organization", headers={"Authorization": f"Bearer {result['access_token']}"}
        )
    assert answer.status_code == 200
    assert answer.json()["value"][0]["id"] == creds["TenantID"]


def test_msal_reports_a_wrong_secret(tls_server: Server, session: requests.Session) -> None:
    creds = tls_server.demo_credentials()
    app = msal.ConfidentialClientApplication(
        creds["AppID"],
        client_credential="gg_not-the-secret",
        authority=f"{tls_server.base_url}/{creds['TenantID']}",
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert result["error"] == "invalid_client"
    assert 7000215 in result["error_codes"]


def test_azure_identity_client_secret_credential(
    tls_server: Server, session: requests.Session
) -> None:
    creds = tls_server.demo_credentials()
    credential = ClientSecretCredential(
        creds["TenantID"],
        creds["AppID"],
        creds["AppSecret"],
        authority=tls_server.base_url,
        disable_instance_discovery=True,
        transport=RequestsTransport(
            session=session,
            session_owner=False,
            connection_verify=str(tls_server.cert),
        ),
    )
    token = credential.get_token(GRAPH_SCOPE)
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["tid"] == creds["TenantID"]
    assert token.expires_on - claims["iat"] == pytest.approx(3600, abs=5)
