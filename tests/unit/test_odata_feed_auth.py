"""The feed's HTTP Basic sign-in: an app's id and one of its current secrets, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Self

import pytest

from guestgate.domain.apps import App, ClientSecret, hash_secret
from guestgate.domain.odata_feed import FeedQuery, FeedRow
from guestgate.errors import AuthenticationError
from guestgate.services.odata_feed import authenticate_app
from tests.fakes import FakeAppRepository, FakeStore

KEY = b"k" * 32
NOW = datetime(2026, 6, 1, tzinfo=UTC)
APP_ID = "5d0c2b9e-3f0a-4c39-9a52-1d4b3c2a1f00"


class NoRows:
    async def page(self, tenant_id: str, query: FeedQuery) -> Sequence[FeedRow]:
        return []

    async def count(self, tenant_id: str, query: FeedQuery) -> int:
        return 0


class FeedUow:
    def __init__(self, store: FakeStore) -> None:
        self.apps = FakeAppRepository(store)
        self.odata_feed = NoRows()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def store_with(*, enabled: bool = True, expires: str = "2027-01-01T00:00:00.000000Z") -> FakeStore:
    store = FakeStore()
    store.apps[APP_ID] = App(
        id=APP_ID,
        object_id="0b6f3a0e-6f41-4a7e-8d8b-6c1f2e9d3a11",
        tenant_id="tenant-a",
        name="Power BI",
        permissions=("AuditLog.Read.All",),
        created_at="2026-01-01T00:00:00.000000Z",
        enabled=enabled,
    )
    secret = ClientSecret(
        id="s1",
        app_id=APP_ID,
        hint="gg_",
        display_name="secret",
        created_at="2026-01-01T00:00:00.000000Z",
        expires_at=expires,
    )
    store.secrets["s1"] = (secret, hash_secret(KEY, "gg_right"))
    return store


async def sign_in(store: FakeStore, client_id: str, secret: str) -> App:
    return await authenticate_app(
        FeedUow(store), client_id=client_id, client_secret=secret, hash_key=KEY, now=NOW
    )


@pytest.mark.anyio
async def test_the_apps_id_and_current_secret_sign_in() -> None:
    app = await sign_in(store_with(), APP_ID, "gg_right")
    assert app.tenant_id == "tenant-a"
    # The id as the token endpoint reads it: case and surrounding space do not count.
    assert (await sign_in(store_with(), f" {APP_ID.upper()} ", "gg_right")).id == APP_ID


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("store", "client_id", "secret"),
    [
        (store_with(), APP_ID, "gg_wrong"),
        (store_with(), "0b6f3a0e-0000-4a7e-8d8b-6c1f2e9d3a11", "gg_right"),
        (store_with(), "not-a-guid", "gg_right"),
        (store_with(), APP_ID, "gg_right" + "x" * 600),
        (store_with(expires="2026-05-31T00:00:00.000000Z"), APP_ID, "gg_right"),
        (store_with(enabled=False), APP_ID, "gg_right"),
    ],
    ids=["wrong secret", "unknown app", "not an id", "overlong", "expired", "disabled"],
)
async def test_every_failure_is_one_answer(store: FakeStore, client_id: str, secret: str) -> None:
    with pytest.raises(AuthenticationError) as refused:
        await sign_in(store, client_id, secret)
    assert refused.value.message == (
        "The app id or client secret is wrong, expired, or the app is disabled."
    )
