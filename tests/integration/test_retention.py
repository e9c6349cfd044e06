"""The worker's retention pass on SQLite and PostgreSQL, and the mail folder's files."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from guestgate.adapters.mail.render import Mail, Sender
from guestgate.adapters.mail.transport import FolderTransport
from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.config import MailSettings
from guestgate.domain.timestamps import iso
from guestgate.errors import ConfigError
from guestgate.worker import OutboxWorker
from tests.contract.builders import committed, make_invitation, tenant_with_guest

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def mail(name: str) -> Mail:
    return Mail(
        message_id=f"<{name}@example.test>",
        sender="gg@example.test",
        recipients=["guest@example.com"],
        data=b"Subject: code 123456\r\n\r\nhttps://gg.test/redeem/?ticket=secret\r\n",
        smtputf8=False,
    )


async def test_eml_files_and_their_folder_are_the_owners_only(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)  # left readable by an earlier version
    old_umask = os.umask(0)  # the widest umask: the modes must not depend on it
    try:
        transport = FolderTransport(str(folder))
        await transport.send(mail("m1"))
        await transport.send(mail("m1"))  # a retry overwrites
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    [path] = folder.iterdir()
    assert path.name == "m1.eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_the_transport_purges_files_older_than_a_time(tmp_path: Path) -> None:
    transport = FolderTransport(str(tmp_path / "mail"))
    await transport.send(mail("old"))
    await transport.send(mail("new"))
    (tmp_path / "mail" / "notes.txt").write_text("not ours")
    old = (NOW - timedelta(days=40)).timestamp()
    os.utime(tmp_path / "mail" / "old.eml", (old, old))
    assert await transport.purge(before=(NOW - timedelta(days=30)).timestamp()) == 1
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["new.eml", "notes.txt"]
    assert await FolderTransport(str(tmp_path / "none")).purge(before=NOW.timestamp()) == 0


async def test_the_worker_forgets_what_outlived_the_retention_period(
    uow: Callable[..., SqlUnitOfWork], tmp_path: Path
) -> None:
    _, guest = await tenant_with_guest(uow)
    invitation = make_invitation(guest)
    await committed(uow, (invitation, "ticket"))
    long_ago, recently = iso(NOW - timedelta(days=31)), iso(NOW - timedelta(days=29))
    async with uow() as work:
        for message_id, when in (("m-old", long_ago), ("m-new", recently)):
            await work.outbox.add(
                id=message_id,
                tenant_id=guest.tenant_id,
                kind="invitation",
                recipient="g@example.com",
                sealed="x",
                now=when,
            )
        await work.outbox.add(
            id="m-pending",
            tenant_id=guest.tenant_id,
            kind="invitation",
            recipient="g@example.com",
            sealed="x",
            now=long_ago,
        )
        for message_id, when in (("m-old", long_ago), ("m-new", recently)):
            await work.outbox.mark_sent(message_id, when)
        for session, ends in (("s-old", long_ago), ("s-new", recently)):
            await work.redeem_sessions.add(
                session_hash=session, invitation_id=invitation.id, now=ends, expires_at=ends
            )
        now_ms = int(NOW.timestamp() * 1000)
        await work.rate_limits.hit("ended", now_ms=now_ms - 120_000, window_ms=60_000)
        await work.rate_limits.hit("current", now_ms=now_ms, window_ms=60_000)
        await work.commit()
    worker = OutboxWorker(
        uow,
        sealer=Sealer(b"k" * 32),
        transport=FolderTransport(str(tmp_path / "mail")),
        sender=Sender("gg@example.test"),
        retention_days=30,
        now=lambda: NOW,
    )
    await worker.forget_expired()
    async with uow(write=False) as work:
        left = sorted(m.id for m in await work.outbox.list(status=None, limit=10))
        assert left == ["m-new", "m-pending"]
        assert await work.redeem_sessions.get("s-old") is None
        assert await work.redeem_sessions.get("s-new") is not None
        assert await work.rate_limits.get("current", now_ms=now_ms) is not None
        assert await work.rate_limits.get("ended", now_ms=0) is None


@pytest.mark.parametrize("days", [0, 3651])
def test_the_retention_period_is_checked(days: int) -> None:
    with pytest.raises(ConfigError, match="RETENTION"):
        MailSettings(retention_days=days)


def test_the_retention_period_comes_from_the_environment(tmp_path: Path) -> None:
    from guestgate.config_env import from_env

    env = {"GUESTGATE_RETENTION_DAYS": "7", "GUESTGATE_SECRET_KEY_FILE": str(tmp_path / "k")}
    assert from_env(env).mail.retention_days == 7
    assert from_env({"GUESTGATE_SECRET_KEY_FILE": str(tmp_path / "k")}).mail.retention_days == 30
