"""Delivery guarantees: SMTP down loses nothing, several workers never send one row twice."""

from __future__ import annotations

import asyncio
import base64
import collections
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.messages import InvitationMail
from guestgate.domain.timestamps import utcnow
from guestgate.services import outbox, tenants
from tests.e2e.server import GUESTGATE, Caller, Server
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e


def outbox_states(server: Server) -> dict[str, int]:
    rows = server.cli("outbox", "list", "--limit", "100000", "--json").stdout
    import json

    return dict(collections.Counter(m["status"] for m in json.loads(rows)))


def test_smtp_down_during_100_invites_then_every_email_arrives_once(tmp_path: Path) -> None:
    sink = SmtpSink()  # not started: connections are refused
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url, "GUESTGATE_OUTBOX_RETRY_BASE": "1"},
    )
    server.start()
    try:
        caller = Caller.demo(server)
        emails = [f"down.{i}.{uuid.uuid4().hex[:6]}@example.com" for i in range(100)]
        statuses = [
            caller.invite({"invitedUserEmailAddress": e, "sendInvitationMessage": True}).status_code
            for e in emails
        ]
        assert statuses == [201] * 100
        time.sleep(2)
        assert sink.received == []
        states = outbox_states(server)
        assert states.get("sent", 0) == 0
        assert states.get("pending") == 100
        sink.start()
        try:
            sink.wait_for(100, timeout=90)
            time.sleep(2)  # anything sent twice would arrive now
            ids = collections.Counter(str(r.message["Message-ID"]) for r in sink.received)
            recipients = sorted(r.rcpt_tos[0] for r in sink.received)
        finally:
            sink.stop()
        assert len(ids) == 100
        assert set(ids.values()) == {1}
        assert recipients == sorted(emails)
        assert outbox_states(server) == {"sent": 100}
    finally:
        server.stop()


def test_permanent_smtp_refusal_goes_dead_and_can_be_retried(tmp_path: Path) -> None:
    sink = SmtpSink(reply="550 5.1.1 mailbox unavailable").start()
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url, "GUESTGATE_OUTBOX_RETRY_BASE": "1"},
    )
    server.start()
    try:
        caller = Caller.demo(server)
        caller.invite(
            {"invitedUserEmailAddress": "refused@example.com", "sendInvitationMessage": True}
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and outbox_states(server).get("dead") != 1:
            time.sleep(0.2)
        import json

        [dead] = json.loads(server.cli("outbox", "list", "--status", "dead", "--json").stdout)
        assert dead["last_error"] == "SMTP 550"
        assert dead["attempts"] == 1
        sink.reply = None
        assert json.loads(server.cli("outbox", "retry", "all", "--json").stdout) == {"requeued": 1}
        [message] = sink.wait_for(1, to="refused@example.com")
        assert message["Message-ID"].startswith(f"<{dead['id']}@")
    finally:
        server.stop()
        sink.stop()


@pytest.fixture
def pg_url(postgres_url_factory: Callable[[], str]) -> str:
    url = postgres_url_factory()
    migrate.upgrade(url)
    return url


@pytest.mark.postgres
def test_two_workers_on_postgres_send_each_of_1000_messages_once(
    pg_url: str, tmp_path: Path
) -> None:
    key = b"k" * 32
    sealer = Sealer(key)

    async def fill() -> None:
        db = connect(pg_url)
        try:
            tenant = await tenants.create_tenant(
                SqlUnitOfWork(db), name="Contoso", domains=["contoso.example"], now=utcnow()
            )
            for chunk in range(10):
                async with SqlUnitOfWork(db) as uow:
                    for i in range(100):
                        n = chunk * 100 + i
                        await outbox.enqueue(
                            uow,
                            sealer=sealer,
                            tenant_id=tenant.id,
                            message=InvitationMail(
                                to=f"bulk{n}@example.com",
                                to_name=None,
                                cc=None,
                                org="Contoso",
                                logo_url=None,
                                inviter=None,
                                redeem_url=f"https://gg.example/r/{n}",
                                language=None,
                                body=None,
                                expires=None,
                            ),
                            now=utcnow(),
                        )
                    await uow.commit()
        finally:
            await db.close()

    asyncio.run(fill())
    sink = SmtpSink().start()
    env = {
        "GUESTGATE_DATABASE_URL": pg_url,
        "GUESTGATE_SECRET_KEY": base64.urlsafe_b64encode(key).decode(),
        "GUESTGATE_SMTP_URL": sink.url,
        "GUESTGATE_LOG_LEVEL": "WARNING",
        "PATH": "/usr/bin:/bin",
    }
    workers = [
        subprocess.Popen(
            [*GUESTGATE, "worker", "--poll", "0.2"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        sink.wait_for(1000, timeout=180)
        time.sleep(2)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
            assert worker.stderr is not None
            worker.stderr.close()
        sink.stop()
    ids = collections.Counter(str(r.message["Message-ID"]) for r in sink.received)
    assert len(sink.received) == 1000
    assert len(ids) == 1000
    assert set(ids.values()) == {1}
