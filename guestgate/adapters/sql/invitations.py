"""Invitations, found by id, by ticket hash or by a keyset-paged listing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.adapters.sql.reports import micros_between
from guestgate.domain.invitations import Invitation, MessageInfo
from guestgate.domain.reports import accept_micros

_encode = msgspec.json.Encoder().encode


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

    async def add(self, invitation: Invitation, ticket_hash: str) -> None:
        await self.tx.execute(
            "INSERT INTO invitations (id, tenant_id, user_id, email, ticket_hash, status,"
            " redirect_url, send_message, requested_by, more, message_info, created_by_app,"
            " created_at, expires_at, completed_at, revoked_at, accept_us) VALUES (:id,"
            " :tenant_id, :user_id, :email, :ticket_hash, :status, :redirect_url,"
            " :send_message, :requested_by, :more, :message_info, :created_by_app,"
            " :created_at, :expires_at, :completed_at, :revoked_at, :accept_us)",
            {
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
            },
        )

    async def get(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        row = await self.tx.fetchone(
            "SELECT * FROM invitations WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": invitation_id},
        )
        return None if row is None else _invitation(row)

    async def revoke_pending_of_user(self, user_id: str, now: str) -> int:
        return await self.tx.execute(
            "UPDATE invitations SET status = 'Revoked', revoked_at = :now"
            " WHERE user_id = :uid AND status = 'PendingAcceptance'",
            {"uid": user_id, "now": now},
        )

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
        count = await self.tx.execute(
            f"UPDATE invitations SET status = :status{stamp}"  # noqa: S608 (column from a fixed table)
            " WHERE id = :id AND status = :from_status",
            {"status": status, "id": invitation_id, "from_status": from_status}
            | ({"now": now} if column else {}),
        )
        return count == 1

    async def replace_ticket(
        self, invitation_id: str, *, ticket_hash: str, expires_at: str | None
    ) -> bool:
        count = await self.tx.execute(
            "UPDATE invitations SET ticket_hash = :hash, expires_at = :expires_at"
            " WHERE id = :id AND status = 'PendingAcceptance'",
            {"hash": ticket_hash, "expires_at": expires_at, "id": invitation_id},
        )
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
