"""Microsoft's Graph SDK for Python (msgraph-sdk) against guestgate's /v1.0 surface."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.invitation import Invitation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory
from msgraph_core.tasks.page_iterator import PageIterator

from tests.e2e.server import Caller, Server

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def graph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("graph")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def graph(
    graph_server: Server,
) -> AsyncIterator[tuple[GraphServiceClient, GraphRequestAdapter]]:
    creds = graph_server.demo_credentials()
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override the dev certificate
    credential = ClientSecretCredential(
        creds["TenantID"],
        creds["AppID"],
        creds["AppSecret"],
        authority=graph_server.base_url,
        disable_instance_discovery=True,
        transport=RequestsTransport(
            session=session, session_owner=False, connection_verify=str(graph_server.cert)
        ),
    )
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    # The factory wraps the client's transport; keep the inner one to close its connections.
    transport = httpx.AsyncHTTPTransport(verify=graph_server.ssl_context())
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport, trust_env=False)
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{graph_server.base_url}/v1.0"
    yield GraphServiceClient(request_adapter=adapter), adapter
    await http.aclose()
    await transport.aclose()
    session.close()


def guest_query(**params: Any) -> RequestConfiguration[Any]:
    config: RequestConfiguration[Any] = RequestConfiguration(
        query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(**params)
    )
    config.headers.add("ConsistencyLevel", "eventual")
    return config


async def test_sdk_creates_an_invitation(
    graph: tuple[GraphServiceClient, Any], graph_server: Server
) -> None:
    client, _ = graph
    created = await client.invitations.post(
        Invitation(
            invited_user_email_address="sdk.guest@example.com",
            invite_redirect_url="https://google.at",
            invited_user_display_name="SDK Guest",
        )
    )
    assert created is not None
    assert created.status == "PendingAcceptance"
    assert created.invited_user is not None
    assert created.invited_user.id
    assert created.invite_redeem_url.startswith(f"{graph_server.base_url}/redeem/?tenant=")
    assert created.invited_user_type == "Guest"
    # The same guest through the GT365 API: re-inviting returns the SDK's user id.
    again = Caller.demo(graph_server).invite({"invitedUserEmailAddress": "SDK.Guest@example.com"})
    assert again.json()["id"] == created.invited_user.id


async def test_sdk_lists_guests_with_filter_select_top_count(
    graph: tuple[GraphServiceClient, Any], graph_server: Server
) -> None:
    client, _ = graph
    caller = Caller.demo(graph_server)
    via_api = caller.invite({"invitedUserEmailAddress": "api.guest@example.com"}).json()
    page = await client.users.get(
        request_configuration=guest_query(
            filter="userType eq 'Guest'",
            select=["id", "mail", "userType", "externalUserState"],
            top=5,
            count=True,
        )
    )
    assert page is not None
    assert page.value is not None
    assert page.odata_count is not None
    assert page.odata_count >= 2
    assert all(u.user_type == "Guest" for u in page.value)
    assert via_api["id"] in {u.id for u in page.value}
    listed = next(u for u in page.value if u.id == via_api["id"])
    assert listed.mail == "api.guest@example.com"
    assert listed.external_user_state == "PendingAcceptance"
    assert listed.display_name is None  # not selected


async def test_sdk_page_iterator_walks_250_guests(
    graph: tuple[GraphServiceClient, Any], graph_server: Server
) -> None:
    client, adapter = graph
    caller = Caller.demo(graph_server)
    for i in range(250):
        response = caller.invite({"invitedUserEmailAddress": f"walk{i:03d}@walk.example"})
        assert response.status_code == 201
    first = await client.users.get(
        request_configuration=guest_query(
            filter="startswith(mail,'walk')", select=["id", "mail"], top=40
        )
    )
    seen: list[str] = []

    def collect(user: Any) -> bool:
        seen.append(user.mail)
        return True

    iterator = PageIterator(first, adapter)
    await iterator.iterate(collect)
    assert len(seen) == 250
    assert sorted(seen) == [f"walk{i:03d}@walk.example" for i in range(250)]


async def test_sdk_surfaces_errors_as_odata_error(graph: tuple[GraphServiceClient, Any]) -> None:
    client, _ = graph
    with pytest.raises(ODataError) as info:
        await client.users.get(
            request_configuration=guest_query(filter="userType eq 'Guest' or 1 eq 1")
        )
    assert info.value.error is not None
    assert info.value.error.code == "Request_UnsupportedQuery"
    with pytest.raises(ODataError) as missing:
        await client.users.by_user_id("00000000-0000-0000-0000-000000000000").get()
    assert missing.value.response_status_code == 404
    assert missing.value.error is not None
    assert missing.value.error.code == "Request_ResourceNotFound"
