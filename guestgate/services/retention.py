"""Retention: what is no longer needed is removed, since it holds addresses, links and codes.

The outbox worker runs `forget_expired` about once an hour (`RETENTION_INTERVAL`): sent and
dead outbox rows and redemption sessions that ended more than `retention_days` ago go, and
so do rate-limit counters whose window has ended, sign-in challenges once expired, and
sign-in sessions, codes and refresh tokens that ended or expired that long ago, and bulk
jobs (their rows' inputs and redeem links) that finished that long ago, and deleted users
kept for restore more than `deleted_user_days` (Entra's 30) ago, each audited. The mail
folder's files are the transport's (adapters/mail/transport.py, `purge`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from guestgate.domain.timestamps import iso
from guestgate.services.local_user_admin import purge_expired
from guestgate.services.ports import UnitOfWork
from guestgate.services.user_admin import RETENTION_DAYS, user_record

RETENTION_INTERVAL = 3600.0  # seconds between two passes of one worker


@dataclass(frozen=True, slots=True)
class Forgotten:
    outbox: int
    sessions: int
    counters: int
    signin: int = 0
    bulk_jobs: int = 0
    deleted_users: int = 0


async def forget_expired(
    make_uow: Callable[[], UnitOfWork],
    *,
    now: datetime,
    retention_days: int,
    deleted_user_days: int = RETENTION_DAYS,
) -> Forgotten:
    """Delete what has outlived the retention period; how many of each."""
    cutoff = iso(now - timedelta(days=retention_days))
    async with make_uow() as uow:
        outbox = await uow.outbox.purge(before=cutoff)
        sessions = await uow.redeem_sessions.purge(ended_before=cutoff)
        counters = await uow.rate_limits.purge(now_ms=int(now.timestamp() * 1000))
        signin = await uow.signin.purge(now=iso(now), before=cutoff)
        bulk_jobs = await uow.bulk_jobs.purge(finished_before=cutoff)
        await uow.commit()
    deleted_users = await purge_expired(
        make_uow(), record=user_record("local"), now=now, days=deleted_user_days
    )
    return Forgotten(
        outbox=outbox,
        sessions=sessions,
        counters=counters,
        signin=signin,
        bulk_jobs=bulk_jobs,
        deleted_users=deleted_users,
    )
