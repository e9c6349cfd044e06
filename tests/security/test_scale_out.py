"""Scale-out: two API processes and two mail workers on one PostgreSQL database.

10,000 invites, a fifth of them for addresses already invited through the *other* process
(in another spelling): exactly one guest per address, one invitation per 201, and one email
per invitation, each delivered once.
"""

from __future__ import annotations

import collections
import random
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.e2e.server import GUESTGATE, Caller, Server
from tests.e2e.smtp import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

TOTAL = 10_000
REPEATS = TOTAL // 5
THREADS_PER_API = 6


def fire(server: Server, token: str, payloads: list[str], statuses: list[int]) -> None:
    """Send invites from a few keep-alive connections until the list is empty."""
    lock = threading.Lock()

    def run() -> None:
        with server.client() as client:
            while True:
                with lock:
                    if not payloads:
                        return
                    address = payloads.pop()
                answer = client.post(
                    "/api/InviteGuest",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"invitedUserEmailAddress": address, "sendInvitationMessage": True},
                )
                statuses.append(answer.status_code)

    threads = [threading.Thread(target=run) for _ in range(THREADS_PER_API)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_two_api_processes_and_two_workers(
    tmp_path: Path, postgres_url_factory: Callable[[], str]
) -> None:
    url = postgres_url_factory()
    sink = SmtpSink().start()
    common = {"GUESTGATE_SMTP_URL": sink.url, "GUESTGATE_LOG_LEVEL": "WARNING"}
    first = Server(workdir=tmp_path, database_url=url, extra_env=common)
    first.extra_env["GUESTGATE_INPROCESS_WORKER"] = "false"
    first.start()
    second = Server(
        workdir=tmp_path,
        database_url=url,
        demo=False,
        secret_key=first.secret_key,
        # Behind one load balancer both processes have one public URL (the token issuer).
        extra_env={
            **common,
            "GUESTGATE_INPROCESS_WORKER": "false",
            "GUESTGATE_PUBLIC_URL": first.base_url,
        },
    )
    second.start()
    workers = [
        subprocess.Popen(
            [*GUESTGATE, "worker", "--poll", "0.2"],
            env=first.env(),
            cwd=tmp_path,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        caller = Caller.demo(first)  # its token is honoured by the second process too
        unique = [f"scale.{i}.{uuid.uuid4().hex[:8]}@example.com" for i in range(TOTAL - REPEATS)]
        rng = random.Random(7)
        repeated = rng.sample(unique, REPEATS)
        to_first = unique[: len(unique) // 2] + [a.upper() for a in repeated[::2]]
        to_second = unique[len(unique) // 2 :] + [a.upper() for a in repeated[1::2]]
        rng.shuffle(to_first)
        rng.shuffle(to_second)
        statuses: list[int] = []
        started = time.monotonic()
        loads = [
            threading.Thread(target=fire, args=(first, caller.token, to_first, statuses)),
            threading.Thread(target=fire, args=(second, caller.token, to_second, statuses)),
        ]
        for load in loads:
            load.start()
        for load in loads:
            load.join()
        elapsed = time.monotonic() - started
        assert collections.Counter(statuses) == {201: TOTAL}, collections.Counter(statuses)
        sink.wait_for(TOTAL, timeout=300)
        time.sleep(2)  # a message sent twice would have arrived by now
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        first.stop()
        second.stop()
        sink.stop()
    with psycopg.connect(url) as conn:
        guests = conn.execute("SELECT COUNT(*) FROM users WHERE user_type = 'Guest'").fetchone()
        invitations = conn.execute("SELECT COUNT(*) FROM invitations").fetchone()
        keys = conn.execute("SELECT COUNT(DISTINCT email_key) FROM users").fetchone()
        outbox = conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
    assert guests == (TOTAL - REPEATS,)
    assert keys == (TOTAL - REPEATS,)
    assert invitations == (TOTAL,)
    assert outbox == [("sent", TOTAL)]
    ids = collections.Counter(str(r.message["Message-ID"]) for r in sink.received)
    assert len(ids) == TOTAL
    assert set(ids.values()) == {1}
    per_address = collections.Counter(r.rcpt_tos[0].lower() for r in sink.received)
    assert sum(per_address.values()) == TOTAL
    assert {per_address[a] for a in repeated} == {2}
    print(f"10,000 invites through two processes in {elapsed:.1f} s")
