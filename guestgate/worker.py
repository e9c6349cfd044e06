"""The outbox relays: in-process inside `guestgate serve`, or as `guestgate worker` processes.

`OutboxWorker` sends mail; the `WebhookWorker` it runs beside it delivers webhooks, in a
loop of its own so a slow receiver never holds up mail (or the other way round); the
`BulkWorker` beside them runs bulk-invite jobs, also in a loop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from guestgate.adapters.mail.render import Mail, Sender, build
from guestgate.adapters.mail.transport import Transport
from guestgate.domain.messages import Payload
from guestgate.domain.timestamps import utcnow
from guestgate.services.bulk import BulkRunner
from guestgate.services.event_sweeps import forget_old_events, report_expired
from guestgate.services.outbox import deliver_due
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.retention import RETENTION_INTERVAL, forget_expired
from guestgate.services.subscriptions import notify_due as notify_subscriptions
from guestgate.services.webhook_delivery import DeliveryPolicy
from guestgate.services.webhook_delivery import deliver_due as deliver_webhooks
from guestgate.services.webhooks import Sender as WebhookSender

log = logging.getLogger("guestgate.worker")
EXPIRY_INTERVAL = 60.0  # seconds between two expiry sweeps of one worker
# Seconds between two lifecycle passes of one worker (services/lifecycle_scheduler.py): each
# pass takes at most its limit of steps, so a backlog after downtime goes out at that pace.
LIFECYCLE_INTERVAL = 300.0


class OutboxWorker:
    """Polls for due messages; `wake()` makes it look at once (after an in-process commit)."""

    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        *,
        sealer: Sealer,
        transport: Transport,
        sender: Sender,
        poll_seconds: float = 1.0,
        retry_base: float = 5.0,
        lease_seconds: float = 60.0,
        retention_days: int = 30,
        deleted_user_days: int = 30,
        now: Callable[[], datetime] = utcnow,
        webhooks: WebhookWorker | None = None,
    ) -> None:
        self.webhooks = webhooks
        self.bulk: BulkWorker | None = None  # set by bootstrap where jobs may run
        self.retry_base = retry_base
        self.retention_days = retention_days
        self.deleted_user_days = deleted_user_days
        self._retention_due = 0.0  # loop time of the next retention pass; 0: at start
        self.lease = timedelta(seconds=lease_seconds)
        self.make_uow = make_uow
        self.sealer = sealer
        self.transport = transport
        self.sender = sender
        self.poll_seconds = poll_seconds
        self.now = now
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.webhooks is not None:
            self.webhooks.stop()
        if self.bulk is not None:
            self.bulk.stop()

    def _build(self, payload: Payload, outbox_id: str) -> Mail:
        return build(payload, outbox_id=outbox_id, sender=self.sender, now=self.now())

    async def forget_expired(self) -> None:
        """The retention pass (services/retention.py), and the mail folder's old files."""
        now = self.now()
        forgotten = await forget_expired(
            self.make_uow,
            now=now,
            retention_days=self.retention_days,
            deleted_user_days=self.deleted_user_days,
        )
        files = await self.transport.purge(
            before=(now - timedelta(days=self.retention_days)).timestamp()
        )
        log.info(
            "retention pass",
            extra={
                "outbox": forgotten.outbox,
                "sessions": forgotten.sessions,
                "counters": forgotten.counters,
                "signin": forgotten.signin,
                "bulkJobs": forgotten.bulk_jobs,
                "deletedUsers": forgotten.deleted_users,
                "files": files,
            },
        )

    async def _retention(self) -> None:
        clock = asyncio.get_running_loop().time()
        if clock < self._retention_due:
            return
        self._retention_due = clock + RETENTION_INTERVAL
        try:
            await self.forget_expired()
        except Exception:  # the database may be down for a while: the next pass catches up
            log.exception("retention pass failed")

    async def run_once(self) -> int:
        return await deliver_due(
            self.make_uow,
            sealer=self.sealer,
            transport=self.transport,
            build=self._build,
            now=self.now,
            retry_base=self.retry_base,
            lease=self.lease,
            concurrency=self.transport.in_flight,
        )

    async def run(self) -> None:
        relay = self.webhooks
        webhooks = None if relay is None else asyncio.create_task(relay.run())
        jobs = None if self.bulk is None else asyncio.create_task(self.bulk.run())
        try:
            while not self._stop.is_set():
                await self._retention()
                try:
                    claimed = await self.run_once()
                except Exception:  # the database may be down for a while: keep going
                    log.exception("outbox pass failed")
                    claimed = 0
                if claimed:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
        finally:
            if relay is not None and webhooks is not None:
                relay.stop()
                await webhooks
            if self.bulk is not None and jobs is not None:
                self.bulk.stop()
                await jobs
            await self.transport.close()


