"""`GET /metrics` on a running server, read with prometheus-client's own parser: the counts
equal the requests made across two worker processes, the database's gauges equal what the
database holds (SQLite and PostgreSQL), it answers only with its token, and labels stay
bounded whatever paths clients send."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.guest import Guest, latest_code
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_cli import connections_per_worker, listening_sockets, wait_for
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.e2e
TOKEN = "metrics-" + secrets.token_urlsafe(24)
REGISTRY.secret(TOKEN, "metrics token")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client) -> Samples:
    answer = client.get("/metrics", headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families: list[Metric] = list(text_string_to_metric_families(answer.text))
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in families
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (n, labels) in samples if n == name]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def two_workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Two workers, no mail delivery (the queued invitation mail stays in the outbox)."""
    workdir: Path = tmp_path_factory.mktemp(f"metrics-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir}/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    server = Server(
        workdir=workdir,
        database_url=url,
        workers=2,
        mail_worker=False,
        extra_env={"GUESTGATE_METRICS_TOKEN": TOKEN},
    )
    server.start()
    wait_for(lambda: listening_sockets(server.port) == 2)
    yield server
    server.stop()


def test_counts_match_the_requests_made_across_both_workers(two_workers: Server) -> None:
    server = two_workers
    database = "sqlite" if server.database_url.startswith("sqlite") else "postgresql"
    caller = Caller.demo(server)
    clients = [server.client(headers=caller.headers) for _ in range(40)]
    try:
        for client in clients:
            for _ in range(3):
                assert client.get("/healthz").status_code == 200
        invites = [
            c.post(
                "/api/InviteGuest",
                json={
                    "invitedUserEmailAddress": f"g.{uuid.uuid4().hex[:10]}@fabrikam.example",
                    "sendInvitationMessage": True,
                },
            )
            for c in clients
        ]
        # 40 kept-alive connections land on both workers (all on one: p = 2 ** -39).
        spread = connections_per_worker(server)
    finally:
        for client in clients:
            client.close()
    assert len(spread) == 2
    assert min(spread) >= 1, spread
    assert {i.status_code for i in invites} == {201}
    with server.client() as client:
        refused = 0
        for _ in range(14):  # wrong secrets: the token endpoint's guessing limit refuses some
            answer = client.post(
                f"/{caller.tenant}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": server.demo_credentials()["AppID"],
                    "client_secret": "gg_wrong",
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
            refused += answer.status_code == 429
    assert refused >= 1
    time.sleep(0.05)  # a request is counted just after its answer is sent
    # Each scrape on a new connection, so both workers answer some: every one sees it all.
    views = []
    for _ in range(8):
        with server.client(headers={"Connection": "close"}) as client:
            views.append(scrape(client))
    for samples in views:
        healthz = {"method": "GET", "route": "/healthz", "status": "200"}
        assert value(samples, "guestgate_http_requests_total", **healthz) == 120
        invite = {"method": "POST", "route": "/api/InviteGuest"}
        assert value(samples, "guestgate_http_requests_total", **invite, status="201") == 40
        assert value(samples, "guestgate_http_request_duration_seconds_count", **invite) == 40
        buckets = {"method": "GET", "route": "/healthz"}
        assert value(samples, "guestgate_http_request_duration_seconds_count", **buckets) == 120
        assert (
            value(samples, "guestgate_http_request_duration_seconds_bucket", **buckets, le="+Inf")
            == 120
        )
        assert value(samples, "guestgate_invitations_created_total") == 40
        assert value(samples, "guestgate_throttled_requests_total", limit="token-client") == refused
        # Read from the database at scrape time: the 40 invitation mails wait (--no-worker).
        assert value(samples, "guestgate_outbox_backlog", queue="mail") == 40
        assert 0 < value(samples, "guestgate_outbox_oldest_age_seconds", queue="mail") < 300
        assert value(samples, "guestgate_outbox_backlog", queue="webhook") == 0
        assert value(samples, "guestgate_outbox_oldest_age_seconds", queue="webhook") == 0
        assert value(samples, "guestgate_outbox_dead", queue="mail") == 0
        write_waits = {"database": database, "access": "write"}
        assert value(samples, "guestgate_db_wait_seconds_count", **write_waits) >= 40


def test_answers_only_with_its_token(two_workers: Server) -> None:
    with two_workers.client() as client:
        before = scrape(client)
        wrong = TOKEN[:-1] + ("A" if TOKEN[-1] != "A" else "B")
        for headers in (
            {},
            {"Authorization": f"Bearer {wrong}"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": "Bearer"},
        ):
            answer = client.get("/metrics", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
            assert "guestgate_" not in answer.text
        time.sleep(0.05)  # a request is counted just after its answer is sent
        after = scrape(client)
    refused = {"method": "GET", "route": "/metrics", "status": "401"}
    assert value(after, "guestgate_http_requests_total", **refused) == (
        value(before, "guestgate_http_requests_total", **refused) + 5
    )
    assert TOKEN not in two_workers.logs()


def test_a_thousand_random_paths_are_one_route_label(two_workers: Server) -> None:
    with two_workers.client() as client:
        before = scrape(client)
        paths = [f"/{uuid.uuid4().hex}/{i}" for i in range(1000)]
        assert {client.get(p).status_code for p in paths} == {404}
        time.sleep(0.05)  # a request is counted just after its answer is sent
        after = scrape(client)
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    grown = value(after, "guestgate_http_requests_total", **unmatched) - value(
        before, "guestgate_http_requests_total", **unmatched
    )
    assert grown == 1000
    new = {
        tuple(sorted(labels.items()))
        for labels in series(after, "guestgate_http_requests_total")
        if labels not in series(before, "guestgate_http_requests_total")
    }
    # The scrape before was the first of its kind, perhaps: only /metrics may be new besides.
    assert {dict(n)["route"] for n in new} <= {"unmatched", "/metrics"}
    assert [s for s in series(after, "guestgate_http_requests_total") if s["status"] == "404"] == [
        unmatched
    ]


def test_deliveries_and_a_redemption_are_counted(tmp_path: Path, sink: SmtpSink) -> None:
    receiver = Receiver(script=[Reply(status=500)]).start()  # the first attempt fails
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env={
            "GUESTGATE_METRICS_TOKEN": TOKEN,
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true",
            "GUESTGATE_WEBHOOK_RETRY_SCALE": "0.001",
        },
    ).start()
    try:
        tenant = Caller.demo(server).tenant
        caller = Caller.new_app(server, tenant, "User.Invite.All", "User.ReadWrite.All")
        made = caller.request(
            "POST",
            "/api/webhooks",
            json={"url": receiver.url, "eventTypes": ["invitation.created"]},
        )
        assert made.status_code == 201, made.text
        REGISTRY.secret(made.json()["secret"], "webhook secret")
        email = f"g.{uuid.uuid4().hex[:10]}@example.com"
        answer = caller.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": True})
        assert answer.status_code == 201, answer.text
        sink.wait_for(to=email)
        guest = Guest(server)
        landing = guest.open(answer.json()["inviteRedeemUrl"])
        assert guest.submit(landing, "/redeem/start").status_code == 303
        code_page = guest.http.get("/redeem/code")
        verified = guest.submit(code_page, "/redeem/verify", code=latest_code(sink, email, 1))
        assert verified.status_code == 303
        consent = guest.http.get("/redeem/consent")
        assert guest.submit(consent, "/redeem/accept").status_code == 303
        guest.close()
        deadline = time.monotonic() + 20
        while len(receiver.received) < 2:  # the failed attempt, then its retry
            assert time.monotonic() < deadline, "webhook not retried"
            time.sleep(0.05)
        with server.client() as client:
            samples = scrape(client)
            deadline = time.monotonic() + 10
            mail = {"channel": "mail", "outcome": "delivered"}
            hook = {"channel": "webhook", "outcome": "delivered"}
            # Counted once the worker has recorded the outcome, just after sending.
            while (
                value(samples, "guestgate_deliveries_total", **mail) < 2
                or value(samples, "guestgate_deliveries_total", **hook) < 1
            ):
                assert time.monotonic() < deadline
                time.sleep(0.1)
                samples = scrape(client)
    finally:
        server.stop()
        receiver.stop()
    assert len(sink.messages(to=email)) == 2  # the invitation and the code
    assert value(samples, "guestgate_deliveries_total", **mail) == 2
    assert value(samples, "guestgate_deliveries_total", channel="webhook", outcome="failed") == 1
    assert value(samples, "guestgate_deliveries_total", **hook) == 1
    assert value(samples, "guestgate_invitations_created_total") == 1
    assert value(samples, "guestgate_invitations_redeemed_total") == 1
    assert value(samples, "guestgate_outbox_backlog", queue="webhook") == 0


def test_off_unless_a_token_is_set(http_server: Server) -> None:
    with http_server.client() as client:
        assert client.get("/metrics", headers=AUTH).status_code == 404
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_a_short_token_is_refused_at_start(tmp_path: Path) -> None:
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env={"GUESTGATE_METRICS_TOKEN": "short"},
    )
    ran = server.cli("serve", check=False)
    assert ran.returncode != 0
    assert "GUESTGATE_METRICS_TOKEN must be at least 16 printable characters" in ran.stderr
    assert "short" not in ran.stderr.replace("GUESTGATE_METRICS_TOKEN", "")
