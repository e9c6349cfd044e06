"""Tenants, apps, secrets, keys and the client-credentials grant on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest

from guestgate.adapters.sealing import Sealer, secret_hash_key
from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.apps import INVITE, READ_USERS
from guestgate.domain.timestamps import utcnow
from guestgate.errors import Conflict, NotFound, OAuthError
from guestgate.services import apps, keys, tenants
from guestgate.services.tokens import issue_token

pytestmark = pytest.mark.anyio
UowFactory = Callable[..., SqlUnitOfWork]
SECRET_KEY = secrets.token_bytes(32)
HASH_KEY = secret_hash_key(SECRET_KEY)
SEALER = Sealer(SECRET_KEY)
PUBLIC_URL = "https://id.test"


async def make_tenant(uow: UowFactory, domain: str = "contoso.example") -> tenants.Tenant:
    return await tenants.create_tenant(uow(), name="Contoso", domains=[domain], now=utcnow())


async def make_app(
    uow: UowFactory, tenant_ref: str, lifetime: timedelta = timedelta(days=30)
) -> tuple[apps.App, apps.NewSecret]:
    return await apps.create_app(
        uow(),
        tenant_ref=tenant_ref,
        name="automation",
        permissions=[INVITE, READ_USERS],
        secret_lifetime=lifetime,
        hash_key=HASH_KEY,
        now=utcnow(),
    )


async def token_for(
    uow: UowFactory,
    tenant_ref: str,
    client_id: str,
    secret: str,
    scope: str = "https://graph.microsoft.com/.default",
    now_shift: timedelta = timedelta(),
) -> str:
    await keys.ensure_signing_key(uow(), sealer=SEALER, now=utcnow())
    key_set = await keys.load_key_set(uow(write=False), sealer=SEALER, now=utcnow())
    issued = await issue_token(
        uow(write=False),
        tenant_ref=tenant_ref,
        client_id=client_id,
        client_secret=secret,
        scope=scope,
        hash_key=HASH_KEY,
        keys=key_set,
        public_url=PUBLIC_URL,
        now=utcnow() + now_shift,
        lifetime=3600,
    )
    return issued.access_token


async def test_tenant_is_found_by_id_and_by_any_domain(uow: UowFactory) -> None:
    tenant = await tenants.create_tenant(
        uow(), name="Contoso", domains=["contoso.example", "Contoso.ORG"], now=utcnow()
    )
    assert tenant.domains == ("contoso.example", "contoso.org")
    for ref in (tenant.id, tenant.id.upper(), "contoso.org", "CONTOSO.example"):
        assert (await tenants.get_tenant(uow(write=False), ref)).id == tenant.id
    with pytest.raises(NotFound):
        await tenants.get_tenant(uow(write=False), "fabrikam.example")


async def test_a_domain_belongs_to_one_tenant(uow: UowFactory) -> None:
    await make_tenant(uow)
    with pytest.raises(Conflict):
        await tenants.create_tenant(uow(), name="Other", domains=["contoso.example"], now=utcnow())
    assert len(await tenants.list_tenants(uow(write=False))) == 1


async def test_app_secret_is_stored_only_as_a_hash(uow: UowFactory, db: Database) -> None:
    tenant = await make_tenant(uow)
    app, secret = await make_app(uow, tenant.id)
    tx = await db.begin(write=False)
    try:
        rows = await tx.fetchall("SELECT * FROM client_secrets")
        keys_rows = await tx.fetchall("SELECT * FROM signing_keys")
    finally:
        await tx.rollback()
    dump = repr([dict(r) for r in rows]) + repr([dict(r) for r in keys_rows])
    assert secret.value not in dump
    assert secret.value[3:20] not in dump
    assert "PRIVATE KEY" not in dump
    listed = await apps.list_secrets(uow(write=False), tenant_ref=tenant.id, app_id=app.id)
    assert [s.hint for s in listed] == [secret.value[3:6]]


async def test_client_credentials_token_has_entra_claims(uow: UowFactory) -> None:
    tenant = await make_tenant(uow)
    app, secret = await make_app(uow, "contoso.example")
    token = await token_for(uow, "contoso.example", app.id, secret.value)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256"
    assert header["kid"]
    assert claims["iss"] == f"{PUBLIC_URL}/{tenant.id}/v2.0"
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == tenant.id
    assert claims["appid"] == claims["azp"] == app.id
    assert claims["oid"] == claims["sub"] == app.object_id != app.id
    assert claims["roles"] == [INVITE, READ_USERS]
    assert claims["idtyp"] == "app"
    assert claims["exp"] - claims["iat"] == 3600


async def test_token_failures_carry_aadsts_codes(uow: UowFactory) -> None:
    tenant = await make_tenant(uow)
    other = await make_tenant(uow, "fabrikam.example")
    app, secret = await make_app(uow, tenant.id)
    foreign_app, foreign_secret = await make_app(uow, other.id)
    cases = [
        (dict(client_id=app.id, secret="gg_wrong"), "invalid_client", 7000215),
        (
            dict(client_id="00000000-0000-0000-0000-000000000000", secret=secret.value),
            "invalid_client",
            700016,
        ),
        (dict(client_id="not-a-guid", secret=secret.value), "invalid_client", 700016),
        (dict(client_id=foreign_app.id, secret=foreign_secret.value), "invalid_client", 700016),
        (dict(client_id=app.id, secret=secret.value, scope="User.Read"), "invalid_scope", 1002012),
        (dict(client_id=app.id, secret=secret.value, scope="openid"), "invalid_scope", 1002012),
        (dict(client_id=app.id, secret=secret.value, scope=""), "invalid_scope", 1002012),
        (
            dict(client_id=app.id, secret=secret.value, scope="https://evil.test/.default"),
            "invalid_resource",
            500011,
        ),
        (
            dict(client_id=app.id, secret=secret.value, tenant_ref="nowhere.example"),
            "invalid_request",
            90002,
        ),
        (
            dict(client_id=app.id, secret=secret.value, tenant_ref="common"),
            "invalid_request",
            50059,
        ),
    ]
    for case, error, aadsts in cases:
        with pytest.raises(OAuthError) as info:
            await token_for(
                uow,
                str(case.get("tenant_ref", tenant.id)),
                str(case["client_id"]),
                str(case["secret"]),
                scope=str(case.get("scope", "https://graph.microsoft.com/.default")),
            )
        assert (info.value.error, info.value.aadsts) == (error, aadsts), case


async def test_expired_secret_is_refused_and_rotation_works(uow: UowFactory) -> None:
    tenant = await make_tenant(uow)
    app, old = await make_app(uow, tenant.id, lifetime=timedelta(days=1))
    with pytest.raises(OAuthError) as info:
        await token_for(uow, tenant.id, app.id, old.value, now_shift=timedelta(days=2))
    assert info.value.aadsts == 7000222
    new = await apps.add_secret(
        uow(),
        tenant_ref=tenant.id,
        app_id=app.id,
        display_name="rotated",
        lifetime=timedelta(days=90),
        hash_key=HASH_KEY,
        now=utcnow(),
    )
    assert await token_for(uow, tenant.id, app.id, old.value)
    assert await token_for(uow, tenant.id, app.id, new.value)
    await apps.remove_secret(
        uow(), tenant_ref=tenant.id, app_id=app.id, secret_id=old.secret.id, now=utcnow()
    )
    with pytest.raises(OAuthError):
        await token_for(uow, tenant.id, app.id, old.value)
    assert await token_for(uow, tenant.id, app.id, new.value)
    with pytest.raises(NotFound):
        await apps.remove_secret(
            uow(), tenant_ref=tenant.id, app_id=app.id, secret_id=old.secret.id, now=utcnow()
        )


async def test_rotation_keeps_the_previous_key_until_it_retires(uow: UowFactory) -> None:
    await keys.ensure_signing_key(uow(), sealer=SEALER, now=utcnow())
    first = await keys.load_key_set(uow(write=False), sealer=SEALER, now=utcnow())
    await keys.rotate_keys(uow(), sealer=SEALER, now=utcnow(), token_lifetime=3600, leeway=300)
    second = await keys.load_key_set(uow(write=False), sealer=SEALER, now=utcnow())
    assert second.signing_kid != first.signing_kid
    assert set(second.public_keys) == {first.signing_kid, second.signing_kid}
    later = await keys.load_key_set(
        uow(write=False), sealer=SEALER, now=utcnow() + timedelta(seconds=3901)
    )
    assert set(later.public_keys) == {second.signing_kid}
    await keys.rotate_keys(
        uow(),
        sealer=SEALER,
        now=utcnow(),
        token_lifetime=3600,
        leeway=300,
        retire_previous_now=True,
    )
    third = await keys.load_key_set(uow(write=False), sealer=SEALER, now=utcnow())
    assert set(third.public_keys) == {third.signing_kid}


async def test_wrong_server_key_cannot_open_signing_keys(uow: UowFactory) -> None:
    from guestgate.errors import ConfigError

    await keys.ensure_signing_key(uow(), sealer=SEALER, now=utcnow())
    with pytest.raises(ConfigError, match="GUESTGATE_SECRET_KEY"):
        await keys.load_key_set(
            uow(write=False), sealer=Sealer(secrets.token_bytes(32)), now=utcnow()
        )
