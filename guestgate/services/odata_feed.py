"""The OData feed of GT365's Power BI tables: read a page, count, and the Basic sign-in."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, Self

from guestgate.domain.apps import App, hash_secret
from guestgate.domain.odata_feed import FeedQuery, FeedRow
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import iso
from guestgate.errors import AuthenticationError
from guestgate.services.ports import AppRepository

MAX_CLIENT_ID = 100
MAX_SECRET = 512
_DUMMY_HASH = "0" * 64


class FeedReader(Protocol):
    async def page(self, tenant_id: str, query: FeedQuery) -> Sequence[FeedRow]: ...
    async def count(self, tenant_id: str, query: FeedQuery) -> int: ...


class FeedUnitOfWork(Protocol):
    """The part of the unit of work the feed reads through."""

    @property
    def odata_feed(self) -> FeedReader: ...
    @property
    def apps(self) -> AppRepository: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc_info: object) -> None: ...


async def read_page(
    uow: FeedUnitOfWork, *, tenant_id: str, query: FeedQuery
) -> tuple[Sequence[FeedRow], int | None]:
    """One page of the tenant's rows (and one more when more follow), with the total if asked."""
    async with uow:
        rows = await uow.odata_feed.page(tenant_id, query)
        total = await uow.odata_feed.count(tenant_id, query) if query.count else None
    return rows, total


async def count(uow: FeedUnitOfWork, *, tenant_id: str, query: FeedQuery) -> int:
    """How many of the tenant's rows match the query's filter."""
    async with uow:
        return await uow.odata_feed.count(tenant_id, query)


async def authenticate_app(
    uow: FeedUnitOfWork, *, client_id: str, client_secret: str, hash_key: bytes, now: datetime
) -> App:
    """The app whose id and current client secret these are (HTTP Basic, as Power BI sends
    them); any failure is one AuthenticationError that does not say which part was wrong."""
    refused = AuthenticationError(
        "The app id or client secret is wrong, expired, or the app is disabled.",
        code="InvalidAuthenticationToken",
    )
    client_id = client_id.strip().lower()
    if len(client_id) > MAX_CLIENT_ID or len(client_secret) > MAX_SECRET:
        raise refused
    async with uow:
        app = await uow.apps.get(client_id) if is_guid(client_id) else None
        hashes = await uow.apps.secret_hashes(app.id) if app is not None else []
    presented = hash_secret(hash_key, client_secret)
    if app is None:
        # The same work as a real check, so response times do not tell which ids exist.
        hmac.compare_digest(presented, _DUMMY_HASH)
        raise refused
    current = [
        expires
        for stored, expires in hashes
        if hmac.compare_digest(presented, stored) and expires > iso(now)
    ]
    if not current or not app.enabled:
        raise refused
    return app
