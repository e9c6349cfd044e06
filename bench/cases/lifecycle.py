"""One daily lifecycle evaluation over a million guests: the scheduler's read of every guest
and the evaluation of one policy (services/lifecycle_scheduler.py), timed in-process, as the
worker runs it (issue target: at most 60 s of worker time)."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.cases.users_1m import seed_guests
from bench.harness import CaseRun
from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.timestamps import utcnow
from guestgate.services import lifecycle, tenants
from guestgate.services.lifecycle_facts import SqlGuestFacts
from guestgate.services.lifecycle_scheduler import LEASE, _due

NS = "#microsoft.graph.identityGovernance."
POLICY = {
    "@odata.type": f"{NS}guestLifecyclePolicy",
    "displayName": "Redeem in 14 days, attest every 180",
    "isEnabled": True,
    "gracePeriodInDays": 7,
    "enforcementAction": {
        "@odata.type": f"{NS}disableThenDeleteEnforcementAction",
        "deletionGracePeriodInDays": 30,
    },
    "rules": [
        {"@odata.type": f"{NS}invitationRedemptionRule", "invitationRedemptionThresholdInDays": 14},
        {"@odata.type": f"{NS}periodicAttestationRule", "attestationIntervalInDays": 180},
        {"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 1},
    ],
    "notificationSchedule": {"offsetsAfterNonComplianceInDays": [1, 5]},
}


async def _measure(url: str, guests: int, seed: Any) -> dict[str, Any]:
    db = connect(url, pool_size=2)
    try:

        def uow(write: bool = True) -> SqlUnitOfWork:
            return SqlUnitOfWork(db, write=write)

        tenant = await tenants.create_tenant(
            uow(), name="Contoso", domains=["contoso.example"], now=utcnow()
        )
        started = time.perf_counter()
        seed(tenant.id)
        seeded = time.perf_counter() - started
        # Created under the policy's own date so that steps fall due on the day evaluated.
        facts = SqlGuestFacts(uow)
        await lifecycle.create_policy(
            uow(),
            guests=facts,
            tenant_id=tenant.id,
            raw=POLICY,
            now=datetime(2026, 1, 1, tzinfo=UTC),
            who=lifecycle.Who(user="bench"),
            confirm=True,
        )
        day = datetime(2026, 1, 20, 1, tzinfo=UTC)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        due, total = await _due(uow, facts, now=day, lease=LEASE)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "guests": guests,
            "seed_s": round(seeded, 1),
            "evaluation_s": round(wall, 2),
            "evaluation_cpu_s": round(
                after.ru_utime - cpu.ru_utime + after.ru_stime - cpu.ru_stime, 2
            ),
            "guests_per_s": round(guests / wall),
            "due_steps": total,
            "held_steps": len(due),
            "target_s": 60,
            "met": wall <= 60,
            "window_days": timedelta(days=19).days,
        }
    finally:
        await db.close()


def lifecycle_1m(run: CaseRun) -> dict[str, Any]:
    args = run.args
    if args.postgres:
        raise SystemExit("lifecycle seeds SQLite directly; run it without --postgres")
    path = run.workdir / "guestgate.db"
    url = f"sqlite:///{path}"
    os.makedirs(run.workdir, exist_ok=True)
    migrate.upgrade(url)
    return asyncio.run(
        _measure(url, args.guests, lambda tenant_id: seed_guests(path, tenant_id, args.guests))
    )
