"""SQL repositories over a `Transaction`. They never commit: the unit of work does."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from guestgate.adapters.sql.database import Row, Transaction
from guestgate.adapters.sql.odata import Translator, escape_like
from guestgate.domain.apps import App, ClientSecret
from guestgate.domain.invitations import Invitation
from guestgate.domain.keys import SigningKey
from guestgate.domain.messages import OutboxMessage
from guestgate.domain.odata import UserQuery
from guestgate.domain.tenants import Tenant
from guestgate.domain.users import User

_TENANT_WITH_DOMAINS = (
    "SELECT t.id, t.name, t.created_at, t.invitation_lifetime_days, t.privacy_url,"
    " t.logo_url, t.landing_url, d.domain FROM tenants t"
    " LEFT JOIN tenant_domains d ON d.tenant_id = t.id"
)


class TenantCache:
    """Tenants read recently, for the hot paths: every invitation reads its tenant.

    After it is created, only a tenant's links (privacy, logo, landing page) can change, and
    another process (the CLI) may change them. So an entry serves only the callers that do
    not use the links (``get(..., links=False)``); every other read goes to the database and
    refreshes the entry. Missing tenants are not remembered: a new tenant is usable at once.
    """

    def __init__(
        self,
        ttl: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.max_entries, self._clock = ttl, max_entries, clock
        self._entries: dict[str, tuple[float, Tenant]] = {}

    def get(self, tenant_id: str) -> Tenant | None:
        entry = self._entries.get(tenant_id)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[tenant_id]
            return None
        return entry[1]

    def put(self, tenant: Tenant) -> None:
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest entry
        self._entries[tenant.id] = (self._clock() + self.ttl, tenant)


class SqlTenantRepository:
    def __init__(self, tx: Transaction, cache: TenantCache | None = None) -> None:
        self.tx = tx
        self.cache = cache

    async def add(self, tenant: Tenant) -> None:
        await self.tx.execute(
            "INSERT INTO tenants (id, name, invitation_lifetime_days, created_at)"
            " VALUES (:id, :name, :days, :created_at)",
            {
                "id": tenant.id,
                "name": tenant.name,
                "days": tenant.invitation_lifetime_days,
                "created_at": tenant.created_at,
            },
        )
        for position, domain in enumerate(tenant.domains):
            await self.tx.execute(
                "INSERT INTO tenant_domains (domain, tenant_id, position)"
                " VALUES (:domain, :tenant_id, :position)",
                {"domain": domain, "tenant_id": tenant.id, "position": position},
            )

    @staticmethod
    def _tenant(rows: Sequence[Row]) -> Tenant | None:
        """A tenant from the rows of `_WITH_DOMAINS`: one row per domain, in order."""
        if not rows:
            return None
        row = rows[0]
        return Tenant(
            id=row["id"],
            name=row["name"],
            domains=tuple(r["domain"] for r in rows if r["domain"] is not None),
            created_at=row["created_at"],
            invitation_lifetime_days=row["invitation_lifetime_days"],
            privacy_url=row["privacy_url"],
            logo_url=row["logo_url"],
            landing_url=row["landing_url"],
        )

    async def get(self, tenant_id: str, *, links: bool = True) -> Tenant | None:
        """The tenant; with ``links=False`` possibly from the cache (its links may be stale)."""
        if not links and self.cache is not None and (cached := self.cache.get(tenant_id)):
            return cached
        # One round trip: every invite and redemption reads its tenant.
        tenant = self._tenant(
            await self.tx.fetchall(
                _TENANT_WITH_DOMAINS + " WHERE t.id = :id ORDER BY d.position", {"id": tenant_id}
            )
        )
        if tenant is not None and self.cache is not None:
            self.cache.put(tenant)
        return tenant

    async def get_by_domain(self, domain: str) -> Tenant | None:
        return self._tenant(
            await self.tx.fetchall(
                _TENANT_WITH_DOMAINS  # noqa: S608 (fixed text; the domain is bound)
                + " WHERE t.id = (SELECT tenant_id FROM tenant_domains WHERE domain = :domain)"
                " ORDER BY d.position",
                {"domain": domain},
            )
        )

    async def set_links(
        self,
        tenant_id: str,
        *,
        privacy_url: str | None,
        logo_url: str | None,
        landing_url: str | None,
    ) -> None:
        await self.tx.execute(
            "UPDATE tenants SET privacy_url = :privacy, logo_url = :logo, landing_url = :landing"
            " WHERE id = :id",
            {"id": tenant_id, "privacy": privacy_url, "logo": logo_url, "landing": landing_url},
        )

    async def domain_taken(self, domain: str) -> bool:
        row = await self.tx.fetchone(
            "SELECT 1 AS hit FROM tenant_domains WHERE domain = :domain", {"domain": domain}
        )
        return row is not None

    async def list(self) -> Sequence[Tenant]:
        rows = await self.tx.fetchall(
            _TENANT_WITH_DOMAINS + " ORDER BY t.created_at, t.id, d.position"
        )
        grouped = itertools.groupby(rows, key=lambda r: r["id"])
        return [t for _, group in grouped if (t := self._tenant(list(group))) is not None]

    async def count(self) -> int:
        row = await self.tx.fetchone("SELECT COUNT(*) AS n FROM tenants")
        return int(row["n"]) if row else 0


def _app(row: Row) -> App:
    return App(
        id=row["id"],
        object_id=row["object_id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        permissions=tuple(row["permissions"].split()),
        created_at=row["created_at"],
        enabled=bool(row["enabled"]),
    )


def _secret(row: Row) -> ClientSecret:
    return ClientSecret(
        id=row["id"],
        app_id=row["app_id"],
        hint=row["hint"],
        display_name=row["display_name"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


class SqlAppRepository:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, app: App) -> None:
        await self.tx.execute(
            "INSERT INTO apps (id, object_id, tenant_id, name, permissions, enabled, created_at)"
            " VALUES (:id, :object_id, :tenant_id, :name, :permissions, :enabled, :created_at)",
            {
                "id": app.id,
                "object_id": app.object_id,
                "tenant_id": app.tenant_id,
                "name": app.name,
                "permissions": " ".join(app.permissions),
                "enabled": app.enabled,
                "created_at": app.created_at,
            },
        )

    async def get(self, app_id: str) -> App | None:
        row = await self.tx.fetchone("SELECT * FROM apps WHERE id = :id", {"id": app_id})
        return None if row is None else _app(row)

    async def list(self, tenant_id: str) -> Sequence[App]:
        rows = await self.tx.fetchall(
            "SELECT * FROM apps WHERE tenant_id = :tid ORDER BY created_at, id", {"tid": tenant_id}
        )
        return [_app(r) for r in rows]

    async def add_secret(self, secret: ClientSecret, secret_hash: str) -> None:
        await self.tx.execute(
            "INSERT INTO client_secrets"
            " (id, app_id, secret_hash, hint, display_name, created_at, expires_at)"
            " VALUES (:id, :app_id, :hash, :hint, :display_name, :created_at, :expires_at)",
            {
                "id": secret.id,
                "app_id": secret.app_id,
                "hash": secret_hash,
                "hint": secret.hint,
                "display_name": secret.display_name,
                "created_at": secret.created_at,
                "expires_at": secret.expires_at,
            },
        )

    async def list_secrets(self, app_id: str) -> Sequence[ClientSecret]:
        rows = await self.tx.fetchall(
            "SELECT * FROM client_secrets WHERE app_id = :app_id ORDER BY created_at, id",
            {"app_id": app_id},
        )
        return [_secret(r) for r in rows]

    async def secret_hashes(self, app_id: str) -> Sequence[tuple[str, str]]:
        rows = await self.tx.fetchall(
            "SELECT secret_hash, expires_at FROM client_secrets WHERE app_id = :app_id",
            {"app_id": app_id},
        )
        return [(r["secret_hash"], r["expires_at"]) for r in rows]

    async def remove_secret(self, app_id: str, secret_id: str) -> bool:
        count = await self.tx.execute(
            "DELETE FROM client_secrets WHERE app_id = :app_id AND id = :id",
            {"app_id": app_id, "id": secret_id},
        )
        return count > 0


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


class SqlAuditLog:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def record(
        self,
        *,
        tenant_id: str,
        action: str,
        created_at: str,
        app_id: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await self.tx.execute(
            "INSERT INTO audit_events"
            " (tenant_id, app_id, actor, action, target, request_id, details, created_at)"
            " VALUES (:tenant_id, :app_id, :actor, :action, :target, :request_id, :details,"
            " :created_at)",
            {
                "tenant_id": tenant_id,
                "app_id": app_id,
                "actor": actor,
                "action": action,
                "target": target,
                "request_id": request_id,
                "details": None if details is None else json.dumps(details, sort_keys=True),
                "created_at": created_at,
            },
        )

    async def list(self, tenant_id: str, *, limit: int) -> Sequence[dict[str, Any]]:
        rows = await self.tx.fetchall(
            "SELECT * FROM audit_events WHERE tenant_id = :tid ORDER BY id DESC LIMIT :limit",
            {"tid": tenant_id, "limit": limit},
        )
        events = []
        for r in rows:
            event = dict(r)
            event["details"] = json.loads(r["details"]) if r["details"] else None
            events.append(event)
        return events


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_type=row["user_type"],
        display_name=row["display_name"],
        mail=row["mail"],
        email_key=row["email_key"],
        user_principal_name=row["user_principal_name"],
        external_user_state=row["external_user_state"],
        external_user_state_changed_at=row["external_user_state_changed_at"],
        creation_type=row["creation_type"],
        created_at=row["created_at"],
    )


class SqlUserRepository:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add_if_absent(self, user: User) -> bool:
        """Insert unless the tenant already has a user with this email key; True if inserted."""
        count = await self.tx.execute(
            "INSERT INTO users (id, tenant_id, user_type, display_name, mail, email_key,"
            " user_principal_name, external_user_state, external_user_state_changed_at,"
            " creation_type, created_at) VALUES (:id, :tenant_id, :user_type, :display_name,"
            " :mail, :email_key, :upn, :state, :state_at, :creation_type, :created_at)"
            " ON CONFLICT (tenant_id, email_key) DO NOTHING",
            {
                "id": user.id,
                "tenant_id": user.tenant_id,
                "user_type": user.user_type,
                "display_name": user.display_name,
                "mail": user.mail,
                "email_key": user.email_key,
                "upn": user.user_principal_name,
                "state": user.external_user_state,
                "state_at": user.external_user_state_changed_at,
                "creation_type": user.creation_type,
                "created_at": user.created_at,
            },
        )
        return count == 1

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        row = await self.tx.fetchone(
            "SELECT * FROM users WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": user_id},
        )
        return None if row is None else _user(row)

    async def get_by_email(self, tenant_id: str, email_key: str) -> User | None:
        row = await self.tx.fetchone(
            "SELECT * FROM users WHERE tenant_id = :tid AND email_key = :key",
            {"tid": tenant_id, "key": email_key},
        )
        return None if row is None else _user(row)

    async def lock(self, user_id: str) -> None:
        # A no-op write that takes the row lock on PostgreSQL, so concurrent re-invites of one
        # guest queue here and each sees the invitations the previous one committed. SQLite
        # already holds the database write lock (BEGIN IMMEDIATE).
        await self.tx.execute(
            "UPDATE users SET tenant_id = tenant_id WHERE id = :id", {"id": user_id}
        )

    async def mark_accepted(self, user_id: str, now: str) -> None:
        await self.tx.execute(
            "UPDATE users SET external_user_state = 'Accepted',"
            " external_user_state_changed_at = :now WHERE id = :id",
            {"id": user_id, "now": now},
        )

    async def query(self, tenant_id: str, query: UserQuery) -> Sequence[User]:
        """Users matching an OData query, keyset-paged on (sort column, id)."""
        where, params = _user_conditions(tenant_id, query)
        sort = "display_name" if query.order_by == "displayName" else "created_at"
        direction, cmp = ("DESC", "<") if query.descending else ("ASC", ">")
        if query.after is not None:
            where.append(
                f"({sort} {cmp} :after_sort OR ({sort} = :after_sort AND id {cmp} :after_id))"
            )
            params["after_sort"], params["after_id"] = query.after
        params["limit"] = query.top + 1
        rows = await self.tx.fetchall(
            "SELECT * FROM users WHERE "  # noqa: S608 (fixed columns; values are bound)
            + " AND ".join(where)
            + f" ORDER BY {sort} {direction}, id {direction} LIMIT :limit",
            params,
        )
        return [_user(r) for r in rows]

    async def count(self, tenant_id: str, query: UserQuery) -> int:
        where, params = _user_conditions(tenant_id, query)
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS n FROM users WHERE " + " AND ".join(where),  # noqa: S608
            params,
        )
        return int(row["n"]) if row else 0

    async def get_by_upn(self, tenant_id: str, upn: str) -> User | None:
        row = await self.tx.fetchone(
            "SELECT * FROM users WHERE tenant_id = :tid AND LOWER(user_principal_name) = :upn",
            {"tid": tenant_id, "upn": upn.lower()},
        )
        return None if row is None else _user(row)

    async def reset_redemption(
        self, user_id: str, *, mail: str, email_key: str, upn: str, now: str
    ) -> None:
        await self.tx.execute(
            "UPDATE users SET mail = :mail, email_key = :key, user_principal_name = :upn,"
            " external_user_state = 'PendingAcceptance', external_user_state_changed_at = :now"
            " WHERE id = :id",
            {"id": user_id, "mail": mail, "key": email_key, "upn": upn, "now": now},
        )

    async def set_sponsors(self, user_id: str, sponsor_ids: list[str]) -> None:
        await self.tx.execute(
            "UPDATE users SET sponsors = :sponsors WHERE id = :id",
            {"id": user_id, "sponsors": json.dumps(sponsor_ids)},
        )

    async def delete(self, user_id: str) -> None:
        await self.tx.execute("DELETE FROM users WHERE id = :id", {"id": user_id})

    async def list_guests(
        self, tenant_id: str, *, pending_only: bool, limit: int
    ) -> Sequence[User]:
        sql = "SELECT * FROM users WHERE tenant_id = :tid AND user_type = 'Guest'"
        if pending_only:
            sql += " AND external_user_state = 'PendingAcceptance'"
        rows = await self.tx.fetchall(
            sql + " ORDER BY created_at, id LIMIT :limit", {"tid": tenant_id, "limit": limit}
        )
        return [_user(r) for r in rows]


def _user_conditions(tenant_id: str, query: UserQuery) -> tuple[list[str], dict[str, Any]]:
    translator = Translator()
    # The tenant condition is always first and always ANDed: no filter can widen it.
    where = ["tenant_id = " + translator.bind(tenant_id)]
    if query.filter is not None:
        where.append(translator.sql(query.filter))
    if query.search is not None:
        prop, term = query.search
        column = "display_name" if prop == "displayName" else "mail"
        pattern = translator.bind("%" + escape_like(term.lower()) + "%")
        where.append(f"LOWER({column}) LIKE {pattern} ESCAPE '\\'")
    return where, translator.params


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
        message_info=json.loads(row["message_info"]) if row["message_info"] else None,
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
            " created_at, expires_at, completed_at, revoked_at) VALUES (:id, :tenant_id,"
            " :user_id, :email, :ticket_hash, :status, :redirect_url, :send_message,"
            " :requested_by, :more, :message_info, :created_by_app, :created_at, :expires_at,"
            " :completed_at, :revoked_at)",
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
                "more": json.dumps(invitation.more, ensure_ascii=False, separators=(",", ":")),
                "message_info": None
                if invitation.message_info is None
                else json.dumps(invitation.message_info, ensure_ascii=False),
                "created_by_app": invitation.created_by_app,
                "created_at": invitation.created_at,
                "expires_at": invitation.expires_at,
                "completed_at": invitation.completed_at,
                "revoked_at": invitation.revoked_at,
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
        column = {"Revoked": "revoked_at", "Completed": "completed_at"}[status]
        count = await self.tx.execute(
            f"UPDATE invitations SET status = :status, {column} = :now"  # noqa: S608 (column from a fixed table)
            " WHERE id = :id AND status = :from_status",
            {"status": status, "now": now, "id": invitation_id, "from_status": from_status},
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


def _message(row: Row, payload: dict[str, Any] | None = None) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        tenant_id=row["tenant_id"],
        kind=row["kind"],
        recipient=row["recipient"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        payload=payload,
    )


class SqlOutbox:
    """Messages written in the business transaction, delivered later by a worker."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(
        self, *, id: str, tenant_id: str, kind: str, recipient: str, sealed: str, now: str
    ) -> None:
        await self.tx.execute(
            "INSERT INTO outbox (id, tenant_id, kind, recipient, payload, status, attempts,"
            " next_attempt_at, created_at) VALUES (:id, :tenant_id, :kind, :recipient,"
            " :payload, 'pending', 0, :now, :now)",
            {
                "id": id,
                "tenant_id": tenant_id,
                "kind": kind,
                "recipient": recipient,
                "payload": sealed,
                "now": now,
            },
        )

    async def claim(self, *, now: str, lease_until: str, limit: int) -> Sequence[Row]:
        """Lease due messages to this worker; a crashed worker's lease simply runs out."""
        due = (
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= :now"
            " AND (locked_until IS NULL OR locked_until <= :now)"
            " ORDER BY next_attempt_at LIMIT :limit"
        )
        if self.tx.dialect == "postgresql":
            # Several workers never take one row: each skips rows another has locked.
            due += " FOR UPDATE SKIP LOCKED"
        return await self.tx.fetchall(
            "UPDATE outbox SET locked_until = :lease_until, attempts = attempts + 1"  # noqa: S608
            f" WHERE id IN ({due}) RETURNING *",
            {"now": now, "lease_until": lease_until, "limit": limit},
        )

    async def renew(self, message_ids: Sequence[str], lease_until: str) -> None:
        params: dict[str, Any] = {f"id{i}": v for i, v in enumerate(message_ids)}
        names = ", ".join(f":id{i}" for i in range(len(message_ids)))
        await self.tx.execute(
            f"UPDATE outbox SET locked_until = :lease_until WHERE id IN ({names})"  # noqa: S608
            " AND status = 'pending'",
            {**params, "lease_until": lease_until},
        )

    async def mark_sent(self, message_id: str, now: str) -> None:
        # The payload holds redeem links and codes: it is not kept once delivered.
        await self.tx.execute(
            "UPDATE outbox SET status = 'sent', sent_at = :now, payload = NULL,"
            " locked_until = NULL, last_error = NULL WHERE id = :id",
            {"id": message_id, "now": now},
        )

    async def mark_failed(
        self, message_id: str, *, error: str, next_attempt_at: str, dead: bool
    ) -> None:
        await self.tx.execute(
            "UPDATE outbox SET status = :status, last_error = :error,"
            " next_attempt_at = :next_at, locked_until = NULL WHERE id = :id",
            {
                "id": message_id,
                "status": "dead" if dead else "pending",
                "error": error[:500],
                "next_at": next_attempt_at,
            },
        )

    async def list(self, *, status: str | None, limit: int) -> Sequence[OutboxMessage]:
        sql = "SELECT * FROM outbox"
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            sql += " WHERE status = :status"
            params["status"] = status
        rows = await self.tx.fetchall(sql + " ORDER BY created_at DESC, id LIMIT :limit", params)
        return [_message(r) for r in rows]

    async def retry(self, *, message_id: str | None, now: str) -> int:
        """Put dead messages (one, or all) back in the queue with fresh attempts."""
        sql = (
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = :now,"
            " locked_until = NULL WHERE status = 'dead'"
        )
        params: dict[str, Any] = {"now": now}
        if message_id is not None:
            sql += " AND id = :id"
            params["id"] = message_id
        return await self.tx.execute(sql, params)


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

    async def get(self, session_hash: str) -> Row | None:
        return await self.tx.fetchone(
            "SELECT * FROM redeem_sessions WHERE session_hash = :hash", {"hash": session_hash}
        )

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