class WebhookWorker:
    """Polls for new events: webhook deliveries (services/webhook_delivery.py) and Graph change
    notifications (services/subscriptions.py). Between them it runs the event sweeps
    (services/event_sweeps.py): expired invitations about once a minute, event retention
    about once an hour."""

    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        *,
        sealer: Sealer,
        sender: WebhookSender,
        policy: DeliveryPolicy,
        poll_seconds: float = 1.0,
        now: Callable[[], datetime] = utcnow,
        event_retention_days: int = 90,
        expiry_interval: float = EXPIRY_INTERVAL,
    ) -> None:
        self.make_uow = make_uow
        self.sealer = sealer
        self.sender = sender
        self.policy = policy
        self.event_retention_days = event_retention_days
        self.expiry_interval = expiry_interval
        self._expiry_due = 0.0  # loop times of the next sweeps; 0: at start
        self._retention_due = 0.0
        # Open approval requests past their time (services/approvals.py), set by bootstrap.
        self.expire_approvals: Callable[[], Awaitable[int]] | None = None
        # The lifecycle scheduler's pass, set by bootstrap (it needs the directory's actions).
        self.lifecycle: Callable[[], Awaitable[object]] | None = None
        self.lifecycle_interval = LIFECYCLE_INTERVAL
        self._lifecycle_due = 0.0
        self.poll_seconds = poll_seconds
        self.now = now
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run_once(self) -> int:
        sent = await deliver_webhooks(
            self.make_uow, sealer=self.sealer, sender=self.sender, now=self.now, policy=self.policy
        )
        return sent + await notify_subscriptions(
            self.make_uow,
            sealer=self.sealer,
            sender=self.sender,
            now=self.now,
            attempt_seconds=self.policy.timeout_seconds,
        )

    async def sweep(self) -> None:
        """The event sweeps that are due (each at its own interval); a failure waits for the
        next turn, as the database may be down for a while."""
        clock = asyncio.get_running_loop().time()
        if clock >= self._expiry_due:
            self._expiry_due = clock + self.expiry_interval
            try:
                told = await report_expired(self.make_uow, now=self.now())
                if told:
                    log.info("expired invitations told of", extra={"expired": told})
            except Exception:
                log.exception("expiry sweep failed")
            try:
                if self.expire_approvals is not None:
                    lapsed = await self.expire_approvals()
                    if lapsed:
                        log.info("approval requests expired", extra={"expired": lapsed})
            except Exception:
                log.exception("approval expiry sweep failed")
        if clock >= self._retention_due:
            self._retention_due = clock + RETENTION_INTERVAL
            try:
                gone = await forget_old_events(
                    self.make_uow, now=self.now(), retention_days=self.event_retention_days
                )
                log.info(
                    "event retention pass",
                    extra={"events": gone.events, "deliveryLog": gone.log_rows},
                )
            except Exception:
                log.exception("event retention pass failed")
        if self.lifecycle is not None and clock >= self._lifecycle_due:
            self._lifecycle_due = clock + self.lifecycle_interval
            try:
                await self.lifecycle()
            except Exception:
                log.exception("lifecycle pass failed")

    async def run(self) -> None:
        self._stop.clear()
        try:
            while not self._stop.is_set():
                await self.sweep()
                try:
                    sent = await self.run_once()
                except Exception:  # the database may be down for a while: keep going
                    log.exception("webhook pass failed")
                    sent = 0
                if sent:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=self.poll_seconds)
        finally:
            await self.sender.close()


class BulkWorker:
    """Runs bulk-invite jobs (services/bulk.py) one at a time; `wake()` after a job is
    queued in this process. Stopping gives a running job back between two batches."""

    def __init__(self, runner: BulkRunner, *, poll_seconds: float = 1.0) -> None:
        self.runner = runner
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        self._stop.clear()
        while not self._stop.is_set():
            try:
                ran = await self.runner.run_once(stop=self._stop)
            except Exception:  # the database may be down for a while: keep going
                log.exception("bulk pass failed")
                ran = False
            if ran:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
