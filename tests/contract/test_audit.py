"""The audit log: records per tenant, newest first, details as they were given."""

from __future__ import annotations

import pytest

from guestgate.domain.audit import AuditRecord
from tests.contract.builders import UowFactory, at, make_tenant

pytestmark = pytest.mark.anyio


async def test_list_returns_a_tenants_records_newest_first(make_uow: UowFactory) -> None:
    tenant, other = make_tenant().id, make_tenant().id
    async with make_uow() as uow:
        await uow.audit.record(tenant_id=tenant, action="tenant.create", created_at=at(1))
        await uow.audit.record(
            tenant_id=tenant,
            action="invitation.create",
            created_at=at(2),
            app_id="00000000-0000-0000-0000-00000000000a",
            actor="boss@example.com",
            target="user-1",
            request_id="r-1",
            details={"b": [1, 2], "a": {"nested": None}, "empty": ""},
        )
        await uow.audit.record(tenant_id=other, action="tenant.create", created_at=at(3))
        await uow.commit()
    async with make_uow(write=False) as uow:
        records = await uow.audit.list(tenant, limit=10)
        assert [r.action for r in await uow.audit.list(tenant, limit=1)] == ["invitation.create"]
        assert [r.tenant_id for r in await uow.audit.list(other, limit=10)] == [other]
    newest, oldest = records
    assert newest.id > oldest.id
    assert newest == AuditRecord(
        id=newest.id,
        tenant_id=tenant,
        app_id="00000000-0000-0000-0000-00000000000a",
        actor="boss@example.com",
        action="invitation.create",
        target="user-1",
        request_id="r-1",
        details={"a": {"nested": None}, "b": [1, 2], "empty": ""},
        created_at=at(2),
    )
    assert oldest == AuditRecord(
        id=oldest.id,
        tenant_id=tenant,
        app_id=None,
        actor=None,
        action="tenant.create",
        target=None,
        request_id=None,
        details=None,
        created_at=at(1),
    )
