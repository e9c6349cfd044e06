"""Sign-in state: code challenges, sessions, authorization codes, refresh tokens, activity.

Every "use once" step is a conditional UPDATE, so of two parallel uses exactly one wins on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, TypeVar

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.signin import AuthorizationCode, Challenge, RefreshToken, SignInSession

T = TypeVar("T")


def _of(cls: type[T], row: Row) -> T:
    kind: Any = cls
    return cls(**{f.name: row[f.name] for f in fields(kind)})


class SqlSignIn:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    # One-time-code challenges

    async def add_challenge(self, challenge: Challenge) -> None:
        await self.tx.execute(
            "INSERT INTO signin_challenges (challenge_hash, tenant_id, user_id, request,"
            " code_attempts, codes_sent, created_at, expires_at) VALUES (:challenge_hash,"
            " :tenant_id, :user_id, :request, 0, 0, :created_at, :expires_at)",
            {
                "challenge_hash": challenge.challenge_hash,
                "tenant_id": challenge.tenant_id,
                "user_id": challenge.user_id,
                "request": challenge.request,
                "created_at": challenge.created_at,
                "expires_at": challenge.expires_at,
            },
        )

    async def get_challenge(self, challenge_hash: str) -> Challenge | None:
        row = await self.tx.fetchone(
            "SELECT * FROM signin_challenges WHERE challenge_hash = :h", {"h": challenge_hash}
        )
        return None if row is None else _of(Challenge, row)

    async def set_challenge_code(
        self, challenge_hash: str, *, code_hash: str | None, expires_at: str, now: str
    ) -> None:
        await self.tx.execute(
            "UPDATE signin_challenges SET code_hash = :code_hash, code_expires_at = :expires_at,"
            " code_attempts = 0, codes_sent = codes_sent + 1, last_code_at = :now"
            " WHERE challenge_hash = :h",
            {"h": challenge_hash, "code_hash": code_hash, "expires_at": expires_at, "now": now},
        )

    async def count_challenge_attempt(self, challenge_hash: str, limit: int) -> bool:
        """Use one attempt if any is left; parallel guesses cannot exceed `limit`."""
        count = await self.tx.execute(
            "UPDATE signin_challenges SET code_attempts = code_attempts + 1"
            " WHERE challenge_hash = :h AND code_attempts < :limit",
            {"h": challenge_hash, "limit": limit},
        )
        return count == 1

    async def recent_challenges(self, user_id: str, *, since: str) -> int:
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS n FROM signin_challenges"
            " WHERE user_id = :id AND created_at > :since",
            {"id": user_id, "since": since},
        )
        return int(row["n"]) if row else 0

    async def delete_challenge(self, challenge_hash: str) -> bool:
        count = await self.tx.execute(
            "DELETE FROM signin_challenges WHERE challenge_hash = :h", {"h": challenge_hash}
        )
        return count == 1

    # Sessions

    async def add_session(self, session: SignInSession) -> None:
        await self.tx.execute(
            "INSERT INTO signin_sessions (session_hash, sid, tenant_id, user_id, auth_time,"
            " expires_at) VALUES (:session_hash, :sid, :tenant_id, :user_id, :auth_time,"
            " :expires_at)",
            {
                "session_hash": session.session_hash,
                "sid": session.sid,
                "tenant_id": session.tenant_id,
                "user_id": session.user_id,
                "auth_time": session.auth_time,
                "expires_at": session.expires_at,
            },
        )

    async def get_session(self, session_hash: str) -> SignInSession | None:
        row = await self.tx.fetchone(
            "SELECT * FROM signin_sessions WHERE session_hash = :h", {"h": session_hash}
        )
        return None if row is None else _of(SignInSession, row)

    async def end_session(self, session_hash: str, now: str) -> bool:
        count = await self.tx.execute(
            "UPDATE signin_sessions SET ended_at = :now"
            " WHERE session_hash = :h AND ended_at IS NULL",
            {"h": session_hash, "now": now},
        )
        return count == 1

    # Authorization codes

    async def add_code(self, code_hash: str, code: AuthorizationCode) -> None:
        await self.tx.execute(
            "INSERT INTO authorization_codes (code_hash, app_id, user_id, sid, redirect_uri,"
            " scope, nonce, code_challenge, auth_time, expires_at) VALUES (:code_hash, :app_id,"
            " :user_id, :sid, :redirect_uri, :scope, :nonce, :code_challenge, :auth_time,"
            " :expires_at)",
            {
                "code_hash": code_hash,
                "app_id": code.app_id,
                "user_id": code.user_id,
                "sid": code.sid,
                "redirect_uri": code.redirect_uri,
                "scope": code.scope,
                "nonce": code.nonce,
                "code_challenge": code.code_challenge,
                "auth_time": code.auth_time,
                "expires_at": code.expires_at,
            },
        )

    async def get_code(self, code_hash: str) -> AuthorizationCode | None:
        row = await self.tx.fetchone(
            "SELECT * FROM authorization_codes WHERE code_hash = :h", {"h": code_hash}
        )
        return None if row is None else _of(AuthorizationCode, row)

    async def use_code(self, code_hash: str, *, family_id: str, now: str) -> bool:
        """Mark the code used, naming the token family it starts; False if it was used."""
        count = await self.tx.execute(
            "UPDATE authorization_codes SET used_at = :now, family_id = :family"
            " WHERE code_hash = :h AND used_at IS NULL",
            {"h": code_hash, "now": now, "family": family_id},
        )
        return count == 1

    # Refresh tokens

    async def add_refresh_token(self, token_hash: str, token: RefreshToken) -> None:
        await self.tx.execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, app_id, user_id, sid, scope,"
            " auth_time, created_at, expires_at) VALUES (:token_hash, :family_id, :app_id,"
            " :user_id, :sid, :scope, :auth_time, :created_at, :expires_at)",
            {
                "token_hash": token_hash,
                "family_id": token.family_id,
                "app_id": token.app_id,
                "user_id": token.user_id,
                "sid": token.sid,
                "scope": token.scope,
                "auth_time": token.auth_time,
                "created_at": token.created_at,
                "expires_at": token.expires_at,
            },
        )

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        row = await self.tx.fetchone(
            "SELECT * FROM refresh_tokens WHERE token_hash = :h", {"h": token_hash}
        )
        return None if row is None else _of(RefreshToken, row)

    async def rotate_refresh_token(self, token_hash: str, now: str) -> bool:
        """Retire the token if it is live; False if it was already used or revoked."""
        count = await self.tx.execute(
            "UPDATE refresh_tokens SET used_at = :now"
            " WHERE token_hash = :h AND used_at IS NULL AND revoked_at IS NULL",
            {"h": token_hash, "now": now},
        )
        return count == 1

    async def revoke_family(self, family_id: str, now: str) -> int:
        return await self.tx.execute(
            "UPDATE refresh_tokens SET revoked_at = :now"
            " WHERE family_id = :family AND revoked_at IS NULL",
            {"family": family_id, "now": now},
        )

    async def family_revoked(self, family_id: str) -> bool:
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS n FROM refresh_tokens"
            " WHERE family_id = :family AND revoked_at IS NOT NULL",
            {"family": family_id},
        )
        return bool(row and row["n"])

    async def purge(self, *, now: str, before: str) -> int:
        """Remove what can no longer be used: expired challenges at once, the rest (ended
        sessions, codes, expired or revoked refresh tokens) once older than `before`."""
        removed = 0
        for sql in (
            "DELETE FROM signin_challenges WHERE expires_at <= :now",
            "DELETE FROM signin_sessions WHERE expires_at <= :before OR ended_at <= :before",
            "DELETE FROM authorization_codes WHERE expires_at <= :before",
            "DELETE FROM refresh_tokens WHERE expires_at <= :before OR revoked_at <= :before",
        ):
            removed += await self.tx.execute(sql, {"now": now, "before": before})
        return removed

    # Sign-in activity (Graph's signInActivity)

    async def record_activity(self, user_id: str, *, now: str, success: bool) -> None:
        await self.tx.execute(
            "INSERT INTO sign_in_activity (user_id, last_sign_in_at, last_successful_sign_in_at)"
            " VALUES (:id, :now, :success) ON CONFLICT (user_id) DO UPDATE SET"
            " last_sign_in_at = excluded.last_sign_in_at, last_successful_sign_in_at ="
            " COALESCE(excluded.last_successful_sign_in_at,"
            " sign_in_activity.last_successful_sign_in_at)",
            {"id": user_id, "now": now, "success": now if success else None},
        )
        # The sign-in report counts guests by this copy on their users row (migration 0023).
        await self.tx.execute(
            "UPDATE users SET last_sign_in_at = :now WHERE id = :id", {"id": user_id, "now": now}
        )

    async def activity(self, user_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        """(last sign-in, last successful sign-in) of each user that ever tried."""
        if not user_ids:
            return {}
        names = {f"u{i}": uid for i, uid in enumerate(user_ids)}
        rows = await self.tx.fetchall(
            "SELECT * FROM sign_in_activity WHERE user_id IN ("  # noqa: S608 (bound names)
            + ", ".join(f":{n}" for n in names)
            + ")",
            names,
        )
        return {r["user_id"]: (r["last_sign_in_at"], r["last_successful_sign_in_at"]) for r in rows}
