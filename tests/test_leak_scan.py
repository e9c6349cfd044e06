"""The leak scan's own scenario, so every path that handles a secret is scanned even alone.

Every harness registers the secrets it handles (client secrets, access tokens, redeem
tickets, one-time codes, session ids) and where servers write (log files, databases) and what
they answered with an error. None of those secrets may appear in any log line, error body or
database column. This test scans what its process has seen so far; the session's end scans
everything again (tests/conftest.py), after the last test, and fails the session on a leak.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.guest import Guest, latest_code
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.leaks import REGISTRY, scan

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scenario_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, SmtpSink]]:
    sink = SmtpSink().start()
    workdir: Path = tmp_path_factory.mktemp("leaks")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url, "GUESTGATE_LOG_LEVEL": "DEBUG"},
    )
    server.start()
    yield server, sink
    server.stop()
    sink.stop()


def run_scenario(server: Server, sink: SmtpSink) -> None:
    """Every way a secret passes through guestgate, including the careless ones."""
    caller = Caller.demo(server)
    secret = server.demo_credentials()["AppSecret"]
    with server.client() as client:
        url = f"/{caller.tenant}/oauth2/v2.0/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": server.demo_credentials()["AppID"],
            "scope": "https://graph.microsoft.com/.default",
        }
        client.post(url, data={**form, "client_secret": secret + "x"})  # wrong secret
        client.post(url, data={**form, "client_secret": secret, "extra": secret})
        client.post(url, data={**form, "client_secret": secret}, params={"client_secret": secret})
        client.get(f"/v1.0/users?access_token={caller.token}")
        client.get("/v1.0/users", headers={"Authorization": f"Bearer {caller.token}x"})
        client.get("/v1.0/users", headers={"Authorization": f"Basic {secret}"})
    email = "leak.scan@example.com"
    answer = caller.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": True})
    assert answer.status_code == 201
    ticket_url = answer.json()["inviteRedeemUrl"]
    guest = Guest(server)
    landing = guest.open(ticket_url)
    guest.submit(landing, "/redeem/start")
    code_page = guest.http.get("/redeem/code")
    code = latest_code(sink, email, 1)
    guest.submit(code_page, "/redeem/verify", code="000000" if code != "000000" else "111111")
    guest.submit(code_page, "/redeem/verify", code=code)
    guest.submit(guest.http.get("/redeem/consent"), "/redeem/accept")
    guest.close()
    with server.client() as client:  # a ticket sent where tickets do not belong
        client.get(ticket_url.removeprefix(server.base_url).replace("/redeem/", "/nowhere/"))


def test_no_secret_in_any_log_error_body_or_column(
    scenario_server: tuple[Server, SmtpSink],
) -> None:
    run_scenario(*scenario_server)
    REGISTRY.harvest_emails()
    assert len(REGISTRY.secrets) >= 5
    assert REGISTRY.codes
    kinds = set(REGISTRY.kinds.values())
    assert {"client secret", "access token", "redeem ticket", "session id"} <= kinds
    planted = next(iter(REGISTRY.secrets))
    assert REGISTRY.find(f"x {planted} y"), "the scanner cannot see a planted secret"
    server = scenario_server[0]
    # This server's log and database here; every other one at the session's end.
    assert scan(REGISTRY, logs=[server.stderr_path], databases=[server.database_url]) == []
