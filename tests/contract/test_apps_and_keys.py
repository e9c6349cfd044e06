"""App registrations with their secrets, and signing keys."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.contract.builders import (
    UowFactory,
    at,
    committed,
    make_app,
    make_key,
    make_secret,
    make_tenant,
)

pytestmark = pytest.mark.anyio


async def test_apps_read_back_and_list_per_tenant_oldest_first(make_uow: UowFactory) -> None:
    tenant, other = make_tenant(), make_tenant()
    await committed(make_uow, tenant, other)
    late = make_app(tenant.id, created_at=at(2), permissions=(), enabled=False)
    early = make_app(tenant.id, created_at=at(1))
    elsewhere = make_app(other.id)
    async with make_uow() as uow:
        for app in (late, elsewhere, early):
            await uow.apps.add(app)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.apps.get(early.id) == early
        assert await uow.apps.get(late.id) == late
        assert await uow.apps.get(make_app(tenant.id).id) is None
        assert await uow.apps.list(tenant.id) == [early, late]
        assert await uow.apps.list(other.id) == [elsewhere]


async def test_secrets_are_listed_hashed_and_removed_per_app(make_uow: UowFactory) -> None:
    tenant = make_tenant()
    await committed(make_uow, tenant)
    app, other_app = make_app(tenant.id), make_app(tenant.id)
    second = make_secret(app.id, created_at=at(2), expires_at=at(90))
    first = make_secret(app.id, created_at=at(1))
    async with make_uow() as uow:
        await uow.apps.add(app)
        await uow.apps.add(other_app)
        await uow.apps.add_secret(second, "hash-2")
        await uow.apps.add_secret(first, "hash-1")
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.apps.list_secrets(app.id) == [first, second]
        assert await uow.apps.list_secrets(other_app.id) == []
        assert sorted(await uow.apps.secret_hashes(app.id)) == [
            ("hash-1", first.expires_at),
            ("hash-2", at(90)),
        ]
    async with make_uow() as uow:
        assert not await uow.apps.remove_secret(other_app.id, first.id)
        assert await uow.apps.remove_secret(app.id, first.id)
        assert not await uow.apps.remove_secret(app.id, first.id)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.apps.list_secrets(app.id) == [second]
        assert await uow.apps.secret_hashes(app.id) == [("hash-2", at(90))]


async def test_keys_list_newest_first_and_keep_their_sealed_private_half(
    make_uow: UowFactory,
) -> None:
    old, new = make_key(kid="k-old", created_at=at(1)), make_key(kid="k-new", created_at=at(2))
    async with make_uow() as uow:
        assert await uow.keys.list() == []
        await uow.keys.add(old, "sealed-old")
        await uow.keys.add(new, "sealed-new")
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.keys.list() == [new, old]
        assert await uow.keys.sealed_private_key("k-old") == "sealed-old"
        assert await uow.keys.sealed_private_key("k-none") is None


async def test_set_retire_at_only_brings_retirement_forward(make_uow: UowFactory) -> None:
    key = make_key()
    async with make_uow() as uow:
        await uow.keys.add(key, "sealed")
        await uow.keys.set_retire_at(key.kid, at(100))
        await uow.keys.set_retire_at(key.kid, at(200))  # later: ignored
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.keys.list() == [replace(key, retire_at=at(100))]
    async with make_uow() as uow:
        await uow.keys.set_retire_at(key.kid, at(50))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.keys.list() == [replace(key, retire_at=at(50))]


async def test_sign_in_registration_reads_back_and_changes(make_uow: UowFactory) -> None:
    tenant = make_tenant()
    await committed(make_uow, tenant)
    app = make_app(
        tenant.id,
        permissions=(),
        redirect_uris=("https://app.example/callback", "http://localhost/cb"),
        public_client=True,
        app_id_uri="api://reports",
        api_scopes=("read", "write"),
    )
    plain = make_app(tenant.id)
    async with make_uow() as uow:
        await uow.apps.add(app)
        await uow.apps.add(plain)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.apps.get(app.id) == app
        assert await uow.apps.get(plain.id) == plain
        assert await uow.apps.get_by_app_id_uri(tenant.id, "api://reports") == app
        assert await uow.apps.get_by_app_id_uri(tenant.id, "api://REPORTS") is None
        assert await uow.apps.get_by_app_id_uri(make_tenant().id, "api://reports") is None
    async with make_uow() as uow:
        await uow.apps.set_sign_in(
            app.id, redirect_uris=["https://app.example/two"], app_id_uri=None, api_scopes=[]
        )
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.apps.get(app.id) == replace(
            app, redirect_uris=("https://app.example/two",), app_id_uri=None, api_scopes=()
        )


async def test_an_application_id_uri_is_unique_in_a_tenant(make_uow: UowFactory) -> None:
    from guestgate.errors import IntegrityError

    tenant, other = make_tenant(), make_tenant()
    await committed(make_uow, tenant, other)
    async with make_uow() as uow:
        await uow.apps.add(make_app(tenant.id, app_id_uri="api://x"))
        await uow.apps.add(make_app(other.id, app_id_uri="api://x"))
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.apps.add(make_app(tenant.id, app_id_uri="api://x"))


async def test_apps_page_by_keyset_are_found_by_object_id_updated_and_deleted(
    make_uow: UowFactory,
) -> None:
    tenant, other = make_tenant(), make_tenant()
    await committed(make_uow, tenant, other)
    apps = [make_app(tenant.id, created_at=at(n % 2)) for n in range(5)]
    apps.sort(key=lambda a: (a.created_at, a.id))
    stranger = make_app(other.id)
    async with make_uow() as uow:
        for app in [*apps, stranger]:
            await uow.apps.add(app)
        await uow.apps.add_secret(make_secret(apps[0].id), "hash-0")
        await uow.commit()
    async with make_uow(write=False) as uow:
        first = await uow.apps.list(tenant.id, limit=2)
        assert first == apps[:2]
        last = first[-1]
        rest = await uow.apps.list(tenant.id, after=(last.created_at, last.id), limit=10)
        assert rest == apps[2:]
        assert await uow.apps.get_by_object_id(tenant.id, apps[3].object_id) == apps[3]
        assert await uow.apps.get_by_object_id(tenant.id, stranger.object_id) is None
    changed = replace(
        apps[0],
        name="Renamed",
        redirect_uris=("https://a.example/cb", "http://localhost/cb"),
        public_client=True,
        app_id_uri="api://renamed",
        api_scopes=("Notes.Read",),
    )
    async with make_uow() as uow:
        await uow.apps.update(changed)
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.apps.get(apps[0].id) == changed
        assert await uow.apps.delete(apps[0].id)
        assert not await uow.apps.delete(apps[0].id)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.apps.get(apps[0].id) is None
        assert await uow.apps.list_secrets(apps[0].id) == []  # the secrets went with it
        assert await uow.apps.list(tenant.id) == apps[1:]
