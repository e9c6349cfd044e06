"""msgraph-sdk registers an app on guestgate, reads it back and adds it a secret that works."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ClientSecretCredential
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
    AddPasswordPostRequestBody,
)
from msgraph.generated.models.api_application import ApiApplication
from msgraph.generated.models.application import Application
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_credential import PasswordCredential
from msgraph.generated.models.permission_scope import PermissionScope
from msgraph.generated.models.public_client_application import PublicClientApplication
from msgraph.generated.models.web_application import WebApplication
from msgraph_core import GraphClientFactory

from tests.e2e.server import Caller, Server
from tests.leaks import REGISTRY

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def graph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("graph-apps")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def client(graph_server: Server) -> AsyncIterator[GraphServiceClient]:
    tenant = graph_server.demo_credentials()["TenantID"]
    made = graph_server.create_app(tenant, "registrar", "Application.ReadWrite.All")
    REGISTRY.secret(made["AppSecret"], "client secret")
    session = requests.Session()
    session.trust_env = False
    credential = ClientSecretCredential(
        tenant,
        made["AppID"],
        made["AppSecret"],
        authority=graph_server.base_url,
        disable_instance_discovery=True,
        transport=RequestsTransport(
            session=session, session_owner=False, connection_verify=str(graph_server.cert)
        ),
    )
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    transport = httpx.AsyncHTTPTransport(verify=graph_server.ssl_context())
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport, trust_env=False)
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{graph_server.base_url}/v1.0"
    yield GraphServiceClient(request_adapter=adapter)
    await http.aclose()
    await transport.aclose()
    session.close()


async def test_sdk_registers_an_app_reads_it_back_and_its_new_secret_gets_a_token(
    client: GraphServiceClient, graph_server: Server
) -> None:
    scope_id = str(uuid.uuid4())
    created = await client.applications.post(
        Application(
            display_name="Made by the SDK",
            web=WebApplication(redirect_uris=["https://sdk.example/callback"]),
            identifier_uris=[f"api://sdk-{uuid.uuid4().hex[:8]}"],
            api=ApiApplication(
                oauth2_permission_scopes=[
                    PermissionScope(
                        id=uuid.UUID(scope_id),
                        value="Notes.Read",
                        is_enabled=True,
                        type="User",
                        admin_consent_display_name="Read notes",
                        admin_consent_description="Read the user's notes",
                    )
                ]
            ),
        )
    )
    assert created is not None
    assert created.id is not None
    assert created.app_id is not None
    got = await client.applications.by_application_id(created.id).get()
    assert got is not None
    assert got.display_name == "Made by the SDK"
    assert got.web is not None
    assert got.web.redirect_uris == ["https://sdk.example/callback"]
    assert got.is_fallback_public_client is False
    assert got.api is not None
    assert [s.value for s in got.api.oauth2_permission_scopes or []] == ["Notes.Read"]
    secret = await client.applications.by_application_id(created.id).add_password.post(
        AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="sdk"))
    )
    assert secret is not None
    assert secret.secret_text is not None
    REGISTRY.secret(secret.secret_text, "client secret")
    tenant = graph_server.demo_credentials()["TenantID"]
    caller = Caller(graph_server, tenant, created.app_id, secret.secret_text)  # a token, or raises
    assert caller.request("GET", "/v1.0/organization").status_code == 200
    listed = await client.applications.get()
    assert listed is not None
    assert created.id in [a.id for a in listed.value or []]
    await client.applications.by_application_id(created.id).patch(
        Application(public_client=PublicClientApplication(redirect_uris=[]), display_name="Renamed")
    )
    renamed = await client.applications.by_application_id(created.id).get()
    assert renamed is not None
    assert renamed.display_name == "Renamed"
    await client.applications.by_application_id(created.id).delete()
    with pytest.raises(ODataError) as raised:
        await client.applications.by_application_id(created.id).get()
    assert raised.value.response_status_code == 404
    assert raised.value.error is not None
    assert raised.value.error.code == "Request_ResourceNotFound"
