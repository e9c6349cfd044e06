"""The tenant's logo image and Microsoft 365 mode's invitation ids, on SQLite and PostgreSQL:
stored, replaced, removed and read back byte for byte; an id recorded twice is kept once;
concurrent uploads leave exactly one of the images, whole, with its own ETag."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.branding import check_logo
from guestgate.domain.timestamps import utcnow
from guestgate.errors import ValidationError
from guestgate.services import tenants
from tests.contract.builders import committed, make_tenant

pytestmark = pytest.mark.anyio
UowFactory = Callable[..., SqlUnitOfWork]


def image(fill: int, size: int = 4096) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes([fill]) * size


async def test_a_logo_is_stored_replaced_and_removed(uow: UowFactory) -> None:
    tenant = make_tenant()
    await committed(uow, tenant)
    first = await tenants.set_logo(uow(), tenant_ref=tenant.id, data=image(1), now=utcnow())
    assert first.logo_etag == check_logo(image(1)).etag
    stored = await tenants.logo(uow(write=False), tenant.id)
    assert stored is not None
    assert stored.data == image(1)
    assert stored.content_type == "image/png"
    async with uow(write=False) as work:
        read = await work.tenants.get(tenant.id)
    assert read is not None
    assert read.logo_etag == first.logo_etag
    await tenants.set_logo(uow(), tenant_ref=tenant.id, data=image(2, 256 * 1024 - 8), now=utcnow())
    replaced = await tenants.logo(uow(write=False), tenant.id)
    assert replaced is not None
    assert replaced.data == image(2, 256 * 1024 - 8)
    await tenants.set_logo(uow(), tenant_ref=tenant.id, data=None, now=utcnow())
    assert await tenants.logo(uow(write=False), tenant.id) is None
    async with uow(write=False) as work:
        gone = await work.tenants.get(tenant.id)
        audit = [
            a for a in await work.audit.list(tenant.id, limit=10) if a.action == "tenant.update"
        ]
    assert gone is not None
    assert gone.logo_etag is None
    assert len(audit) == 3


@pytest.mark.parametrize("bad", [b"<svg/>", b"", image(0, 256 * 1024)])
async def test_a_bad_file_stores_nothing(uow: UowFactory, bad: bytes) -> None:
    tenant = make_tenant()
    await committed(uow, tenant)
    await tenants.set_logo(uow(), tenant_ref=tenant.id, data=image(7), now=utcnow())
    with pytest.raises(ValidationError):
        await tenants.set_logo(uow(), tenant_ref=tenant.id, data=bad, now=utcnow())
    kept = await tenants.logo(uow(write=False), tenant.id)
    assert kept is not None
    assert kept.data == image(7)


async def test_concurrent_uploads_leave_one_whole_image(uow: UowFactory) -> None:
    tenant = make_tenant()
    await committed(uow, tenant)
    files = [image(fill) for fill in range(1, 9)]
    answers = await asyncio.gather(
        *(tenants.set_logo(uow(), tenant_ref=tenant.id, data=f, now=utcnow()) for f in files)
    )
    stored = await tenants.logo(uow(write=False), tenant.id)
    assert stored is not None
    assert stored.data in files
    assert stored.etag == check_logo(stored.data).etag
    assert stored.etag in {a.logo_etag for a in answers}


async def test_graph_invitation_ids_are_kept_once_per_tenant(uow: UowFactory) -> None:
    tenant_id, other, invitation, user = (str(uuid.uuid4()) for _ in range(4))
    async with uow() as work:
        await work.graph_invitations.add(tenant_id, invitation, user, now="2026-12-02T00:00:00Z")
        await work.graph_invitations.add(
            tenant_id, invitation, str(uuid.uuid4()), now="2026-12-02T00:00:01Z"
        )
        await work.commit()
    async with uow(write=False) as work:
        assert await work.graph_invitations.user_id(tenant_id, invitation) == user
        assert await work.graph_invitations.user_id(other, invitation) is None
        assert await work.graph_invitations.user_id(tenant_id, user) is None
