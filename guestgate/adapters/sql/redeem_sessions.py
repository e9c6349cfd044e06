"""Redemption sessions: a guest's one-time-code state for one invitation."""

from __future__ import annotations

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.redemption import RedeemSession


def _session(row: Row) -> RedeemSession:
    return RedeemSession(
        session_hash=row["session_hash"],
        invitation_id=row["invitation_id"],
        code_hash=row["code_hash"],
        code_expires_at=row["code_expires_at"],
        code_attempts=row["code_attempts"],
        codes_sent=row["codes_sent"],
        last_code_at=row["last_code_at"],
        verified_at=row["verified_at"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


class SqlRedeemSessions:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(
        self, *, session_hash: str, invitation_id: str, now: str, expires_at: str
    ) -> None:
        await self.tx.execute(
            "INSERT INTO redeem_sessions (session_hash, invitation_id, code_attempts, codes_sent,"
            " created_at, expires_at) VALUES (:hash, :invitation_id, 0, 0, :now, :expires_at)",
            {
                "hash": session_hash,
                "invitation_id": invitation_id,
                "now": now,
                "expires_at": expires_at,
            },
        )

    async def get(self, session_hash: str) -> RedeemSession | None:
        row = await self.tx.fetchone(
            "SELECT * FROM redeem_sessions WHERE session_hash = :hash", {"hash": session_hash}
        )
        return None if row is None else _session(row)

    async def set_code(
        self, session_hash: str, *, code_hash: str, expires_at: str, now: str
    ) -> None:
        await self.tx.execute(
            "UPDATE redeem_sessions SET code_hash = :code_hash, code_expires_at = :expires_at,"
            " code_attempts = 0, codes_sent = codes_sent + 1, last_code_at = :now"
            " WHERE session_hash = :hash",
            {"hash": session_hash, "code_hash": code_hash, "expires_at": expires_at, "now": now},
        )

    async def count_attempt(self, session_hash: str, limit: int) -> bool:
        """Use one attempt if any is left; atomic, so parallel guesses cannot exceed `limit`."""
        count = await self.tx.execute(
            "UPDATE redeem_sessions SET code_attempts = code_attempts + 1"
            " WHERE session_hash = :hash AND code_attempts < :limit",
            {"hash": session_hash, "limit": limit},
        )
        return count == 1

    async def verify(self, session_hash: str, *, new_hash: str, now: str) -> None:
        """Mark verified under a new session id (no fixation); the code cannot be reused."""
        await self.tx.execute(
            "UPDATE redeem_sessions SET session_hash = :new_hash, verified_at = :now,"
            " code_hash = NULL WHERE session_hash = :hash",
            {"hash": session_hash, "new_hash": new_hash, "now": now},
        )

    async def end_for_invitation(self, invitation_id: str) -> int:
        """End every session of an invitation (its link was resent or revoked); how many."""
        return await self.tx.execute(
            "DELETE FROM redeem_sessions WHERE invitation_id = :id", {"id": invitation_id}
        )

    async def purge(self, *, ended_before: str) -> int:
        """Forget sessions that ended before `ended_before`; how many."""
        return await self.tx.execute(
            "DELETE FROM redeem_sessions WHERE expires_at < :before", {"before": ended_before}
        )

    async def add_if_current(
        self, *, session_hash: str, invitation_id: str, ticket_hash: str, now: str, expires_at: str
    ) -> bool:
        """Start a session only while `ticket_hash` is the pending invitation's ticket.

        On PostgreSQL the invitation's row is share-locked until commit: a resend or revoke
        racing this either has changed the row already (then no session starts) or waits for
        this one to commit and then ends it. SQLite has one writer, so no lock is needed.
        """
        lock = " FOR SHARE" if self.tx.dialect == "postgresql" else ""
        current = await self.tx.fetchone(
            "SELECT id FROM invitations WHERE id = :id AND ticket_hash = :ticket"  # noqa: S608
            f" AND status = 'PendingAcceptance'{lock}",
            {"id": invitation_id, "ticket": ticket_hash},
        )
        if current is None:
            return False
        await self.add(
            session_hash=session_hash, invitation_id=invitation_id, now=now, expires_at=expires_at
        )
        return True
