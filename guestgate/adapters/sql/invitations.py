"""Invitations, found by id, by ticket hash or by a keyset-paged listing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.adapters.sql.reports import micros_between
from guestgate.domain.invitations import PENDING, Invitation, MessageInfo
from guestgate.domain.reports import accept_micros

_encode = msgspec.json.Encoder().encode

# The guest list reads a guest's latest invitation from the guest's own row (migration 0026):
# its id, its state as a person reads it (Expired is a Pending one whose expiry instant has
# passed, compared with now when listing), that expiry, its requester and when it was made.
# Every write below refreshes them in the write's own transaction. `LATEST_COLUMNS` and
# `LATEST_VALUES` are shared with the migration's backfill and the bench's seed.
LATEST_COLUMNS = (
    "latest_invitation_id",
    "invitation_state",
    "invitation_expires_at",
    "invitation_requester",
    "invited_at",
)
LATEST_VALUES = (
    "l.id",
    "CASE l.status WHEN 'Completed' THEN 'Accepted' WHEN 'PendingAcceptance' THEN 'Pending'"
    " ELSE l.status END",
    "CASE WHEN l.status = 'PendingAcceptance' THEN l.expires_at END",
    "l.requested_by",
    "l.created_at",
)
_SET_LATEST = ", ".join(f"{c} = {v}" for c, v in zip(LATEST_COLUMNS, LATEST_VALUES, strict=True))
_LATEST_OF = (
    " FROM (SELECT * FROM invitations WHERE user_id = {user}"
    " ORDER BY created_at DESC, id DESC LIMIT 1) AS l WHERE users.id = l.user_id"
)
_REFRESH_USER = "UPDATE users SET " + _SET_LATEST + _LATEST_OF.format(user=":uid")  # noqa: S608 (fixed text)
_ADD = (
    "INSERT INTO invitations (id, tenant_id, user_id, email, ticket_hash, status,"
    " redirect_url, send_message, requested_by, more, message_info, created_by_app,"
    " created_at, expires_at, completed_at, revoked_at, accept_us) VALUES (:id,"
    " :tenant_id, :user_id, :email, :ticket_hash, :status, :redirect_url,"
    " :send_message, :requested_by, :more, :message_info, :created_by_app,"
    " :created_at, :expires_at, :completed_at, :revoked_at, :accept_us)"
)
_SET_NEWEST = (
    "UPDATE users SET latest_invitation_id = :id, invitation_state = :state,"
    " invitation_expires_at = :expires, invitation_requester = :requester, invited_at = :at"
    " WHERE id = :uid AND (invited_at IS NULL OR invited_at < :at"
    " OR (invited_at = :at AND latest_invitation_id < :id))"
)
# PostgreSQL: the guest's row is locked before its invitation is written (the order a re-invite
# and an accept take), so the refresh, a statement of its own, sees every invitation that
# others committed first and none can be added while it runs. SQLite has one writer.
_LOCK_OWNER = (
    "UPDATE users SET tenant_id = tenant_id"
    " WHERE id = (SELECT o.user_id FROM invitations o WHERE o.id = :iid)"
)
_REFRESH_OWNER = (  # fixed text, as _REFRESH_USER
    "UPDATE users SET "  # noqa: S608
    + _SET_LATEST
    + _LATEST_OF.format(user="(SELECT o.user_id FROM invitations o WHERE o.id = :iid)")
)


def latest_state(status: str) -> str:
    """The guest list's state of a stored invitation status (before its expiry is read)."""
    return {"Completed": "Accepted", "PendingAcceptance": "Pending"}.get(status, status)


def _json(value: Any) -> str:
    """Compact JSON text, UTF-8 as written (json.dumps(ensure_ascii=False) would give the
    same), a few times faster: this is on every invite."""
    return _encode(value).decode()


