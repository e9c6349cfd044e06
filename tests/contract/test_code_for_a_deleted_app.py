"""An app deleted between the authorization check and the code: a page, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guestgate.domain.oidc import AuthorizeRequest
from guestgate.domain.randomness import SeededRandomness
from guestgate.errors import RedemptionError
from guestgate.services.signin import issue_code
from tests.contract.builders import UowFactory
from tests.contract.test_signin import member_and_app, session

pytestmark = pytest.mark.anyio


async def test_no_code_is_issued_to_an_app_deleted_a_moment_ago(make_uow: UowFactory) -> None:
    user, app = await member_and_app(make_uow)
    live = session(user)
    async with make_uow() as uow:
        await uow.signin.add_session(live)
        await uow.apps.delete(app.id)
        await uow.commit()
    request = AuthorizeRequest(
        tenant_id=user.tenant_id,
        client_id=app.id,
        redirect_uri="https://app.example/callback",
        response_mode="query",
        scope="openid",
        state=None,
        nonce=None,
        code_challenge=None,
        prompt=None,
        login_hint=None,
        client_info=False,
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with make_uow() as uow:
        with pytest.raises(RedemptionError, match="no longer registered"):
            await issue_code(
                uow,
                request,
                live,
                user,
                method="session",
                now=now,
                request_id=None,
                rng=SeededRandomness(1),
            )
    async with make_uow(write=False) as uow:
        assert await uow.signin.activity([user.id]) == {}
        assert [
            r
            for r in await uow.audit.list(user.tenant_id, limit=50)
            if r.action.startswith("signin")
        ] == []
