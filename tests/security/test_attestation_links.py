"""The Keep / Remove links of lifecycle notices, attacked at a running server, on SQLite and
PostgreSQL.

A link is a token signed with the server's keys naming the tenant, the guest, the sponsor
and the choice; the page asks first and its form acts once. Links are made here as the
scheduler makes them (services/lifecycle_attest.py `link_token`, with the server's own keys
read from its database), then used through the pages as a sponsor's browser would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import httpx
import pytest

from guestgate.bootstrap import running
from guestgate.config import DatabaseSettings, Settings
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.timestamps import utcnow
from guestgate.runtime import Runtime
from guestgate.services import tenants, users
from guestgate.services.directory import Actor
from guestgate.services.lifecycle_attest import KEEP, REMOVE, link_token
from tests.e2e.server import Server
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, count, start_server

pytestmark = pytest.mark.e2e
T = TypeVar("T")


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    yield from start_server(request, tmp_path_factory.mktemp("attest"), sink)


def in_process(server: Server, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """`work` against the server's database with the server's secret key."""
    settings = Settings(
        database=DatabaseSettings(url=server.database_url),
        secret_key=base64.urlsafe_b64decode(server.secret_key),
    )

    async def run() -> T:
        async with running(settings) as runtime:
            return await work(runtime)

    return asyncio.run(run())


def tenant_id(server: Server) -> str:
    return str(server.demo_credentials()["TenantID"])


def sponsored_guest(server: Server, tenant: str | None = None) -> tuple[str, str, str]:
    """A new guest with a new sponsor: (tenant id, guest id, sponsor id)."""

    async def work(runtime: Runtime) -> tuple[str, str, str]:
        tid = tenant
        if tid is None:
            tid = tenant_id(server)
        tag = uuid.uuid4().hex[:8]
        domain = "contoso.example" if tenant is None else f"t{tag}.example"
        sponsor = await users.create_member(
            runtime.uow(),
            tenant_id=tid,
            email=f"sponsor.{tag}@{domain}",
            display_name="Sam",
            now=utcnow(),
        )
        actor = Actor(tenant_id=tid, app_id=None)
        view = await runtime.invitations.invite(
            actor, build_invite_request(email=f"kept.{tag}@fabrikam.example")
        )
        await runtime.user_admin.add_sponsor(actor, view.user_id, sponsor.id)
        return tid, view.user_id, sponsor.id

    return in_process(server, work)


def other_tenant(server: Server) -> str:
    async def work(runtime: Runtime) -> str:
        tag = uuid.uuid4().hex[:8]
        made = await tenants.create_tenant(
            runtime.uow(), name="Fabrikam", domains=[f"t{tag}.example"], now=utcnow()
        )
        return made.id

    return in_process(server, work)


def link(
    server: Server, tid: str, guest: str, sponsor: str, choice: str, *, days_ago: int = 0
) -> str:
    async def work(runtime: Runtime) -> str:
        keys = await runtime.keyring.current()
        now = utcnow() - timedelta(days=days_ago)
        return link_token(
            keys, tenant_id=tid, user_id=guest, sponsor=sponsor, choice=choice, now=now
        )

    return in_process(server, work)


def use(server: Server, token: str) -> httpx.Response:
    """Open the link's page and confirm it, as the sponsor's browser does."""
    with server.client(follow_redirects=False) as browser:
        page = browser.get("/lifecycle/attest", params={"t": token})
        if page.status_code != 200:
            return page
        csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
        assert csrf is not None, page.text
        return browser.post("/lifecycle/attest", data={"t": token, "csrf": csrf.group(1)})


def guest_exists(server: Server, guest: str) -> bool:
    return count(server, "SELECT COUNT(*) FROM users WHERE id = %s", guest) == 1


def keeps_of(server: Server, guest: str) -> int:
    audit = "SELECT COUNT(*) FROM audit_events WHERE target = %s AND action = %s"
    return count(server, audit, guest, "lifecycle.attest.keep")


def test_a_keep_link_works_once(server: Server) -> None:
    tid, guest, sponsor = sponsored_guest(server)
    token = link(server, tid, guest, sponsor, KEEP)
    assert use(server, token).status_code == 200
    again = use(server, token)
    assert again.status_code == 400, again.text
    assert "used already" in again.text
    assert keeps_of(server, guest) == 1


def test_keep_after_remove_is_refused_and_the_guest_stays_removed(server: Server) -> None:
    tid, guest, sponsor = sponsored_guest(server)
    keep, remove = (link(server, tid, guest, sponsor, c) for c in (KEEP, REMOVE))
    assert use(server, remove).status_code == 200
    assert not guest_exists(server, guest)
    late = use(server, keep)
    assert late.status_code == 400, late.text
    assert keeps_of(server, guest) == 0
    assert not guest_exists(server, guest)


def test_a_link_naming_a_guest_of_another_tenant_is_refused(server: Server) -> None:
    elsewhere = other_tenant(server)
    _, guest, sponsor = sponsored_guest(server, tenant=elsewhere)
    crossed = link(server, tenant_id(server), guest, sponsor, REMOVE)
    assert use(server, crossed).status_code == 400
    assert guest_exists(server, guest)


def test_a_tampered_or_foreign_link_is_refused(server: Server) -> None:
    tid, guest, sponsor = sponsored_guest(server)
    _, victim, _ = sponsored_guest(server)
    token = link(server, tid, guest, sponsor, KEEP)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims |= {"sub": victim, "act": REMOVE}
    swapped = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    for forged in (
        f"{header}.{swapped}.{signature}",
        f"{none}.{swapped}.",
        f"{header}.{payload}.{signature[:-4]}AAAA",
        token + "x",
        link(server, tid, guest, sponsor, KEEP, days_ago=31),  # expired
    ):
        answer = use(server, forged)
        assert answer.status_code == 400, (forged, answer.text)
    assert guest_exists(server, victim)
    assert keeps_of(server, guest) == 0


def test_a_link_of_a_sponsor_who_no_longer_sponsors_the_guest_is_refused(
    server: Server,
) -> None:
    tid, guest, sponsor = sponsored_guest(server)
    remove = link(server, tid, guest, sponsor, REMOVE)

    async def drop(runtime: Runtime) -> None:
        actor = Actor(tenant_id=tid, app_id=None)
        await runtime.user_admin.remove_sponsor(actor, guest, sponsor)

    in_process(server, drop)
    answer = use(server, remove)
    assert answer.status_code == 400, answer.text
    assert "no longer" in answer.text
    assert guest_exists(server, guest)


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"},
    ],
)
def test_a_confirmation_not_sent_by_the_page_is_refused_not_a_500(
    server: Server, headers: dict[str, str]
) -> None:
    with server.client(follow_redirects=False) as client:
        answer = client.post("/lifecycle/attest", content=b"t=x&csrf=y", headers=headers)
    assert answer.status_code == 403, answer.text
