"""The sign-in store on SQLite and PostgreSQL: single use under races, families, retention."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.signin import AuthorizationCode, Challenge, RefreshToken, SignInSession
from guestgate.domain.timestamps import iso
from guestgate.domain.users import MEMBER, User
from tests.contract.builders import committed, make_app, make_tenant

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _user(tenant_id: str) -> User:
    key = f"u{uuid.uuid4().hex[:8]}@contoso.example"
    return User(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        user_type=MEMBER,
        display_name="U",
        mail=key,
        email_key=key,
        user_principal_name=key,
        external_user_state=None,
        external_user_state_changed_at=None,
        creation_type=None,
        created_at=iso(NOW),
    )


async def _setup(url: str) -> tuple[object, str, str, str]:
    db = connect(url, pool_size=4)
    tenant = make_tenant()
    await committed(lambda write=True: SqlUnitOfWork(db, write=write), tenant)
    app, user = make_app(tenant.id), _user(tenant.id)
    async with SqlUnitOfWork(db) as uow:
        await uow.apps.add(app)
        await uow.users.add_if_absent(user)
        await uow.commit()
    return db, tenant.id, app.id, user.id


def _code(app_id: str, user_id: str, expires: datetime) -> AuthorizationCode:
    return AuthorizationCode(
        app_id=app_id,
        user_id=user_id,
        sid=str(uuid.uuid4()),
        redirect_uri="https://app.example/cb",
        scope="openid",
        nonce=None,
        code_challenge=None,
        auth_time=iso(NOW),
        expires_at=iso(expires),
    )


def _refresh(app_id: str, user_id: str, family: str, expires: datetime) -> RefreshToken:
    return RefreshToken(
        family_id=family,
        app_id=app_id,
        user_id=user_id,
        sid=str(uuid.uuid4()),
        scope="openid offline_access",
        auth_time=iso(NOW),
        created_at=iso(NOW),
        expires_at=iso(expires),
    )


async def test_parallel_uses_of_one_code_and_one_refresh_token_have_one_winner(
    database_url: str,
) -> None:
    db, _, app_id, user_id = await _setup(database_url)
    try:
        async with SqlUnitOfWork(db) as uow:
            await uow.signin.add_code("c" * 64, _code(app_id, user_id, NOW + timedelta(minutes=10)))
            await uow.signin.add_refresh_token(
                "r" * 64, _refresh(app_id, user_id, "f1", NOW + timedelta(days=1))
            )
            await uow.commit()

        async def use_code(i: int) -> bool:
            async with SqlUnitOfWork(db) as uow:
                won = await uow.signin.use_code("c" * 64, family_id=f"fam-{i}", now=iso(NOW))
                await uow.commit()
                return won

        async def rotate() -> bool:
            async with SqlUnitOfWork(db) as uow:
                won = await uow.signin.rotate_refresh_token("r" * 64, iso(NOW))
                await uow.commit()
                return won

        codes = await asyncio.gather(*(use_code(i) for i in range(6)))
        rotations = await asyncio.gather(*(rotate() for _ in range(6)))
        assert codes.count(True) == 1
        assert rotations.count(True) == 1
        async with SqlUnitOfWork(db, write=False) as uow:
            stored = await uow.signin.get_code("c" * 64)
            token = await uow.signin.get_refresh_token("r" * 64)
        # The database agrees with the one winner: used once, by the family it named.
        assert stored is not None
        assert stored.used_at == iso(NOW)
        assert stored.family_id == f"fam-{codes.index(True)}"
        assert token is not None
        assert token.used_at == iso(NOW)
    finally:
        await db.close()  # type: ignore[attr-defined]


async def test_revoking_a_family_ends_every_token_in_it_only(database_url: str) -> None:
    db, _, app_id, user_id = await _setup(database_url)
    try:
        later = NOW + timedelta(days=1)
        async with SqlUnitOfWork(db) as uow:
            for name, family in (("a", "f1"), ("b", "f1"), ("c", "f2")):
                await uow.signin.add_refresh_token(
                    name * 64, _refresh(app_id, user_id, family, later)
                )
            assert await uow.signin.revoke_family("f1", iso(NOW)) == 2
            await uow.commit()
        async with SqlUnitOfWork(db) as uow:
            assert not await uow.signin.rotate_refresh_token("a" * 64, iso(NOW))
            assert not await uow.signin.rotate_refresh_token("b" * 64, iso(NOW))
            assert await uow.signin.rotate_refresh_token("c" * 64, iso(NOW))
            assert await uow.signin.family_revoked("f1")
            assert not await uow.signin.family_revoked("f2")
    finally:
        await db.close()  # type: ignore[attr-defined]


async def test_activity_keeps_the_last_success_through_failures(database_url: str) -> None:
    db, _, _, user_id = await _setup(database_url)
    try:
        for minute, success in ((1, True), (2, False)):
            async with SqlUnitOfWork(db) as uow:
                at = iso(NOW + timedelta(minutes=minute))
                await uow.signin.record_activity(user_id, now=at, success=success)
                await uow.commit()
        async with SqlUnitOfWork(db, write=False) as uow:
            activity = await uow.signin.activity([user_id, str(uuid.uuid4())])
        assert activity == {
            user_id: (iso(NOW + timedelta(minutes=2)), iso(NOW + timedelta(minutes=1)))
        }
    finally:
        await db.close()  # type: ignore[attr-defined]


async def test_retention_removes_what_can_no_longer_be_used(database_url: str) -> None:
    db, tenant_id, app_id, user_id = await _setup(database_url)
    old, soon = NOW - timedelta(days=40), NOW + timedelta(minutes=5)
    try:
        async with SqlUnitOfWork(db) as uow:
            for name, expires in (("x", NOW - timedelta(minutes=1)), ("y", soon)):
                await uow.signin.add_challenge(
                    Challenge(
                        challenge_hash=name * 64,
                        tenant_id=tenant_id,
                        user_id=user_id,
                        request="sealed",
                        code_hash=None,
                        code_expires_at=None,
                        code_attempts=0,
                        codes_sent=0,
                        last_code_at=None,
                        created_at=iso(NOW - timedelta(minutes=31)),
                        expires_at=iso(expires),
                    )
                )
            for name, expires in (("o", old), ("n", soon)):
                await uow.signin.add_session(
                    SignInSession(
                        session_hash=name * 64,
                        sid=str(uuid.uuid4()),
                        tenant_id=tenant_id,
                        user_id=user_id,
                        auth_time=iso(NOW),
                        expires_at=iso(expires),
                        ended_at=None,
                    )
                )
                await uow.signin.add_code(name * 64, _code(app_id, user_id, expires))
                await uow.signin.add_refresh_token(
                    name * 64, _refresh(app_id, user_id, "f", expires)
                )
            await uow.commit()
        async with SqlUnitOfWork(db) as uow:
            removed = await uow.signin.purge(now=iso(NOW), before=iso(NOW - timedelta(days=30)))
            await uow.commit()
        assert removed == 4
        async with SqlUnitOfWork(db, write=False) as uow:
            assert await uow.signin.get_challenge("x" * 64) is None
            assert await uow.signin.get_challenge("y" * 64) is not None
            assert await uow.signin.get_session("o" * 64) is None
            assert await uow.signin.get_session("n" * 64) is not None
            assert await uow.signin.get_code("n" * 64) is not None
            assert await uow.signin.get_refresh_token("o" * 64) is None
    finally:
        await db.close()  # type: ignore[attr-defined]
