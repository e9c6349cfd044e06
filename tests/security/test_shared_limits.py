"""Limits hold for the deployment, not per process, and a burst cannot get past them.

Two guestgate processes share one database (SQLite or PostgreSQL), one of them with two
workers; every limit is stated once and must hold across all of them. Each test compares
the answers with what the database holds afterwards.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.guest import Guest, latest_code
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, count, database_for, rows

pytestmark = pytest.mark.e2e

LIMITS = {
    "GUESTGATE_TOKEN_FAILURES_PER_MINUTE": "4",
    "GUESTGATE_PAGE_FAILURES_PER_10_MINUTES": "6",
    "GUESTGATE_OUTBOX_RETRY_BASE": "1",
}


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    smtp = SmtpSink().start()
    yield smtp
    smtp.stop()


@pytest.fixture(scope="module", params=DATABASES)
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[tuple[Server, Server]]:
    """Two instances on one database; the first runs two worker processes."""
    workdir = tmp_path_factory.mktemp("limits")
    env = {**LIMITS, "GUESTGATE_SMTP_URL": sink.url}
    first = Server(
        workdir=workdir, database_url=database_for(request, workdir), workers=2, extra_env=env
    )
    first.start()
    second = Server(
        workdir=workdir,
        database_url=first.database_url,
        demo=False,
        secret_key=first.secret_key,
        extra_env={**env, "GUESTGATE_PUBLIC_URL": first.base_url},
    )
    second.start()
    yield first, second
    second.stop()
    first.stop()


@pytest.fixture(scope="module")
def caller(servers: tuple[Server, Server]) -> Caller:
    return Caller.demo(servers[0])


def from_address(server: Server, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url,
        transport=httpx.HTTPTransport(local_address=address),
        trust_env=False,
        follow_redirects=False,
        timeout=15,
    )


def token_form(app_id: str, secret: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": app_id,
        "client_secret": secret,
        "scope": "https://graph.microsoft.com/.default",
    }


def test_token_failures_are_limited_across_processes_and_client_id_spellings(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    app = first.create_app("contoso.example", "target", "User.Invite.All")
    url = f"/{app['TenantID']}/oauth2/v2.0/token"
    spellings = [app["AppID"].upper(), f" {app['AppID']}", f"{app['AppID']}\t", app["AppID"]]
    statuses = []
    for attempt in range(8):
        # A new connection each time, alternating instances: the two workers of the first
        # and the second instance all get their share.
        server = servers[attempt % 2]
        with from_address(server, "127.0.0.21") as attacker:
            answer = attacker.post(url, data=token_form(spellings[attempt % 4], f"guess-{attempt}"))
            statuses.append(answer.status_code)
    assert statuses == [401] * 4 + [429] * 4  # GUESTGATE_TOKEN_FAILURES_PER_MINUTE=4
    for server in (first, second):
        with from_address(server, "127.0.0.21") as attacker:
            right = attacker.post(url, data=token_form(app["AppID"].upper(), app["AppSecret"]))
            assert right.status_code == 429  # the right secret waits too, on every instance
        with from_address(server, "127.0.0.22") as owner:
            assert (
                owner.post(url, data=token_form(app["AppID"], app["AppSecret"])).status_code == 200
            )
    assert (
        count(first, "SELECT COUNT(*) FROM rate_limits WHERE name LIKE %s", "token-client:%") >= 1
    )


def invite(caller: Caller, **extra: Any) -> tuple[str, str]:
    email = f"limits.{uuid.uuid4().hex[:10]}@example.com"
    answer = caller.invite({"invitedUserEmailAddress": email, **extra})
    assert answer.status_code == 201, answer.text
    return email, str(answer.json()["inviteRedeemUrl"])


def test_bad_links_are_limited_across_processes(
    caller: Caller, servers: tuple[Server, Server]
) -> None:
    _, url = invite(caller)
    tenant, user = re.search(r"tenant=([^&]+)&user=([^&]+)", url).groups()  # type: ignore[union-attr]
    statuses = []
    for attempt in range(9):
        with from_address(servers[attempt % 2], "127.0.0.23") as guesser:
            params = {"tenant": tenant, "user": user, "ticket": f"{attempt:043d}"}
            statuses.append(guesser.get("/redeem/", params=params).status_code)
    assert statuses == [404] * 6 + [429] * 3  # GUESTGATE_PAGE_FAILURES_PER_10_MINUTES=6


def landing_form(server: Server, url: str, address: str) -> tuple[dict[str, str], dict[str, str]]:
    with from_address(server, address) as browser:
        landing = browser.get(url.removeprefix(server.base_url))
        assert landing.status_code == 200, landing.text
        fields = dict(re.findall(r'name="([a-z]+)" value="([^"]*)"', landing.text))
        return fields, dict(browser.cookies)


def test_replaying_one_landing_form_cannot_flood_the_guest(
    caller: Caller, servers: tuple[Server, Server], sink: SmtpSink
) -> None:
    email, url = invite(caller)
    fields, cookies = landing_form(servers[0], url, "127.0.0.24")
    statuses: list[int] = []

    def replay(i: int) -> None:
        server = servers[i % 2]
        with from_address(server, f"127.0.1.{i + 1}") as browser:
            browser.cookies.update(cookies)
            statuses.append(browser.post("/redeem/start", data=fields).status_code)

    threads = [threading.Thread(target=replay, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = statuses.count(303)
    assert sorted(set(statuses)) == [303, 429], statuses
    assert started == 10  # SESSIONS_PER_INVITATION
    first = servers[0]
    invitation = "SELECT id FROM invitations WHERE email = %s"
    assert (
        count(
            first,
            f"SELECT COUNT(*) FROM redeem_sessions WHERE invitation_id IN ({invitation})",
            email,
        )
        == started
    )
    codes = sink.wait_for(started, to=email, subject_contains="verification code")
    assert len(codes) == started
    mailed = "SELECT COUNT(*) FROM outbox WHERE recipient = %s AND kind = 'one_time_code'"
    assert count(first, mailed, email) == started


def test_a_parallel_burst_of_guesses_gets_no_more_than_the_limit_evaluated(
    caller: Caller, servers: tuple[Server, Server], sink: SmtpSink
) -> None:
    email, url = invite(caller)
    sessions = []
    for i in range(8):  # eight sessions from eight addresses: 40 guesses if nothing held
        server = servers[i % 2]
        guest = Guest(server)
        guest.http.close()
        guest.http = from_address(server, f"127.0.2.{i + 1}")
        landing = guest.open(url)
        assert guest.submit(landing, "/redeem/start").status_code == 303
        code_page = guest.http.get("/redeem/code")
        csrf = re.search(r'name="csrf" value="([^"]*)"', code_page.text).group(1)  # type: ignore[union-attr]
        sessions.append((guest, csrf))
    code = latest_code(sink, email, 8)
    wrong = "000000" if code != "000000" else "111111"
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(len(sessions) * 5)

    def guess(guest: Guest, csrf: str) -> None:
        barrier.wait()
        answers.append(guest.http.post("/redeem/verify", data={"csrf": csrf, "code": wrong}))

    threads = [
        threading.Thread(target=guess, args=session) for session in sessions for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for guest, _ in sessions:
        guest.close()
    evaluated = [a for a in answers if "That code is not right" in a.text]
    assert len(evaluated) <= 30  # GUESSES_PER_INVITATION
    assert all(a.status_code in (400, 429) for a in answers), [
        (a.status_code, a.text[-300:]) for a in answers if a.status_code not in (400, 429)
    ]
    stored = count(
        servers[0],
        "SELECT COALESCE(SUM(code_attempts), 0) FROM redeem_sessions WHERE invitation_id IN"
        " (SELECT id FROM invitations WHERE email = %s)",
        email,
    )
    assert stored == len(evaluated)


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_resend_and_revoke_end_every_session_of_the_old_link(
    caller: Caller, servers: tuple[Server, Server], sink: SmtpSink, action: str
) -> None:
    email, url = invite(caller)
    first = servers[0]
    guest = Guest(first)
    try:
        landing = guest.open(url)
        assert guest.submit(landing, "/redeem/start").status_code == 303
        code_page = guest.http.get("/redeem/code")
        code = latest_code(sink, email, 1)
        invitation_id = invitation_of(first, email)
        answer = caller.request("POST", f"/api/invitations/{invitation_id}/{action}")
        assert answer.status_code == 200, answer.text
        late = guest.submit(code_page, "/redeem/verify", code=code)
        assert late.status_code in (403, 404), late.text
        assert guest.http.get("/redeem/consent").status_code in (403, 404)
    finally:
        guest.close()
    assert (
        count(first, "SELECT COUNT(*) FROM redeem_sessions WHERE invitation_id = %s", invitation_id)
        == 0
    )


def invitation_of(server: Server, email: str) -> str:
    [(invitation_id,)] = rows(server, "SELECT id FROM invitations WHERE email = %s", email)
    return str(invitation_id)
