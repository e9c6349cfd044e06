"""Faults from outside: PostgreSQL restarting under load, and mail servers misbehaving."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.e2e.server import Caller, Server, free_port
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster of our own, so restarting it disturbs nothing else."""

    datadir: Path
    port: int = field(default_factory=free_port)

    @property
    def bindir(self) -> Path:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not found:
            pytest.skip("PostgreSQL server binaries are not installed")
        return Path(found[-1])

    def run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> PrivateCluster:
        self.datadir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres", "postgres")
        self.run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir}"
        log = str(self.datadir / "server.log")  # not our pipe: the server outlives us
        self.run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", log, "-w", *args)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    base = Path(tempfile.mkdtemp(prefix="guestgate-pg-"))
    os.chmod(base, 0o755)
    pg = PrivateCluster(base / "data").init()
    pg.pg_ctl("start")
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Outcome:
    status: int
    seconds: float
    code: str | None
    retry_after: str | None
    invitation: str | None
    at: float


def steady_load(caller: Caller, stop: threading.Event, out: list[Outcome]) -> None:
    """About 50 invites a second from four clients until `stop`."""

    def run() -> None:
        with caller.server.client() as client:
            while not stop.is_set():
                started = time.monotonic()
                answer = client.post(
                    "/api/InviteGuest",
                    headers=caller.headers,
                    json={"invitedUserEmailAddress": f"pg.{uuid.uuid4().hex[:12]}@example.com"},
                )
                body = answer.json()
                out.append(
                    Outcome(
                        status=answer.status_code,
                        seconds=time.monotonic() - started,
                        code=body.get("error", {}).get("code"),
                        retry_after=answer.headers.get("retry-after"),
                        invitation=body.get("invitationId"),
                        at=time.monotonic(),
                    )
                )
                time.sleep(0.08)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.postgres
def test_postgres_restarts_under_load(tmp_path: Path, cluster: PrivateCluster) -> None:
    """Fast restart, then a crash (immediate stop) and recovery, while invites keep coming:
    only 201 or a quick 503 with Retry-After; every 201 is kept; it recovers by itself."""
    server = Server(workdir=tmp_path, database_url=cluster.url, workers=2)
    server.start()
    outcomes: list[Outcome] = []
    stop = threading.Event()
    try:
        caller = Caller.demo(server)
        loader = threading.Thread(target=steady_load, args=(caller, stop, outcomes))
        loader.start()
        time.sleep(2)
        cluster.pg_ctl("-m", "fast", "restart")
        time.sleep(3)
        cluster.pg_ctl("-m", "immediate", "stop")  # a crash: recovery on the next start
        time.sleep(8)  # longer than a request waits for a connection
        with server.client() as client:
            down = client.get("/readyz")
        assert down.status_code == 503
        assert down.headers["retry-after"]
        cluster.pg_ctl("start")
        recovered_at = time.monotonic()
        time.sleep(10)
        stop.set()
        loader.join()
    finally:
        stop.set()
        server.stop()
    statuses = {o.status for o in outcomes}
    assert statuses <= {201, 503}, statuses
    refused = [o for o in outcomes if o.status == 503]
    assert refused, "the outage was not seen at all"
    assert all(o.code == "DatabaseUnavailable" and o.retry_after for o in refused)
    assert max(o.seconds for o in refused) < 7  # fail fast: never hang on a dead database
    after = [o for o in outcomes if o.at > recovered_at + 5]
    assert after
    assert all(o.status == 201 for o in after)  # back by itself within 5 s
    print(
        f"\nPostgreSQL restarts: {len(outcomes)} requests, {len(refused)} answered 503"
        f" (slowest {max(o.seconds for o in refused):.2f} s), the rest 201"
    )
    created = {o.invitation for o in outcomes if o.status == 201}
    with psycopg.connect(cluster.url) as conn:
        stored = {str(r[0]) for r in conn.execute("SELECT id FROM invitations")}
    assert created <= stored


def stalling_smtp() -> tuple[socket.socket, int]:
    """A listener that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    return listener, listener.getsockname()[1]


def test_smtp_stalling_then_temporary_errors_then_healthy(tmp_path: Path) -> None:
    listener, port = stalling_smtp()
    sink = SmtpSink(port=port)
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env={
            "GUESTGATE_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=2",
            "GUESTGATE_OUTBOX_RETRY_BASE": "1",
        },
    )
    server.start()
    try:
        caller = Caller.demo(server)
        emails = [f"stall.{i}.{uuid.uuid4().hex[:6]}@example.com" for i in range(20)]
        started = time.monotonic()
        for email in emails:
            answer = caller.invite(
                {"invitedUserEmailAddress": email, "sendInvitationMessage": True}
            )
            assert answer.status_code == 201
        assert time.monotonic() - started < 5  # the stalled mail server does not slow the API
        time.sleep(4)
        stalled = json.loads(server.cli("outbox", "list", "--json").stdout)
        assert len(stalled) == 20
        assert {m["status"] for m in stalled} == {"pending"}
        errors = {m["last_error"] for m in stalled if m["last_error"]}
        assert errors == {"SMTP unavailable: SMTPConnectTimeoutError"}  # gave up, said why
        listener.close()
        sink.reply = "451 4.3.0 try again later"
        sink.start()
        time.sleep(4)
        assert sink.received == []  # 451 is temporary: kept, retried
        sink.reply = None
        sink.wait_for(20, timeout=90)
        time.sleep(2)
        ids = [str(r.message["Message-ID"]) for r in sink.received]
        assert len(ids) == len(set(ids)) == 20
        assert sorted(r.rcpt_tos[0] for r in sink.received) == sorted(emails)
    finally:
        server.stop()
        sink.stop()
        listener.close()