def _invitation(row: Row) -> Invitation:
    return Invitation(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        email=row["email"],
        status=row["status"],
        redirect_url=row["redirect_url"],
        send_message=bool(row["send_message"]),
        requested_by=row["requested_by"],
        more=json.loads(row["more"]),
        message_info=MessageInfo.from_json(json.loads(row["message_info"]))
        if row["message_info"]
        else None,
        created_by_app=row["created_by_app"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        completed_at=row["completed_at"],
        revoked_at=row["revoked_at"],
    )


class SqlInvitationRepository:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, invitation: Invitation, ticket_hash: str, *, listed: bool = False) -> None:
        """Store an invitation and make it its guest's latest in the guest list; `listed`:
        the guest's row was written with it as its latest already (a new guest)."""
        values = {
            "id": invitation.id,
            "tenant_id": invitation.tenant_id,
            "user_id": invitation.user_id,
            "email": invitation.email,
            "ticket_hash": ticket_hash,
            "status": invitation.status,
            "redirect_url": invitation.redirect_url,
            "send_message": invitation.send_message,
            "requested_by": invitation.requested_by,
            "more": _json(invitation.more),
            "message_info": None
            if invitation.message_info is None
            else _json(invitation.message_info.to_json()),
            "created_by_app": invitation.created_by_app,
            "created_at": invitation.created_at,
            "expires_at": invitation.expires_at,
            "completed_at": invitation.completed_at,
            "revoked_at": invitation.revoked_at,
            # The reports' time to accept, for one created already accepted.
            "accept_us": None
            if invitation.completed_at is None
            else accept_micros(invitation.created_at, invitation.completed_at),
        }
        if listed:
            await self.tx.execute(_ADD, values)
            return
        # The new invitation is its guest's latest unless the stored latest is newer in the
        # list's order (created_at, id): set from the values at hand, no lookup. A concurrent
        # add on PostgreSQL re-checks the condition on the row it waited for.
        newest = {
            "uid": invitation.user_id,
            "id": invitation.id,
            "state": latest_state(invitation.status),
            "expires": invitation.expires_at if invitation.status == PENDING else None,
            "requester": invitation.requested_by,
            "at": invitation.created_at,
        }
        if self.tx.dialect == "postgresql":
            # One statement, one round trip: the insert runs as a CTE of the guest's update.
            await self.tx.execute(f"WITH added AS ({_ADD}) {_SET_NEWEST}", values | newest)
            return
        await self.tx.execute(_ADD, values)
        await self.tx.execute(_SET_NEWEST, newest)

    async def _lock_owner(self, invitation_id: str) -> None:
        if self.tx.dialect == "postgresql":
            await self.tx.execute(_LOCK_OWNER, {"iid": invitation_id})

    async def get(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        row = await self.tx.fetchone(
            "SELECT * FROM invitations WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": invitation_id},
        )
        return None if row is None else _invitation(row)

    async def revoke_pending_of_user(self, user_id: str, now: str) -> int:
        count = await self.tx.execute(
            "UPDATE invitations SET status = 'Revoked', revoked_at = :now"
            " WHERE user_id = :uid AND status = 'PendingAcceptance'",
            {"uid": user_id, "now": now},
        )
        if count:
            await self.tx.execute(_REFRESH_USER, {"uid": user_id})
        return count

    async def set_status(
        self, invitation_id: str, *, status: str, from_status: str, now: str
    ) -> bool:
        # A decline keeps no timestamp of its own: its audit event holds the time.
        column = {"Revoked": "revoked_at", "Completed": "completed_at", "Declined": None}[status]
        stamp = f", {column} = :now" if column else ""
        if status == "Completed":  # the reports' time to accept, from the row's created_at
            # (:now cast to the column's type: PostgreSQL gives a parameter one type.)
            later = "CAST(:now AS VARCHAR(27))"
            stamp += ", accept_us = " + micros_between(self.tx.dialect, later, "created_at")
        await self._lock_owner(invitation_id)
        count = await self.tx.execute(
            f"UPDATE invitations SET status = :status{stamp}"  # noqa: S608 (column from a fixed table)
            " WHERE id = :id AND status = :from_status",
            {"status": status, "id": invitation_id, "from_status": from_status}
            | ({"now": now} if column else {}),
        )
        if count == 1:
            await self.tx.execute(_REFRESH_OWNER, {"iid": invitation_id})
        return count == 1

    async def replace_ticket(
        self, invitation_id: str, *, ticket_hash: str, expires_at: str | None
    ) -> bool:
        await self._lock_owner(invitation_id)
        count = await self.tx.execute(
            "UPDATE invitations SET ticket_hash = :hash, expires_at = :expires_at"
            " WHERE id = :id AND status = 'PendingAcceptance'",
            {"hash": ticket_hash, "expires_at": expires_at, "id": invitation_id},
        )
        if count == 1:
            await self.tx.execute(_REFRESH_OWNER, {"iid": invitation_id})
        return count == 1

    async def list(
        self,
        tenant_id: str,
        *,
        now: str,
        status: str | None,
        email_key: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> Sequence[Invitation]:
        """Newest first, keyset-paged on (created_at, id)."""
        clauses = ["i.tenant_id = :tid"]
        params: dict[str, Any] = {"tid": tenant_id, "now": now, "limit": limit}
        if status == "PendingAcceptance":
            clauses.append(
                "i.status = 'PendingAcceptance' AND (i.expires_at IS NULL OR i.expires_at > :now)"
            )
        elif status == "Expired":
            clauses.append("i.status = 'PendingAcceptance' AND i.expires_at <= :now")
        elif status is not None:
            clauses.append("i.status = :status")
            params["status"] = status
        if email_key is not None:
            clauses.append("u.email_key = :key")
            params["key"] = email_key
        if after is not None:
            clauses.append(
                "(i.created_at < :after_at OR (i.created_at = :after_at AND i.id < :after_id))"
            )
            params["after_at"], params["after_id"] = after
        rows = await self.tx.fetchall(
            "SELECT i.* FROM invitations i JOIN users u ON u.id = i.user_id WHERE "  # noqa: S608 (fixed clauses, bound values)
            + " AND ".join(clauses)
            + " ORDER BY i.created_at DESC, i.id DESC LIMIT :limit",
            params,
        )
        return [_invitation(r) for r in rows]

    async def get_by_id(self, invitation_id: str) -> Invitation | None:
        row = await self.tx.fetchone(
            "SELECT * FROM invitations WHERE id = :id", {"id": invitation_id}
        )
        return None if row is None else _invitation(row)

    async def get_by_ticket(self, ticket_hash: str) -> Invitation | None:
        row = await self.tx.fetchone(
            "SELECT * FROM invitations WHERE ticket_hash = :hash", {"hash": ticket_hash}
        )
        return None if row is None else _invitation(row)

    async def expired_unreported(self, *, now: str, limit: int) -> Sequence[Invitation]:
        """Pending invitations past their expiry that no `invitation.expired` told of yet
        (or told of an earlier expiry: a resend gave a new one), oldest expiry first."""
        lock = " FOR UPDATE SKIP LOCKED" if self.tx.dialect == "postgresql" else ""
        rows = await self.tx.fetchall(
            "SELECT * FROM invitations WHERE status = 'PendingAcceptance'"  # noqa: S608 (a fixed lock clause)
            " AND expires_at <= :now"
            " AND (expiry_reported IS NULL OR expiry_reported <> expires_at)"
            f" ORDER BY expires_at, id LIMIT :limit{lock}",
            {"now": now, "limit": limit},
        )
        return [_invitation(r) for r in rows]

    async def report_expiry(self, invitation_id: str, *, expires_at: str) -> bool:
        """Mark this expiry as told of; True for the one caller that marked it (of sweepers
        racing, only it writes the event)."""
        count = await self.tx.execute(
            "UPDATE invitations SET expiry_reported = expires_at"
            " WHERE id = :id AND status = 'PendingAcceptance' AND expires_at = :expires_at"
            " AND (expiry_reported IS NULL OR expiry_reported <> expires_at)",
            {"id": invitation_id, "expires_at": expires_at},
        )
        return count == 1
