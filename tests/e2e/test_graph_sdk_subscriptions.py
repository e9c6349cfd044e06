"""Microsoft's Graph SDK (msgraph-sdk) subscribes to user changes on guestgate, renews and
deletes its subscription, and receives the notification of a guest it invites."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
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
from msgraph.generated.models.invitation import Invitation
from msgraph.generated.models.subscription import Subscription
from msgraph_core import GraphClientFactory

from tests.e2e.server import Server
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def graph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("graph-subscriptions")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        tls=True,
        extra_env={"GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true"},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def client(graph_server: Server) -> AsyncIterator[GraphServiceClient]:
    creds = graph_server.demo_credentials()
    session = requests.Session()
    session.trust_env = False
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


async def test_the_sdk_subscribes_renews_deletes_and_reads_its_notifications(
    client: GraphServiceClient,
) -> None:
    receiver = Receiver().start()
    try:
        made = await client.subscriptions.post(
            Subscription(
                change_type="updated,deleted",
                notification_url=receiver.url,
                resource="/users",
                expiration_date_time=datetime.now(UTC) + timedelta(days=2),
                client_state="secretClientValue",
            )
        )
        assert made is not None
        assert made.id is not None
        assert made.client_state == "secretClientValue"
        invited = await client.invitations.post(
            Invitation(
                invited_user_email_address="sdk.subscriber@example.com",
                invite_redirect_url="https://example.com/welcome",
            )
        )
        assert invited is not None
        assert invited.invited_user is not None
        deadline = time.monotonic() + 20
        while not receiver.received:
            assert time.monotonic() < deadline, "no notification arrived"
            await asyncio.sleep(0.05)
        (item,) = json.loads(receiver.received[0].body)["value"]
        assert item["clientState"] == "secretClientValue"
        assert item["subscriptionId"] == made.id
        assert item["resource"] == f"Users/{invited.invited_user.id}"
        renewed = await client.subscriptions.by_subscription_id(made.id).patch(
            Subscription(expiration_date_time=datetime.now(UTC) + timedelta(days=10))
        )
        assert renewed is not None
        assert renewed.expiration_date_time is not None
        assert made.expiration_date_time is not None
        assert renewed.expiration_date_time > made.expiration_date_time
        listed = await client.subscriptions.get()
        assert listed is not None
        assert [s.id for s in listed.value or []] == [made.id]
        await client.subscriptions.by_subscription_id(made.id).delete()
        listed = await client.subscriptions.get()
        assert listed is not None
        assert listed.value == []
    finally:
        receiver.stop()
