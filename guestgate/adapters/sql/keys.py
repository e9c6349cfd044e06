"""Token signing keys; the private halves are stored sealed."""

from __future__ import annotations

import json
from collections.abc import Sequence

from guestgate.adapters.sql.driver import Transaction
from guestgate.domain.keys import SigningKey


class SqlKeyRepository:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, key: SigningKey, sealed_private_key: str) -> None:
        await self.tx.execute(
            "INSERT INTO signing_keys (kid, private_key, public_jwk, created_at, retire_at)"
            " VALUES (:kid, :private_key, :public_jwk, :created_at, :retire_at)",
            {
                "kid": key.kid,
                "private_key": sealed_private_key,
                "public_jwk": json.dumps(key.public_jwk),
                "created_at": key.created_at,
                "retire_at": key.retire_at,
            },
        )

    async def list(self) -> Sequence[SigningKey]:
        rows = await self.tx.fetchall(
            "SELECT kid, public_jwk, created_at, retire_at FROM signing_keys"
            " ORDER BY created_at DESC, kid"
        )
        return [
            SigningKey(
                kid=r["kid"],
                public_jwk=json.loads(r["public_jwk"]),
                created_at=r["created_at"],
                retire_at=r["retire_at"],
            )
            for r in rows
        ]

    async def sealed_private_key(self, kid: str) -> str | None:
        row = await self.tx.fetchone(
            "SELECT private_key FROM signing_keys WHERE kid = :kid", {"kid": kid}
        )
        return None if row is None else str(row["private_key"])

    async def set_retire_at(self, kid: str, retire_at: str) -> None:
        await self.tx.execute(
            "UPDATE signing_keys SET retire_at = :retire_at WHERE kid = :kid"
            " AND (retire_at IS NULL OR retire_at > :retire_at)",
            {"kid": kid, "retire_at": retire_at},
        )
