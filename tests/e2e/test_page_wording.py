"""What the redemption pages say, as a guest reads them with no privacy URL set.

The consent page names no privacy statement when the tenant has none, the welcome page after
an accept names the organisation, and the invalid-link page says more than its heading.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.guest import Guest, latest_code
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("wording")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url, "GUESTGATE_OUTBOX_RETRY_BASE": "1"},
    )
    server.start()
    yield server
    server.stop()


def texts(page: str) -> tuple[str, list[str]]:
    """The page's heading and the text of each paragraph of its main content."""
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert heading, page
    paragraphs = re.findall(r"<p[^>]*>(.*?)</p>", page, re.S)
    clean = [html.unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in paragraphs]
    return html.unescape(heading.group(1)).strip(), clean


def test_consent_without_privacy_url_then_a_welcome_naming_the_organisation(
    server: Server, sink: SmtpSink
) -> None:
    caller = Caller.demo(server)
    email = f"wording.{uuid.uuid4().hex[:8]}@example.com"
    answer = caller.invite({"invitedUserEmailAddress": email})
    assert answer.status_code == 201, answer.text
    guest = Guest(server)
    landing = guest.open(answer.json()["inviteRedeemUrl"])
    code_page = guest.http.get(guest.submit(landing, "/redeem/start").headers["location"])
    verified = guest.submit(code_page, "/redeem/verify", code=latest_code(sink, email, 1))
    consent = guest.http.get(verified.headers["location"])
    assert consent.status_code == 200
    assert "Review permissions" in consent.text
    assert "privacy" not in consent.text.lower()
    accepted = guest.submit(consent, "/redeem/accept")
    assert accepted.status_code == 303
    welcome = guest.open(accepted.headers["location"])
    assert welcome.status_code == 200
    heading, paragraphs = texts(welcome.text)
    assert heading == "Welcome to Contoso"
    assert "You now have guest access to Contoso. You can close this page." in paragraphs
    guest.close()


def test_the_invalid_link_page_explains_rather_than_repeats_its_heading(server: Server) -> None:
    caller = Caller.demo(server)
    answer = caller.invite({"invitedUserEmailAddress": f"w.{uuid.uuid4().hex[:8]}@example.com"})
    link = answer.json()["inviteRedeemUrl"]
    guest = Guest(server)
    page = guest.open(re.sub(r"ticket=[^&]+", "ticket=" + "A" * 43, link))
    assert page.status_code == 404
    heading, paragraphs = texts(page.text)
    assert heading == "This invitation link is not valid"
    assert paragraphs
    assert all(p and p != heading for p in paragraphs)
    assert any("withdrawn, declined or replaced" in p for p in paragraphs)
    guest.close()
