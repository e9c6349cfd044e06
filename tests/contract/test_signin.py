"""Sign-in state: challenges, sessions, codes and refresh tokens used once, activity."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest

from guestgate.domain.apps import App
from guestgate.domain.signin import AuthorizationCode, Challenge, RefreshToken, SignInSession
from guestgate.domain.users import User
from guestgate.errors import IntegrityError
from tests.contract.builders import UowFactory, at, make_app, tenant_with_guest

pytestmark = pytest.mark.anyio


async def member_and_app(make_uow: UowFactory) -> tuple[User, App]:
    tenant, user = await tenant_with_guest(make_uow)
    app = make_app(tenant.id)
    async with make_uow() as uow:
        await uow.apps.add(app)
        await uow.commit()
    return user, app


def challenge(user: User, name: str = "ch1", *, created: float = 0) -> Challenge:
    return Challenge(
        challenge_hash=name,
        tenant_id=user.tenant_id,
        user_id=user.id,
        request="sealed-request",
        code_hash=None,
        code_expires_at=None,
        code_attempts=0,
        codes_sent=0,
        last_code_at=None,
        created_at=at(created),
        expires_at=at(created + 1800),
    )


def session(user: User, name: str = "se1") -> SignInSession:
    return SignInSession(
        session_hash=name,
        sid=str(uuid.uuid4()),
        tenant_id=user.tenant_id,
        user_id=user.id,
        auth_time=at(0),
        expires_at=at(86400),
        ended_at=None,
    )


def code(user: User, app: App, sid: str = "") -> AuthorizationCode:
    return AuthorizationCode(
        app_id=app.id,
        user_id=user.id,
        sid=sid or str(uuid.uuid4()),
        redirect_uri="https://app.example/callback",
        scope="openid profile",
        nonce="n-1",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        auth_time=at(0),
        expires_at=at(600),
    )


def refresh(user: User, app: App, family: str, *, expires: float = 86400) -> RefreshToken:
    return RefreshToken(
        family_id=family,
        app_id=app.id,
        user_id=user.id,
        sid=str(uuid.uuid4()),
        scope="openid offline_access",
        auth_time=at(0),
        created_at=at(0),
        expires_at=at(expires),
    )


async def test_a_challenge_starts_without_a_code_and_counts_its_codes(
    make_uow: UowFactory,
) -> None:
    user, _ = await member_and_app(make_uow)
    started = challenge(user)
    async with make_uow() as uow:
        await uow.signin.add_challenge(started)
        await uow.signin.set_challenge_code("ch1", code_hash="c1", expires_at=at(600), now=at(1))
        assert await uow.signin.count_challenge_attempt("ch1", 5)
        await uow.signin.set_challenge_code("ch1", code_hash="c2", expires_at=at(630), now=at(31))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.signin.get_challenge("ch1") == replace(
            started,
            code_hash="c2",
            code_expires_at=at(630),
            code_attempts=0,
            codes_sent=2,
            last_code_at=at(31),
        )
        assert await uow.signin.get_challenge("unknown") is None


async def test_a_challenge_for_no_account_is_stored_with_no_user(make_uow: UowFactory) -> None:
    user, _ = await member_and_app(make_uow)
    nobody = replace(challenge(user), user_id=None)
    async with make_uow() as uow:
        await uow.signin.add_challenge(nobody)
        await uow.signin.set_challenge_code("ch1", code_hash=None, expires_at=at(600), now=at(1))
        await uow.commit()
    async with make_uow(write=False) as uow:
        found = await uow.signin.get_challenge("ch1")
    assert found == replace(nobody, code_expires_at=at(600), codes_sent=1, last_code_at=at(1))


async def test_attempts_stop_at_the_limit(make_uow: UowFactory) -> None:
    user, _ = await member_and_app(make_uow)
    async with make_uow() as uow:
        await uow.signin.add_challenge(challenge(user))
        results = [await uow.signin.count_challenge_attempt("ch1", 3) for _ in range(4)]
        assert not await uow.signin.count_challenge_attempt("unknown", 3)
        await uow.commit()
    assert results == [True, True, True, False]
    async with make_uow(write=False) as uow:
        found = await uow.signin.get_challenge("ch1")
    assert found is not None
    assert found.code_attempts == 3


async def test_parallel_guesses_never_pass_the_limit(make_uow: UowFactory) -> None:
    user, _ = await member_and_app(make_uow)
    async with make_uow() as uow:
        await uow.signin.add_challenge(challenge(user))
        await uow.commit()

    async def guess() -> bool:
        async with make_uow() as uow:
            allowed = await uow.signin.count_challenge_attempt("ch1", 2)
            await uow.commit()
            return allowed

    assert sorted(await asyncio.gather(*(guess() for _ in range(5)))) == [
        False,
        False,
        False,
        True,
        True,
    ]


async def test_recent_challenges_counts_one_users_after_a_time(make_uow: UowFactory) -> None:
    user, _ = await member_and_app(make_uow)
    _, other = await tenant_with_guest(make_uow)
    async with make_uow() as uow:
        for n, created in enumerate((0, 100, 200, 300)):
            await uow.signin.add_challenge(challenge(user, f"mine{n}", created=created))
        await uow.signin.add_challenge(challenge(other, "theirs", created=250))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.signin.recent_challenges(user.id, since=at(100)) == 2  # after, not at
        assert await uow.signin.recent_challenges(user.id, since=at(-1)) == 4
        assert await uow.signin.recent_challenges(other.id, since=at(0)) == 1
        assert await uow.signin.recent_challenges(str(uuid.uuid4()), since=at(-1)) == 0


async def test_a_challenge_is_deleted_once(make_uow: UowFactory) -> None:
    user, _ = await member_and_app(make_uow)
    async with make_uow() as uow:
        await uow.signin.add_challenge(challenge(user))
        assert await uow.signin.delete_challenge("ch1")
        assert not await uow.signin.delete_challenge("ch1")
        assert await uow.signin.get_challenge("ch1") is None
        await uow.commit()


async def test_rows_of_no_stored_user_tenant_or_app_are_refused(make_uow: UowFactory) -> None:
    user, app = await member_and_app(make_uow)
    stranger = replace(user, id=str(uuid.uuid4()))
    for write in (
        lambda uow: uow.signin.add_challenge(challenge(stranger)),
        lambda uow: uow.signin.add_challenge(replace(challenge(user), tenant_id=stranger.id)),
        lambda uow: uow.signin.add_session(session(stranger)),
        lambda uow: uow.signin.add_code("k", code(stranger, app)),
        lambda uow: uow.signin.add_code("k", replace(code(user, app), app_id=stranger.id)),
        lambda uow: uow.signin.add_refresh_token("r", refresh(stranger, app, "f")),
    ):
        async with make_uow() as uow:
            with pytest.raises(IntegrityError):
                await write(uow)


async def test_a_session_ends_once_and_its_sid_is_unique(make_uow: UowFactory) -> None:
    user, _ = await member_and_app(make_uow)
    first = session(user)
    async with make_uow() as uow:
        await uow.signin.add_session(first)
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.signin.add_session(replace(session(user, "se2"), sid=first.sid))
    async with make_uow() as uow:
        assert await uow.signin.get_session("se1") == first
        assert await uow.signin.end_session("se1", at(60))
        assert not await uow.signin.end_session("se1", at(70))
        assert not await uow.signin.end_session("unknown", at(70))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.signin.get_session("se1") == replace(first, ended_at=at(60))
        assert await uow.signin.get_session("se2") is None


async def test_a_code_is_used_once_and_names_the_family_it_started(
    make_uow: UowFactory,
) -> None:
    user, app = await member_and_app(make_uow)
    issued = code(user, app)
    async with make_uow() as uow:
        await uow.signin.add_code("k1", issued)
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.signin.get_code("k1") == issued
        assert await uow.signin.use_code("k1", family_id="fam-1", now=at(5))
        assert not await uow.signin.use_code("k1", family_id="fam-2", now=at(6))
        assert not await uow.signin.use_code("unknown", family_id="fam-3", now=at(6))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.signin.get_code("k1") == replace(issued, used_at=at(5), family_id="fam-1")
        assert await uow.signin.get_code("unknown") is None


async def test_of_parallel_redemptions_of_a_code_one_wins(make_uow: UowFactory) -> None:
    user, app = await member_and_app(make_uow)
    async with make_uow() as uow:
        await uow.signin.add_code("k1", code(user, app))
        await uow.commit()

    async def redeem(n: int) -> bool:
        async with make_uow() as uow:
            won = await uow.signin.use_code("k1", family_id=f"fam-{n}", now=at(5))
            await uow.commit()
            return won

    assert sorted(await asyncio.gather(*(redeem(n) for n in range(4)))) == [
        False,
        False,
        False,
        True,
    ]


async def test_a_refresh_token_rotates_once_and_a_family_is_revoked_whole(
    make_uow: UowFactory,
) -> None:
    user, app = await member_and_app(make_uow)
    first, second, other = (
        refresh(user, app, "f1"),
        refresh(user, app, "f1"),
        refresh(user, app, "f2"),
    )
    async with make_uow() as uow:
        await uow.signin.add_refresh_token("r1", first)
        await uow.signin.add_refresh_token("r2", second)
        await uow.signin.add_refresh_token("r3", other)
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.signin.add_refresh_token("r1", other)
    async with make_uow() as uow:
        assert await uow.signin.get_refresh_token("r1") == first
        assert await uow.signin.rotate_refresh_token("r1", at(10))
        assert not await uow.signin.rotate_refresh_token("r1", at(11))
        assert not await uow.signin.rotate_refresh_token("unknown", at(11))
        assert not await uow.signin.family_revoked("f1")
        assert await uow.signin.revoke_family("f1", at(20)) == 2
        assert await uow.signin.revoke_family("f1", at(21)) == 0  # already revoked
        assert not await uow.signin.rotate_refresh_token("r2", at(22))  # revoked: not usable
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.signin.family_revoked("f1")
        assert not await uow.signin.family_revoked("f2")
        assert not await uow.signin.family_revoked("unknown")
        assert await uow.signin.get_refresh_token("r1") == replace(
            first, used_at=at(10), revoked_at=at(20)
        )
        assert await uow.signin.get_refresh_token("r2") == replace(second, revoked_at=at(20))
        assert await uow.signin.get_refresh_token("r3") == other


async def test_purge_removes_only_what_can_no_longer_be_used(make_uow: UowFactory) -> None:
    user, app = await member_and_app(make_uow)
    now, before = at(10_000), at(5_000)
    async with make_uow() as uow:
        signin = uow.signin
        await signin.add_challenge(challenge(user, "expired", created=10_000 - 1800))  # at now
        await signin.add_challenge(challenge(user, "live", created=10_000 - 1799))
        await signin.add_session(replace(session(user, "old"), expires_at=before))
        await signin.add_session(replace(session(user, "ended"), expires_at=at(90_000)))
        await signin.end_session("ended", at(4_000))
        await signin.add_session(replace(session(user, "ended-late"), expires_at=at(90_000)))
        await signin.end_session("ended-late", at(5_001))
        await signin.add_code("old-code", replace(code(user, app), expires_at=before))
        await signin.add_code("new-code", replace(code(user, app), expires_at=at(5_001)))
        await signin.add_refresh_token("old-rt", refresh(user, app, "f1", expires=5_000))
        await signin.add_refresh_token("revoked-rt", refresh(user, app, "f2"))
        await signin.revoke_family("f2", at(1_000))
        await signin.add_refresh_token("live-rt", refresh(user, app, "f3"))
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.signin.purge(now=now, before=before) == 6
        assert await uow.signin.purge(now=now, before=before) == 0
        await uow.commit()
    async with make_uow(write=False) as uow:
        signin = uow.signin
        assert [await signin.get_challenge(n) is not None for n in ("expired", "live")] == [
            False,
            True,
        ]
        assert [
            await signin.get_session(n) is not None for n in ("old", "ended", "ended-late")
        ] == [False, False, True]
        assert await signin.get_code("old-code") is None
        assert await signin.get_code("new-code") is not None
        assert [
            await signin.get_refresh_token(n) is not None
            for n in ("old-rt", "revoked-rt", "live-rt")
        ] == [False, False, True]


async def test_activity_keeps_the_last_success_through_failures(make_uow: UowFactory) -> None:
    user, _ = await member_and_app(make_uow)
    _, other = await tenant_with_guest(make_uow)
    async with make_uow() as uow:
        assert await uow.signin.activity([]) == {}
        await uow.signin.record_activity(user.id, now=at(1), success=False)
        assert await uow.signin.activity([user.id]) == {user.id: (at(1), None)}
        await uow.signin.record_activity(user.id, now=at(2), success=True)
        await uow.signin.record_activity(user.id, now=at(3), success=False)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.signin.activity([user.id, other.id, str(uuid.uuid4())]) == {
            user.id: (at(3), at(2))
        }
    async with make_uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.signin.record_activity(str(uuid.uuid4()), now=at(4), success=True)


async def test_deleting_a_user_takes_their_sign_in_state_along(make_uow: UowFactory) -> None:
    user, app = await member_and_app(make_uow)
    async with make_uow() as uow:
        await uow.signin.add_challenge(challenge(user))
        await uow.signin.add_session(session(user))
        await uow.signin.add_code("k1", code(user, app))
        await uow.signin.add_refresh_token("r1", refresh(user, app, "f1"))
        await uow.signin.record_activity(user.id, now=at(1), success=True)
        await uow.commit()
    async with make_uow() as uow:
        await uow.users.delete(user.id)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.signin.get_challenge("ch1") is None
        assert await uow.signin.get_session("se1") is None
        assert await uow.signin.get_code("k1") is None
        assert await uow.signin.get_refresh_token("r1") is None
        assert await uow.signin.activity([user.id]) == {}
        assert await uow.signin.recent_challenges(user.id, since=at(-1)) == 0


async def test_nothing_is_kept_when_the_transaction_is_not_committed(
    make_uow: UowFactory,
) -> None:
    user, app = await member_and_app(make_uow)
    async with make_uow() as uow:
        await uow.signin.add_challenge(challenge(user))
        await uow.signin.add_code("k1", code(user, app))
    async with make_uow(write=False) as uow:
        assert await uow.signin.get_challenge("ch1") is None
        assert await uow.signin.get_code("k1") is None
