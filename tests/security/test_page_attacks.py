"""Guessing on the redemption pages: throttled per address, and it learns nothing."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.e2e.guest import latest_code
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e


def client_from(server: Server, address: str) -> httpx.Client:
    """A browser on another loopback address: the throttle counts per address."""
    return httpx.Client(
        base_url=server.base_url,
        transport=httpx.HTTPTransport(local_address=address),
        trust_env=False,
        follow_redirects=False,
        timeout=15,
    )


def test_guessing_links_is_throttled_and_looks_the_same(caller: Caller, server: Server) -> None:
    real = caller.invite({"invitedUserEmailAddress": f"page.{uuid.uuid4().hex[:8]}@example.com"})
    url = real.json()["inviteRedeemUrl"].removeprefix(server.base_url)
    tenant, user = re.search(r"tenant=([^&]+)&user=([^&]+)", url).groups()  # type: ignore[union-attr]
    with client_from(server, "127.0.0.3") as guesser:
        pages = [
            guesser.get("/redeem/", params={"tenant": tenant, "user": user, "ticket": f"{i:043d}"})
            for i in range(30)
        ]
        assert {p.status_code for p in pages} == {404}
        bodies = {re.sub(r"[0-9a-f-]{36}", "", p.text) for p in pages}
        assert len(bodies) == 1  # nothing distinguishes one wrong guess from another
        throttled = guesser.get(url)  # even the right link waits now, from this address
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 600
        assert "Too many attempts" in throttled.text
    with client_from(server, "127.0.0.4") as owner:
        assert owner.get(url).status_code == 200  # the guest elsewhere is not locked out


def test_guessing_codes_is_throttled(caller: Caller, server: Server, sink: SmtpSink) -> None:
    email = f"codes.{uuid.uuid4().hex[:8]}@example.com"
    url = caller.invite({"invitedUserEmailAddress": email}).json()["inviteRedeemUrl"]
    wrong = 0
    with client_from(server, "127.0.0.5") as guesser:
        for round_ in range(1, 8):  # a new session (and code) every five wrong tries
            landing = guesser.get(url.removeprefix(server.base_url))
            if landing.status_code == 429:
                break
            fields = dict(re.findall(r'name="([a-z]+)" value="([^"]*)"', landing.text))
            guesser.post("/redeem/start", data=fields)
            code_page = guesser.get("/redeem/code")
            csrf = re.search(r'name="csrf" value="([^"]*)"', code_page.text).group(1)  # type: ignore[union-attr]
            code = latest_code(sink, email, round_)
            guess = "000000" if code != "000000" else "111111"
            answer = None
            for _ in range(5):
                answer = guesser.post("/redeem/verify", data={"csrf": csrf, "code": guess})
                if answer.status_code == 429:
                    break
                wrong += 1
            if answer is not None and answer.status_code == 429:
                break
        else:
            pytest.fail("35 wrong codes and never throttled")
    assert wrong == 30  # GUESTGATE_PAGE_FAILURES_PER_10_MINUTES
