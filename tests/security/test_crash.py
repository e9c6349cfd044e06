"""Crash consistency: SIGKILL the whole server at random moments while it invites and mails.

Twenty rounds of load with emails on, each ended by SIGKILL of the server and its workers at a
random point (during requests, commits, or deliveries). After every restart, every invitation
that was answered 201 must exist with its guest, its audit row and its outbox row, and no
address may have two guests. At the end every email is delivered, duplicates only with the
same Message-ID (a crash between SMTP's 250 and marking the row sent).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e

ROUNDS = 20
INVITES_PER_ROUND = 100
CLIENTS = 8
REPEAT_SHARE = 0.2


@dataclass
class Acknowledged:
    """What the server answered 201 for: invitation id → (guest id, address)."""

    invitations: dict[str, tuple[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: list[str] = field(default_factory=list)


def rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    if database_url.startswith("sqlite:"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def check_invariants(database_url: str, acknowledged: Acknowledged) -> None:
    if database_url.startswith("sqlite:"):
        assert rows(database_url, "PRAGMA integrity_check") == [("ok",)]
    invitations = {
        r[0]: (r[1], r[2], r[3])
        for r in rows(database_url, "SELECT id, user_id, email, send_message FROM invitations")
    }
    users = {r[0]: r[1] for r in rows(database_url, "SELECT id, email_key FROM users")}
    audited = {
        json.loads(r[0]).get("invitationId")
        for r in rows(
            database_url,
            "SELECT details FROM audit_events"
            " WHERE action IN ('invitation.create', 'invitation.reinvite')",
        )
    }
    mails: dict[str, int] = {}
    for (recipient,) in rows(
        database_url, "SELECT recipient FROM outbox WHERE kind = 'invitation'"
    ):
        mails[recipient.lower()] = mails.get(recipient.lower(), 0) + 1
    sent: dict[str, int] = {}
    for email, _, send in ((v[1], v[0], v[2]) for v in invitations.values()):
        if send:
            sent[email.lower()] = sent.get(email.lower(), 0) + 1
    with acknowledged.lock:
        answered = dict(acknowledged.invitations)
    for invitation_id, (user_id, _) in answered.items():
        assert invitation_id in invitations, f"acknowledged invitation {invitation_id} was lost"
        assert invitations[invitation_id][0] == user_id
        assert user_id in users
        assert invitation_id in audited, f"invitation {invitation_id} has no audit row"
    # One outbox row per invitation that asked for a message, and none without one.
    assert mails == sent
    keys = list(users.values())
    assert len(keys) == len(set(keys)), "an address has two guests"
    # Every invitation (acknowledged or committed just before the crash) has its guest.
    assert all(user_id in users for user_id, _, _ in invitations.values())


def load(
    caller: Caller,
    addresses: list[str],
    acknowledged: Acknowledged,
    stop: threading.Event,
) -> list[threading.Thread]:
    queue = list(addresses)
    lock = threading.Lock()

    def run() -> None:
        with caller.server.client() as client:
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    address = queue.pop()
                try:
                    answer = client.post(
                        "/api/InviteGuest",
                        headers=caller.headers,
                        json={"invitedUserEmailAddress": address, "sendInvitationMessage": True},
                    )
                except httpx.TransportError:
                    return  # the server is gone
                if answer.status_code == 201:
                    body = answer.json()
                    with acknowledged.lock:
                        acknowledged.invitations[body["invitationId"]] = (body["id"], address)
                elif answer.status_code != 503:
                    acknowledged.failures.append(f"{answer.status_code} {answer.text[:200]}")

    threads = [threading.Thread(target=run, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return threads


def crash_rounds(server: Server, sink: SmtpSink, seed: int) -> tuple[int, int]:
    """Runs the rounds; returns (acknowledged invitations, emails received)."""
    rng = random.Random(seed)
    server.start()
    caller = Caller.demo(server)
    acknowledged = Acknowledged()
    used: list[str] = []
    for _ in range(ROUNDS):
        fresh = [f"crash.{uuid.uuid4().hex[:12]}@example.com" for _ in range(INVITES_PER_ROUND)]
        repeats = int(INVITES_PER_ROUND * REPEAT_SHARE)
        if used:
            fresh[:repeats] = [rng.choice(used) for _ in range(repeats)]
        used += fresh
        rng.shuffle(fresh)
        stop = threading.Event()
        threads = load(caller, fresh, acknowledged, stop)
        time.sleep(rng.uniform(0.02, 0.6))
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        server.start()
        check_invariants(server.database_url, acknowledged)
    assert acknowledged.failures == []
    # Let the restarted worker deliver everything, then compare with what the sink holds.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pending = rows(server.database_url, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
        if pending == [(0,)]:
            break
        time.sleep(0.5)
    outbox_ids = {str(r[0]) for r in rows(server.database_url, "SELECT id FROM outbox")}
    assert rows(server.database_url, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'") == [(0,)]
    with sink.lock:
        received = [r.message["Message-ID"].strip("<>").split("@")[0] for r in sink.received]
    assert set(received) == outbox_ids  # every message arrived, and nothing unknown did
    print(
        f"\n{server.database_url.split(':')[0]}: {ROUNDS} kills, {len(acknowledged.invitations)}"
        f" invitations acknowledged, {len(outbox_ids)} messages queued, {len(received)} received"
        f" ({len(received) - len(set(received))} repeated with the same Message-ID), seed {seed}"
    )
    server.stop()
    return len(acknowledged.invitations), len(received)


@pytest.fixture
def crash_sink() -> Any:
    smtp = SmtpSink().start()
    yield smtp
    smtp.stop()


def crash_server(workdir: Path, database_url: str, sink: SmtpSink) -> Server:
    return Server(
        workdir=workdir,
        database_url=database_url,
        workers=2,
        extra_env={
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_OUTBOX_RETRY_BASE": "1",
            "GUESTGATE_OUTBOX_LEASE": "5",  # a killed worker's messages come back soon
        },
    )


def test_sigkill_loop_on_sqlite(tmp_path: Path, crash_sink: SmtpSink) -> None:
    seed = int(os.environ.get("GUESTGATE_CRASH_SEED", random.randrange(1 << 30)))
    server = crash_server(tmp_path, f"sqlite:///{tmp_path}/guestgate.db", crash_sink)
    try:
        acknowledged, received = crash_rounds(server, crash_sink, seed)
    finally:
        server.kill()
    assert acknowledged > ROUNDS  # the load really ran between kills (seed {seed})
    assert received >= acknowledged


@pytest.mark.postgres
def test_sigkill_loop_on_postgres(
    tmp_path: Path, crash_sink: SmtpSink, postgres_url_factory: Callable[[], str]
) -> None:
    seed = int(os.environ.get("GUESTGATE_CRASH_SEED", random.randrange(1 << 30)))
    server = crash_server(tmp_path, postgres_url_factory(), crash_sink)
    try:
        acknowledged, received = crash_rounds(server, crash_sink, seed)
    finally:
        server.kill()
    assert acknowledged > ROUNDS
    assert received >= acknowledged
