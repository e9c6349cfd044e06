"""Lifecycle policies and their versions, sponsors' keeps, used attestation links, and the
facts the evaluation reads of each guest (schema_lifecycle.py)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import replace

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.lifecycle import LifecyclePolicy, parse_policy, policy_json, with_rule_ids
from guestgate.domain.lifecycle_eval import GuestFacts, KeptAndInvited, Sponsor
from guestgate.domain.timestamps import parse_iso
from guestgate.domain.users import GUEST, PENDING

_SELECT = (
    "SELECT u.id, u.display_name, u.mail, u.created_at, u.external_user_state,"
    # users.invited_at is the latest invitation's time, kept on every write (migration 0026).
    " u.last_sign_in_at, u.account_enabled, a.kept_at, u.invited_at"
    " FROM users u LEFT JOIN lifecycle_attestations a ON a.user_id = u.id"
    " WHERE u.tenant_id = :tenant_id AND u.user_type = :guest"
)
_GUESTS = _SELECT + " AND u.id > :after ORDER BY u.id LIMIT :limit"
_GUEST = _SELECT + " AND u.id = :id"
_KEEP = (
    "INSERT INTO lifecycle_attestations (user_id, tenant_id, kept_at, kept_by)"
    " VALUES (:user_id, :tenant_id, :kept_at, :kept_by)"
    " ON CONFLICT (user_id) DO UPDATE SET kept_at = excluded.kept_at, kept_by = excluded.kept_by"
)


def _policy(row: Row, body: str | None = None) -> LifecyclePolicy:
    # Stored only once validated, so parsing again cannot fail.
    parsed = parse_policy(json.loads(body or row["body"]), tenant_id=row["tenant_id"])
    return with_rule_ids(
        replace(
            parsed,
            id=row["id"],
            version=row["version"],
            created_at=row["created_at"],
            modified_at=row["modified_at"],
        )
    )


def _facts(row: Row, sponsors: Sequence[str]) -> GuestFacts:
    def when(name: str) -> object:
        value = row[name]
        return None if value is None else parse_iso(value)

    return GuestFacts(
        user_id=row["id"],
        display_name=row["display_name"],
        mail=row["mail"],
        created_at=parse_iso(row["created_at"]),
        pending=row["external_user_state"] == PENDING,
        invited_at=when("invited_at"),  # type: ignore[arg-type]
        last_sign_in=when("last_sign_in_at"),  # type: ignore[arg-type]
        sponsors=tuple(sponsors),
        kept_at=when("kept_at"),  # type: ignore[arg-type]
        enabled=bool(row["account_enabled"]),
    )


class SqlLifecycle:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def count(self, tenant_id: str) -> int:
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS n FROM lifecycle_policies"
            " WHERE tenant_id = :t AND deleted_at IS NULL",
            {"t": tenant_id},
        )
        return int(row["n"]) if row else 0

    async def add(self, policy: LifecyclePolicy) -> None:
        await self.tx.execute(
            "INSERT INTO lifecycle_policies"
            " (id, tenant_id, version, enabled, body, created_at, modified_at)"
            " VALUES (:id, :tenant_id, :version, :enabled, :body, :created_at, :modified_at)",
            self._params(policy),
        )
        await self._add_version(policy)

    async def update(self, policy: LifecyclePolicy, *, expected_version: int) -> bool:
        """Write a new version; False if another change got there first."""
        done = await self.tx.execute(
            "UPDATE lifecycle_policies SET version = :version, enabled = :enabled, body = :body,"
            " modified_at = :modified_at WHERE id = :id AND version = :expected"
            " AND deleted_at IS NULL",
            self._params(policy) | {"expected": expected_version},
        )
        if done != 1:
            return False
        await self._add_version(policy)
        return True

    def _params(self, policy: LifecyclePolicy) -> dict[str, object]:
        return {
            "id": policy.id,
            "tenant_id": policy.tenant_id,
            "version": policy.version,
            "enabled": policy.enabled,
            "body": json.dumps(policy_json(policy)),
            "created_at": policy.created_at,
            "modified_at": policy.modified_at,
        }

    async def _add_version(self, policy: LifecyclePolicy) -> None:
        await self.tx.execute(
            "INSERT INTO lifecycle_policy_versions (policy_id, version, body, created_at)"
            " VALUES (:id, :version, :body, :modified_at)",
            self._params(policy),
        )

    async def get(self, tenant_id: str, policy_id: str) -> LifecyclePolicy | None:
        row = await self.tx.fetchone(
            "SELECT * FROM lifecycle_policies WHERE id = :id AND tenant_id = :t"
            " AND deleted_at IS NULL",
            {"id": policy_id, "t": tenant_id},
        )
        return None if row is None else _policy(row)

    async def list(self, tenant_id: str | None = None) -> Sequence[LifecyclePolicy]:
        """The tenant's policies (every tenant's with None), oldest first."""
        where = "" if tenant_id is None else " AND tenant_id = :t"
        rows = await self.tx.fetchall(
            f"SELECT * FROM lifecycle_policies WHERE deleted_at IS NULL{where}"  # noqa: S608
            " ORDER BY created_at, id",
            {"t": tenant_id},
        )
        return [_policy(r) for r in rows]

    async def versions(self, tenant_id: str, policy_id: str) -> Sequence[LifecyclePolicy]:
        rows = await self.tx.fetchall(
            "SELECT p.id, p.tenant_id, p.created_at, v.version, v.created_at AS modified_at,"
            " v.body FROM lifecycle_policy_versions v"
            " JOIN lifecycle_policies p ON p.id = v.policy_id"
            " WHERE v.policy_id = :id AND p.tenant_id = :t AND p.deleted_at IS NULL"
            " ORDER BY v.version",
            {"id": policy_id, "t": tenant_id},
        )
        return [_policy(r) for r in rows]

    async def delete(self, tenant_id: str, policy_id: str, *, now: str) -> bool:
        done = await self.tx.execute(
            "UPDATE lifecycle_policies SET deleted_at = :now"
            " WHERE id = :id AND tenant_id = :t AND deleted_at IS NULL",
            {"id": policy_id, "t": tenant_id, "now": now},
        )
        return done == 1

    async def guests(
        self, tenant_id: str, *, after: str = "", limit: int = 2000
    ) -> Sequence[GuestFacts]:
        """One page of the tenant's guests in id order, with what the rules read."""
        rows = await self.tx.fetchall(
            _GUESTS, {"tenant_id": tenant_id, "guest": GUEST, "after": after, "limit": limit}
        )
        if not rows:
            return []
        sponsors: dict[str, list[str]] = {}
        for s in await self.tx.fetchall(
            "SELECT user_id, sponsor_id FROM user_sponsors WHERE tenant_id = :t"
            " AND user_id > :after AND user_id <= :last ORDER BY user_id, position",
            {"t": tenant_id, "after": after, "last": rows[-1]["id"]},
        ):
            sponsors.setdefault(s["user_id"], []).append(s["sponsor_id"])
        return [_facts(r, sponsors.get(r["id"], ())) for r in rows]

    async def kept(self, tenant_id: str, user_ids: Collection[str]) -> dict[str, KeptAndInvited]:
        """Microsoft 365 mode: the keeps and guestgate's latest invitations of these Entra
        users (graph_invitations), for those that have either."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        names = {f"u{i}": uid for i, uid in enumerate(ids)}
        listed = ", ".join(f":{n}" for n in names)
        found: dict[str, list[str | None]] = {}
        for row in await self.tx.fetchall(
            "SELECT user_id, kept_at FROM lifecycle_attestations"  # noqa: S608
            f" WHERE tenant_id = :t AND user_id IN ({listed})",
            {"t": tenant_id, **names},
        ):
            found[row["user_id"]] = [row["kept_at"], None]
        for row in await self.tx.fetchall(
            "SELECT user_id, MAX(created_at) AS invited_at FROM graph_invitations"  # noqa: S608
            f" WHERE tenant_id = :t AND user_id IN ({listed}) GROUP BY user_id",
            {"t": tenant_id, **names},
        ):
            found.setdefault(row["user_id"], [None, None])[1] = row["invited_at"]
        return {
            uid: KeptAndInvited(
                kept_at=parse_iso(kept) if kept else None,
                invited_at=parse_iso(invited) if invited else None,
            )
            for uid, (kept, invited) in found.items()
        }

    async def keep(self, tenant_id: str, user_id: str, *, at: str, by: str) -> None:
        await self.tx.execute(
            _KEEP, {"user_id": user_id, "tenant_id": tenant_id, "kept_at": at, "kept_by": by}
        )

    async def use_link(self, jti: str, user_id: str, *, at: str) -> bool:
        """Mark a link used; False if it was used before (a link works once)."""
        done = await self.tx.execute(
            "INSERT INTO lifecycle_links (jti, user_id, used_at) VALUES (:jti, :u, :at)"
            " ON CONFLICT (jti) DO NOTHING",
            {"jti": jti, "u": user_id, "at": at},
        )
        return done == 1

    async def guest(self, tenant_id: str, user_id: str) -> GuestFacts | None:
        row = await self.tx.fetchone(
            _GUEST, {"tenant_id": tenant_id, "guest": GUEST, "id": user_id}
        )
        if row is None:
            return None
        sponsors = await self.tx.fetchall(
            "SELECT sponsor_id FROM user_sponsors WHERE user_id = :id ORDER BY position",
            {"id": user_id},
        )
        return _facts(row, [s["sponsor_id"] for s in sponsors])

    async def sponsors_of(self, tenant_id: str, user_id: str) -> Sequence[Sponsor]:
        rows = await self.tx.fetchall(
            "SELECT s.id, s.display_name, s.mail FROM user_sponsors p JOIN users s"
            " ON s.id = p.sponsor_id WHERE p.user_id = :id AND p.tenant_id = :t"
            " ORDER BY p.position",
            {"id": user_id, "t": tenant_id},
        )
        return [Sponsor(r["id"], r["display_name"], r["mail"]) for r in rows]
