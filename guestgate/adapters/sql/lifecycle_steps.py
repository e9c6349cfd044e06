"""The scheduler's steps (schema_lifecycle.py): each (policy, version, guest, step, due day)
is claimed by one worker with a conditional write whose row count says who won."""

from __future__ import annotations

from collections.abc import Sequence

from guestgate.adapters.sql.driver import Transaction
from guestgate.domain.lifecycle_eval import StepKey, StepRow

_CLAIM = (
    "INSERT INTO lifecycle_steps"
    " (policy_id, version, user_id, step, due_on, tenant_id, status, claimed_at)"
    " VALUES (:policy_id, :version, :user_id, :step, :due_on, :tenant_id, 'claimed', :now)"
    " ON CONFLICT (policy_id, version, user_id, step, due_on) DO NOTHING"
)
# A claim whose worker died (its lease ran out) is taken over; a done step never is.
_RECLAIM = (
    "UPDATE lifecycle_steps SET claimed_at = :now WHERE policy_id = :policy_id"
    " AND version = :version AND user_id = :user_id AND step = :step AND due_on = :due_on"
    " AND status = 'claimed' AND claimed_at < :stale"
)
_KEY = (
    " WHERE policy_id = :policy_id AND version = :version AND user_id = :user_id"
    " AND step = :step AND due_on = :due_on"
)


def _key(key: StepKey) -> dict[str, object]:
    return {
        "policy_id": key.policy_id,
        "version": key.version,
        "user_id": key.user_id,
        "step": key.step,
        "due_on": key.due_on,
    }


class SqlLifecycleSteps:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def claim(self, key: StepKey, *, tenant_id: str, now: str, stale: str) -> bool:
        """Take the step for this worker: True only for the one worker that got it."""
        params = _key(key) | {"tenant_id": tenant_id, "now": now, "stale": stale}
        if await self.tx.execute(_CLAIM, params) == 1:
            return True
        return await self.tx.execute(_RECLAIM, params) == 1

    async def finish(self, key: StepKey, *, now: str) -> bool:
        done = await self.tx.execute(
            "UPDATE lifecycle_steps SET status = 'done', done_at = :now" + _KEY,  # noqa: S608
            _key(key) | {"now": now},
        )
        return done == 1

    async def settled(
        self, policy_id: str, version: int, *, stale: str
    ) -> set[tuple[str, str, str]]:
        """(user, step, due day) of the version's steps done, or claimed since `stale`."""
        rows = await self.tx.fetchall(
            "SELECT user_id, step, due_on FROM lifecycle_steps"
            " WHERE policy_id = :p AND version = :v"
            " AND (status = 'done' OR claimed_at >= :stale)",
            {"p": policy_id, "v": version, "stale": stale},
        )
        return {(r["user_id"], r["step"], r["due_on"]) for r in rows}

    async def done_for(self, tenant_id: str, user_id: str) -> set[str]:
        """The steps done to a guest under any policy (disable, delete)."""
        rows = await self.tx.fetchall(
            "SELECT DISTINCT step FROM lifecycle_steps WHERE tenant_id = :t AND user_id = :u"
            " AND status = 'done'",
            {"t": tenant_id, "u": user_id},
        )
        return {r["step"] for r in rows}

    async def list(self, tenant_id: str, *, policy_id: str | None = None) -> Sequence[StepRow]:
        where = "" if policy_id is None else " AND policy_id = :p"
        rows = await self.tx.fetchall(
            "SELECT * FROM lifecycle_steps WHERE tenant_id = :t"  # noqa: S608
            f"{where} ORDER BY due_on, user_id, step",
            {"t": tenant_id, "p": policy_id},
        )
        return [
            StepRow(
                key=StepKey(r["policy_id"], r["version"], r["user_id"], r["step"], r["due_on"]),
                status=r["status"],
                claimed_at=r["claimed_at"],
                done_at=r["done_at"],
            )
            for r in rows
        ]
