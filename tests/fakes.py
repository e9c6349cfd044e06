"""In-memory fakes of the repository ports and the unit of work, for unit tests of services.

They keep the SQL repositories' semantics: the same uniqueness rules (a second user with an
email key is not added; other duplicates raise `IntegrityError`), the same orderings,
conditional updates that say whether a row changed, deletes that cascade, and a unit of
work that sees committed data only and rolls back unless told to commit. tests/contract/
runs one set of tests against these and against the SQL repositories on both databases.

    store = FakeStore()
    uow = FakeUnitOfWork(store)            # several units of work may share one store
    await services.tenants.create_tenant(uow, ...)
    assert uow.committed == 1
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self, cast

from guestgate.domain import events as events_rules
from guestgate.domain.apps import App, ClientSecret
from guestgate.domain.audit import AuditRecord
from guestgate.domain.branding import Logo
from guestgate.domain.console import ConsoleSession, GuestFilter, GuestRow
from guestgate.domain.events import Event
from guestgate.domain.invitation_policy import InvitationPolicy
from guestgate.domain.invitations import Invitation
from guestgate.domain.keys import SigningKey
from guestgate.domain.messages import ClaimedMessage, OutboxMessage
from guestgate.domain.odata import (
    PROPERTIES,
    And,
    Compare,
    In,
    Node,
    Not,
    Or,
    StartsWith,
    UserQuery,
    text_key,
)
from guestgate.domain.redemption import RedeemSession
from guestgate.domain.roles import RoleAssignment
from guestgate.domain.signin import AuthorizationCode, Challenge, RefreshToken, SignInSession
from guestgate.domain.tenants import Tenant
from guestgate.domain.throttle import Count
from guestgate.domain.users import DeletedUser, FirstInvitation, User, fold
from guestgate.errors import IntegrityError
from guestgate.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    tenant_id: str
    kind: str
    recipient: str
    sealed: str | None
    status: str
    attempts: int
    next_attempt_at: str
    locked_until: str | None
    last_error: str | None
    created_at: str
    sent_at: str | None


@dataclass(eq=False)
class FakeStore:
    """The committed data, one dict per table; share it between units of work."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    secrets: dict[str, tuple[ClientSecret, str]] = field(default_factory=dict)  # with hash
    keys: dict[str, tuple[SigningKey, str]] = field(default_factory=dict)  # with sealed key
    users: dict[str, User] = field(default_factory=dict)
    sponsors: dict[str, list[str]] = field(default_factory=dict)
    deleted_users: dict[str, DeletedUser] = field(default_factory=dict)
    invitations: dict[str, tuple[Invitation, str]] = field(default_factory=dict)  # with hash
    outbox: dict[str, OutboxRow] = field(default_factory=dict)
    redeem_sessions: dict[str, RedeemSession] = field(default_factory=dict)
    rate_limits: dict[str, Count] = field(default_factory=dict)
    pacers: dict[str, int] = field(default_factory=dict)  # name: when its next turn is free
    audit: list[AuditRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    event_sequences: dict[str, int] = field(default_factory=dict)
    signin_challenges: dict[str, Challenge] = field(default_factory=dict)
    signin_sessions: dict[str, SignInSession] = field(default_factory=dict)
    authorization_codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    sign_in_activity: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    expiry_reported: dict[str, str] = field(default_factory=dict)  # invitation: expires_at
    invitation_policies: dict[str, InvitationPolicy] = field(default_factory=dict)
    roles: dict[tuple[str, str, str], RoleAssignment] = field(default_factory=dict)
    console_sessions: dict[str, ConsoleSession] = field(default_factory=dict)
    logos: dict[str, Logo] = field(default_factory=dict)
    graph_invitations: dict[tuple[str, str], str] = field(default_factory=dict)  # : user id

    def __post_init__(self) -> None:
        self.writer: asyncio.Lock | None = None  # write transactions take turns

    def tables(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def snapshot(self) -> FakeStore:
        """A copy to work on; rows are immutable, so copying the tables is enough."""
        return FakeStore(**{name: copy.copy(table) for name, table in self.tables().items()})


def _sorted(rows: Sequence[Any], *keys: tuple[str, bool]) -> list[Any]:
    """Rows ordered by (attribute, descending) pairs, like ORDER BY a, b DESC."""
    ordered = list(rows)
    for name, descending in reversed(keys):
        ordered.sort(key=lambda r: getattr(r, name), reverse=descending)
    return ordered


class FakeTenantRepository:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, tenant: Tenant) -> None:
        taken = {d for t in self.s.tenants.values() for d in t.domains}
        if (
            tenant.id in self.s.tenants
            or taken & set(tenant.domains)
            or len(set(tenant.domains)) < len(tenant.domains)
        ):
            raise IntegrityError("tenant or domain exists")
        # Like the SQL insert, a new tenant has no links yet: set_links gives them.
        self.s.tenants[tenant.id] = replace(
            tenant, privacy_url=None, logo_url=None, landing_url=None
        )

    async def get(self, tenant_id: str, *, links: bool = True) -> Tenant | None:
        tenant = self.s.tenants.get(tenant_id)
        logo = self.s.logos.get(tenant_id)
        return tenant if tenant is None else replace(tenant, logo_etag=logo and logo.etag)

    async def logo(self, tenant_id: str) -> Logo | None:
        return self.s.logos.get(tenant_id)

    async def set_logo(self, tenant_id: str, logo: Logo | None, *, now: str) -> None:
        if logo is None:
            self.s.logos.pop(tenant_id, None)
        elif tenant_id in self.s.tenants:
            self.s.logos[tenant_id] = logo

    async def get_by_domain(self, domain: str) -> Tenant | None:
        return next((t for t in self.s.tenants.values() if domain in t.domains), None)

    async def set_links(
        self,
        tenant_id: str,
        *,
        privacy_url: str | None,
        logo_url: str | None,
        landing_url: str | None,
    ) -> None:
        if (tenant := self.s.tenants.get(tenant_id)) is not None:
            self.s.tenants[tenant_id] = replace(
                tenant, privacy_url=privacy_url, logo_url=logo_url, landing_url=landing_url
            )

    async def set_invitation_lifetime(self, tenant_id: str, days: int) -> None:
        if (tenant := self.s.tenants.get(tenant_id)) is not None:
            self.s.tenants[tenant_id] = replace(tenant, invitation_lifetime_days=days)

    async def domain_taken(self, domain: str) -> bool:
        return await self.get_by_domain(domain) is not None

    async def list(self) -> Sequence[Tenant]:
        return _sorted(list(self.s.tenants.values()), ("created_at", False), ("id", False))

    async def count(self) -> int:
        return len(self.s.tenants)


class FakeGraphInvitations:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, tenant_id: str, invitation_id: str, user_id: str, *, now: str) -> None:
        self.s.graph_invitations.setdefault((tenant_id, invitation_id), user_id)

    async def user_id(self, tenant_id: str, invitation_id: str) -> str | None:
        return self.s.graph_invitations.get((tenant_id, invitation_id))


class FakeAppRepository:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, app: App) -> None:
        if (
            app.id in self.s.apps
            or any(a.object_id == app.object_id for a in self.s.apps.values())
            or app.tenant_id not in self.s.tenants
        ):
            raise IntegrityError("app exists or its tenant does not")
        if app.app_id_uri is not None and await self.get_by_app_id_uri(
            app.tenant_id, app.app_id_uri
        ):
            raise IntegrityError("the tenant already has an app with this application ID URI")
        self.s.apps[app.id] = replace(
            app,
            permissions=tuple(" ".join(app.permissions).split()),
            redirect_uris=tuple(" ".join(app.redirect_uris).split()),
            api_scopes=tuple(" ".join(app.api_scopes).split()),
        )

    async def get(self, app_id: str) -> App | None:
        return self.s.apps.get(app_id)

    async def get_by_app_id_uri(self, tenant_id: str, app_id_uri: str) -> App | None:
        return next(
            (
                a
                for a in self.s.apps.values()
                if a.tenant_id == tenant_id and a.app_id_uri == app_id_uri
            ),
            None,
        )

    async def set_sign_in(
        self,
        app_id: str,
        *,
        redirect_uris: Sequence[str],
        app_id_uri: str | None,
        api_scopes: Sequence[str],
    ) -> None:
        app = self.s.apps.get(app_id)
        if app is not None:
            self.s.apps[app_id] = replace(
                app,
                redirect_uris=tuple(redirect_uris),
                app_id_uri=app_id_uri,
                api_scopes=tuple(api_scopes),
            )

    async def list(
        self, tenant_id: str, *, after: tuple[str, str] | None = None, limit: int | None = None
    ) -> Sequence[App]:
        found = [
            a
            for a in self.s.apps.values()
            if a.tenant_id == tenant_id and (after is None or (a.created_at, a.id) > after)
        ]
        return _sorted(found, ("created_at", False), ("id", False))[:limit]

    async def get_by_object_id(self, tenant_id: str, object_id: str) -> App | None:
        return next(
            (
                a
                for a in self.s.apps.values()
                if a.tenant_id == tenant_id and a.object_id == object_id
            ),
            None,
        )

    async def update(self, app: App) -> None:
        if app.id in self.s.apps:
            self.s.apps[app.id] = app

    async def delete(self, app_id: str) -> bool:
        if self.s.apps.pop(app_id, None) is None:
            return False
        for secret_id in [k for k, (s, _) in self.s.secrets.items() if s.app_id == app_id]:
            del self.s.secrets[secret_id]
        return True

    async def add_secret(self, secret: ClientSecret, secret_hash: str) -> None:
        if (
            secret.id in self.s.secrets
            or any(h == secret_hash for _, h in self.s.secrets.values())
            or secret.app_id not in self.s.apps
        ):
            raise IntegrityError("secret exists or its app does not")
        self.s.secrets[secret.id] = (secret, secret_hash)

    async def list_secrets(self, app_id: str) -> Sequence[ClientSecret]:
        found = [s for s, _ in self.s.secrets.values() if s.app_id == app_id]
        return _sorted(found, ("created_at", False), ("id", False))

    async def secret_hashes(self, app_id: str) -> Sequence[tuple[str, str]]:
        return [(h, s.expires_at) for s, h in self.s.secrets.values() if s.app_id == app_id]

    async def remove_secret(self, app_id: str, secret_id: str) -> bool:
        found = self.s.secrets.get(secret_id)
        if found is None or found[0].app_id != app_id:
            return False
        del self.s.secrets[secret_id]
        return True


class FakeKeyRepository:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, key: SigningKey, sealed_private_key: str) -> None:
        if key.kid in self.s.keys:
            raise IntegrityError("key exists")
        self.s.keys[key.kid] = (key, sealed_private_key)

    async def list(self) -> Sequence[SigningKey]:
        keys = [k for k, _ in self.s.keys.values()]
        return _sorted(keys, ("created_at", True), ("kid", False))

    async def sealed_private_key(self, kid: str) -> str | None:
        found = self.s.keys.get(kid)
        return None if found is None else found[1]

    async def set_retire_at(self, kid: str, retire_at: str) -> None:
        found = self.s.keys.get(kid)
        if found is not None and (found[0].retire_at is None or found[0].retire_at > retire_at):
            self.s.keys[kid] = (replace(found[0], retire_at=retire_at), found[1])


class FakeAuditLog:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

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
        self.s.audit.append(
            AuditRecord(
                id=self.s.audit[-1].id + 1 if self.s.audit else 1,
                tenant_id=tenant_id,
                app_id=app_id,
                actor=actor,
                action=action,
                target=target,
                request_id=request_id,
                details=None if details is None else json.loads(json.dumps(details)),
                created_at=created_at,
            )
        )

    async def list(self, tenant_id: str, *, limit: int) -> Sequence[AuditRecord]:
        return [r for r in reversed(self.s.audit) if r.tenant_id == tenant_id][:limit]

    async def search(
        self,
        tenant_id: str,
        *,
        actor: str | None = None,
        action: str | None = None,
        action_prefix: bool = False,
        target: str | None = None,
        start: str | None = None,
        end: str | None = None,
        before: int | None = None,
        limit: int,
    ) -> Sequence[AuditRecord]:
        def matches(r: AuditRecord) -> bool:
            return (
                r.tenant_id == tenant_id
                and (actor is None or (r.actor or "").lower() == actor.lower())
                and (target is None or (r.target or "").lower() == target.lower())
                and (
                    action is None
                    or (r.action.startswith(action) if action_prefix else r.action == action)
                )
                and (start is None or r.created_at >= start)
                and (end is None or r.created_at < end)
                and (before is None or r.id < before)
            )

        return [r for r in reversed(self.s.audit) if matches(r)][:limit]


def _column(user: User, prop: str) -> str | None:
    value: str | None = {
        "userType": user.user_type,
        "externalUserState": user.external_user_state,
        "creationType": user.creation_type,
        "mail": user.mail,
        "displayName": user.display_name,
        "userPrincipalName": user.user_principal_name,
        "createdDateTime": user.created_at,
    }[prop]
    return value


def _matches(user: User, node: Node) -> bool | None:
    """An OData filter on one user, with SQL's three values: None is unknown (NULL)."""
    if isinstance(node, And | Or):
        sides = (_matches(user, node.left), _matches(user, node.right))
        decisive = isinstance(node, Or)  # True decides an OR, False an AND
        if decisive in sides:
            return decisive
        return None if None in sides else not decisive
    if isinstance(node, Not):
        inner = _matches(user, node.expr)
        return None if inner is None else not inner
    raw = _column(user, node.prop)
    text = PROPERTIES[node.prop][0] == "text"
    if isinstance(node, StartsWith):
        return raw is not None and fold(raw).startswith(
            text_key(node.prop, node.prefix, prefix=True)
        )
    # Like the SQL: text compares folded, and a whole mail value as the email key.
    value = (user.email_key if node.prop == "mail" else fold(raw)) if text and raw else raw
    if isinstance(node, In):
        return (
            None
            if value is None
            else value in {text_key(node.prop, v) if text else v for v in node.values}
        )
    assert isinstance(node, Compare)
    if node.value is None:
        return (raw is None) == (node.op == "eq")
    wanted = text_key(node.prop, node.value) if text else node.value
    if node.op == "ne":
        return value is None or value != wanted
    if value is None:
        return None
    return {
        "eq": value == wanted,
        "gt": value > wanted,
        "ge": value >= wanted,
        "lt": value < wanted,
        "le": value <= wanted,
    }[node.op]


def _selected(user: User, tenant_id: str, query: UserQuery) -> bool:
    if user.tenant_id != tenant_id:
        return False
    if query.filter is not None and _matches(user, query.filter) is not True:
        return False
    if query.search is not None:
        prop, term = query.search
        column = user.display_name if prop == "displayName" else user.mail
        return fold(term) in fold(column)
    return True


class FakeUserRepository:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    def _check_unique(self, user: User) -> None:
        for other in self.s.users.values():
            if (
                other.id != user.id
                and other.tenant_id == user.tenant_id
                and fold(other.user_principal_name) == fold(user.user_principal_name)
            ):
                raise IntegrityError("userPrincipalName exists in the tenant")

    async def add_if_absent(self, user: User, listed: FirstInvitation | None = None) -> bool:
        if (
            await self.get_by_email(user.tenant_id, user.email_key) is not None
            or await self.get_by_upn(user.tenant_id, user.user_principal_name) is not None
        ):
            return False
        if user.id in self.s.users or user.tenant_id not in self.s.tenants:
            raise IntegrityError("user exists or its tenant does not")
        self.s.users[user.id] = user
        return True

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        user = self.s.users.get(user_id)
        return user if user is not None and user.tenant_id == tenant_id else None

    async def get_by_email(self, tenant_id: str, email_key: str) -> User | None:
        return next(
            (
                u
                for u in self.s.users.values()
                if u.tenant_id == tenant_id and u.email_key == email_key
            ),
            None,
        )

    async def lock(self, user_id: str) -> None:
        """Nothing to do: a fake unit of work that writes holds the whole store."""

    async def mark_accepted(self, user_id: str, now: str) -> None:
        if (user := self.s.users.get(user_id)) is not None:
            self.s.users[user_id] = replace(
                user, external_user_state="Accepted", external_user_state_changed_at=now
            )

    async def query(self, tenant_id: str, query: UserQuery) -> Sequence[User]:
        sort = "display_name" if query.order_by == "displayName" else "created_at"
        found = [u for u in self.s.users.values() if _selected(u, tenant_id, query)]

        def position(u: User) -> tuple[str, str]:
            return getattr(u, sort), u.id

        if (after := query.after) is not None:
            found = [
                u
                for u in found
                if (position(u) < after if query.descending else position(u) > after)
            ]
        found.sort(key=position, reverse=query.descending)
        return found[: query.top + 1]

    async def count(self, tenant_id: str, query: UserQuery) -> int:
        return sum(1 for u in self.s.users.values() if _selected(u, tenant_id, query))

    async def get_by_upn(self, tenant_id: str, upn: str) -> User | None:
        return next(
            (
                u
                for u in self.s.users.values()
                if u.tenant_id == tenant_id and fold(u.user_principal_name) == fold(upn)
            ),
            None,
        )

    async def delete(self, user_id: str) -> None:
        """The user, their invitations and those invitations' redemption sessions."""
        self.s.users.pop(user_id, None)
        self.s.sponsors.pop(user_id, None)
        self.s.sponsors = {k: [s for s in v if s != user_id] for k, v in self.s.sponsors.items()}
        self.s.roles = {k: a for k, a in self.s.roles.items() if k[1] != user_id}
        self.s.console_sessions = {
            k: c for k, c in self.s.console_sessions.items() if c.user_id != user_id
        }
        gone = {i for i, (inv, _) in self.s.invitations.items() if inv.user_id == user_id}
        for invitation_id in gone:
            del self.s.invitations[invitation_id]
        for key, session in list(self.s.redeem_sessions.items()):
            if session.invitation_id in gone:
                del self.s.redeem_sessions[key]
        forget_sign_ins(self.s, lambda row: getattr(row, "user_id", None) == user_id)
        self.s.sign_in_activity.pop(user_id, None)

    async def reset_redemption(
        self, user_id: str, *, mail: str, email_key: str, upn: str, now: str
    ) -> None:
        user = self.s.users.get(user_id)
        if user is None:
            return
        changed = replace(
            user,
            mail=mail,
            email_key=email_key,
            user_principal_name=upn,
            external_user_state="PendingAcceptance",
            external_user_state_changed_at=now,
        )
        holder = await self.get_by_email(user.tenant_id, email_key)
        if holder is not None and holder.id != user_id:
            raise IntegrityError("email key exists in the tenant")
        self._check_unique(changed)
        self.s.users[user_id] = changed

    async def set_display_name(self, user_id: str, display_name: str) -> None:
        user = self.s.users.get(user_id)
        if user is not None:
            self.s.users[user_id] = replace(user, display_name=display_name)

    async def set_sponsors(self, user_id: str, sponsor_ids: list[str]) -> None:
        user = self.s.users.get(user_id)
        if user is not None:
            self.s.sponsors[user_id] = [
                s
                for s in dict.fromkeys(sponsor_ids)
                if s in self.s.users and self.s.users[s].tenant_id == user.tenant_id
            ]

    async def sponsors(self, user_id: str) -> list[str]:
        return list(self.s.sponsors.get(user_id, []))

    async def add_sponsor(self, user_id: str, sponsor_id: str) -> bool:
        now = self.s.sponsors.get(user_id, [])
        if sponsor_id in now:
            return False
        await self.set_sponsors(user_id, [*now, sponsor_id])
        return sponsor_id in self.s.sponsors.get(user_id, [])

    async def remove_sponsor(self, user_id: str, sponsor_id: str) -> bool:
        now = self.s.sponsors.get(user_id, [])
        if sponsor_id not in now:
            return False
        self.s.sponsors[user_id] = [s for s in now if s != sponsor_id]
        return True

    async def set_account_enabled(self, user_id: str, enabled: bool) -> None:
        user = self.s.users.get(user_id)
        if user is not None:
            self.s.users[user_id] = replace(user, account_enabled=enabled)

    async def last_sign_in(self, user_id: str) -> str | None:
        return self.s.sign_in_activity.get(user_id, (None, None))[0]

    async def restore(self, deleted: DeletedUser) -> bool:
        if not await self.add_if_absent(deleted.user):
            return False
        await self.set_sponsors(deleted.user.id, list(deleted.sponsors))
        return True

    async def list_guests(
        self, tenant_id: str, *, pending_only: bool, limit: int
    ) -> Sequence[User]:
        found = [
            u
            for u in self.s.users.values()
            if u.tenant_id == tenant_id
            and u.user_type == "Guest"
            and (not pending_only or u.external_user_state == "PendingAcceptance")
        ]
        return _sorted(found, ("created_at", False), ("id", False))[:limit]


class FakeInvitationRepository:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    def _ticket_taken(self, ticket_hash: str, by_other_than: str) -> bool:
        return any(
            h == ticket_hash and i != by_other_than for i, (_, h) in self.s.invitations.items()
        )

    async def add(self, invitation: Invitation, ticket_hash: str, *, listed: bool = False) -> None:
        if (
            invitation.id in self.s.invitations
            or self._ticket_taken(ticket_hash, invitation.id)
            or invitation.tenant_id not in self.s.tenants
            or invitation.user_id not in self.s.users
        ):
            raise IntegrityError("invitation or ticket exists, or its tenant or user does not")
        stored = replace(invitation, more=json.loads(json.dumps(invitation.more)))
        self.s.invitations[invitation.id] = (stored, ticket_hash)

    async def get(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        found = await self.get_by_id(invitation_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def get_by_id(self, invitation_id: str) -> Invitation | None:
        found = self.s.invitations.get(invitation_id)
        return None if found is None else found[0]

    async def get_by_ticket(self, ticket_hash: str) -> Invitation | None:
        return next((i for i, h in self.s.invitations.values() if h == ticket_hash), None)

    async def revoke_pending_of_user(self, user_id: str, now: str) -> int:
        count = 0
        for key, (invitation, hash_) in list(self.s.invitations.items()):
            if invitation.user_id == user_id and invitation.status == "PendingAcceptance":
                self.s.invitations[key] = (
                    replace(invitation, status="Revoked", revoked_at=now),
                    hash_,
                )
                count += 1
        return count

    async def set_status(
        self, invitation_id: str, *, status: str, from_status: str, now: str
    ) -> bool:
        column = {"Revoked": "revoked_at", "Completed": "completed_at", "Declined": None}[status]
        found = self.s.invitations.get(invitation_id)
        if found is None or found[0].status != from_status:
            return False
        changed = replace(found[0], status=status)
        if column == "revoked_at":
            changed = replace(changed, revoked_at=now)
        elif column == "completed_at":
            changed = replace(changed, completed_at=now)
        self.s.invitations[invitation_id] = (changed, found[1])
        return True

    async def replace_ticket(
        self, invitation_id: str, *, ticket_hash: str, expires_at: str | None
    ) -> bool:
        found = self.s.invitations.get(invitation_id)
        if found is None or found[0].status != "PendingAcceptance":
            return False
        if self._ticket_taken(ticket_hash, invitation_id):
            raise IntegrityError("ticket exists")
        self.s.invitations[invitation_id] = (replace(found[0], expires_at=expires_at), ticket_hash)
        return True

    async def expired_unreported(self, *, now: str, limit: int) -> Sequence[Invitation]:
        found = [
            i
            for i, _ in self.s.invitations.values()
            if i.status == "PendingAcceptance"
            and i.expires_at is not None
            and i.expires_at <= now
            and self.s.expiry_reported.get(i.id) != i.expires_at
        ]
        return sorted(found, key=lambda i: (i.expires_at or "", i.id))[:limit]

    async def report_expiry(self, invitation_id: str, *, expires_at: str) -> bool:
        found = self.s.invitations.get(invitation_id)
        if (
            found is None
            or found[0].status != "PendingAcceptance"
            or found[0].expires_at != expires_at
            or self.s.expiry_reported.get(invitation_id) == expires_at
        ):
            return False
        self.s.expiry_reported[invitation_id] = expires_at
        return True

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

        def shown(i: Invitation) -> bool:
            user = self.s.users.get(i.user_id)
            if i.tenant_id != tenant_id or user is None:
                return False
            expired = i.expires_at is not None and i.expires_at <= now
            if status == "PendingAcceptance" and (i.status != status or expired):
                return False
            if status == "Expired" and (i.status != "PendingAcceptance" or not expired):
                return False
            if status not in (None, "PendingAcceptance", "Expired") and i.status != status:
                return False
            if email_key is not None and user.email_key != email_key:
                return False
            return after is None or (i.created_at, i.id) < after

        found = [i for i, _ in self.s.invitations.values() if shown(i)]
        return _sorted(found, ("created_at", True), ("id", True))[:limit]


def _message(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=row.kind,
        recipient=row.recipient,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


class FakeOutbox:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(
        self, *, id: str, tenant_id: str, kind: str, recipient: str, sealed: str, now: str
    ) -> None:
        if id in self.s.outbox:
            raise IntegrityError("message exists")
        self.s.outbox[id] = OutboxRow(
            id=id,
            tenant_id=tenant_id,
            kind=kind,
            recipient=recipient,
            sealed=sealed,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            locked_until=None,
            last_error=None,
            created_at=now,
            sent_at=None,
        )

    async def claim(self, *, now: str, lease_until: str, limit: int) -> Sequence[ClaimedMessage]:
        due = [
            r
            for r in self.s.outbox.values()
            if r.status == "pending"
            and r.next_attempt_at <= now
            and (r.locked_until is None or r.locked_until <= now)
        ]
        claimed = []
        for row in _sorted(due, ("next_attempt_at", False))[:limit]:
            leased = self.s.outbox[row.id] = replace(
                row, locked_until=lease_until, attempts=row.attempts + 1
            )
            claimed.append(
                ClaimedMessage(
                    id=leased.id,
                    tenant_id=leased.tenant_id,
                    kind=leased.kind,
                    recipient=leased.recipient,
                    attempts=leased.attempts,
                    sealed=cast(str, leased.sealed),  # only a sent message has lost it
                )
            )
        return claimed

    async def renew(self, message_ids: Sequence[str], lease_until: str) -> None:
        for message_id in message_ids:
            row = self.s.outbox.get(message_id)
            if row is not None and row.status == "pending":
                self.s.outbox[message_id] = replace(row, locked_until=lease_until)

    async def mark_sent(self, message_id: str, now: str) -> bool:
        if (row := self.s.outbox.get(message_id)) is None or row.status == "sent":
            return False
        self.s.outbox[message_id] = replace(
            row, status="sent", sent_at=now, sealed=None, locked_until=None, last_error=None
        )
        return True

    async def mark_failed(
        self, message_id: str, *, error: str, next_attempt_at: str, dead: bool
    ) -> None:
        if (row := self.s.outbox.get(message_id)) is not None:
            self.s.outbox[message_id] = replace(
                row,
                status="dead" if dead else "pending",
                last_error=error[:500],
                next_attempt_at=next_attempt_at,
                locked_until=None,
            )

    async def list(self, *, status: str | None, limit: int) -> Sequence[OutboxMessage]:
        rows = [r for r in self.s.outbox.values() if status is None or r.status == status]
        return [_message(r) for r in _sorted(rows, ("created_at", True), ("id", False))[:limit]]

    async def purge(self, *, before: str) -> int:
        gone = [
            row.id
            for row in self.s.outbox.values()
            if row.status in ("sent", "dead") and (row.sent_at or row.created_at) < before
        ]
        for message_id in gone:
            del self.s.outbox[message_id]
        return len(gone)

    async def retry(self, *, message_id: str | None, now: str) -> int:
        count = 0
        for row in list(self.s.outbox.values()):
            if row.status == "dead" and message_id in (None, row.id):
                self.s.outbox[row.id] = replace(
                    row, status="pending", attempts=0, next_attempt_at=now, locked_until=None
                )
                count += 1
        return count


class FakeRedeemSessions:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(
        self, *, session_hash: str, invitation_id: str, now: str, expires_at: str
    ) -> None:
        if session_hash in self.s.redeem_sessions or invitation_id not in self.s.invitations:
            raise IntegrityError("session exists or its invitation does not")
        self.s.redeem_sessions[session_hash] = RedeemSession(
            session_hash=session_hash,
            invitation_id=invitation_id,
            code_hash=None,
            code_expires_at=None,
            code_attempts=0,
            codes_sent=0,
            last_code_at=None,
            verified_at=None,
            created_at=now,
            expires_at=expires_at,
        )

    async def get(self, session_hash: str) -> RedeemSession | None:
        return self.s.redeem_sessions.get(session_hash)

    async def set_code(
        self, session_hash: str, *, code_hash: str, expires_at: str, now: str
    ) -> None:
        if (session := self.s.redeem_sessions.get(session_hash)) is not None:
            self.s.redeem_sessions[session_hash] = replace(
                session,
                code_hash=code_hash,
                code_expires_at=expires_at,
                code_attempts=0,
                codes_sent=session.codes_sent + 1,
                last_code_at=now,
            )

    async def count_attempt(self, session_hash: str, limit: int) -> bool:
        session = self.s.redeem_sessions.get(session_hash)
        if session is None or session.code_attempts >= limit:
            return False
        self.s.redeem_sessions[session_hash] = replace(
            session, code_attempts=session.code_attempts + 1
        )
        return True

    async def verify(self, session_hash: str, *, new_hash: str, now: str) -> None:
        session = self.s.redeem_sessions.get(session_hash)
        if session is None:
            return
        if new_hash != session_hash and new_hash in self.s.redeem_sessions:
            raise IntegrityError("session exists")
        del self.s.redeem_sessions[session_hash]
        self.s.redeem_sessions[new_hash] = replace(
            session, session_hash=new_hash, verified_at=now, code_hash=None
        )

    async def add_if_current(
        self, *, session_hash: str, invitation_id: str, ticket_hash: str, now: str, expires_at: str
    ) -> bool:
        found = self.s.invitations.get(invitation_id)
        if found is None or found[1] != ticket_hash or found[0].status != "PendingAcceptance":
            return False
        await self.add(
            session_hash=session_hash, invitation_id=invitation_id, now=now, expires_at=expires_at
        )
        return True

    async def end_for_invitation(self, invitation_id: str) -> int:
        ended = [k for k, s in self.s.redeem_sessions.items() if s.invitation_id == invitation_id]
        for key in ended:
            del self.s.redeem_sessions[key]
        return len(ended)

    async def purge(self, *, ended_before: str) -> int:
        ended = [k for k, s in self.s.redeem_sessions.items() if s.expires_at < ended_before]
        for key in ended:
            del self.s.redeem_sessions[key]
        return len(ended)


def forget_sign_ins(store: FakeStore, gone: Callable[[Any], bool]) -> None:
    """Delete the sign-in rows `gone` picks, as the foreign keys' ON DELETE CASCADE does."""
    for table in (
        store.signin_challenges,
        store.signin_sessions,
        store.authorization_codes,
        store.refresh_tokens,
    ):
        for key in [k for k, row in table.items() if gone(row)]:
            del table[key]


class FakeSignIn:
    """Sign-in state; like the SQL store, each "use once" step changes at most one row once."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    def _check(
        self, *, tenant_id: str | None = None, user_id: str | None, app_id: str = ""
    ) -> None:
        if tenant_id is not None and tenant_id not in self.s.tenants:
            raise IntegrityError("no such tenant")
        if user_id is not None and user_id not in self.s.users:
            raise IntegrityError("no such user")
        if app_id and app_id not in self.s.apps:
            raise IntegrityError("no such app")

    # One-time-code challenges

    async def add_challenge(self, challenge: Challenge) -> None:
        self._check(tenant_id=challenge.tenant_id, user_id=challenge.user_id)
        if challenge.challenge_hash in self.s.signin_challenges:
            raise IntegrityError("challenge exists")
        self.s.signin_challenges[challenge.challenge_hash] = replace(
            challenge,
            code_hash=None,
            code_expires_at=None,
            code_attempts=0,
            codes_sent=0,
            last_code_at=None,
        )

    async def get_challenge(self, challenge_hash: str) -> Challenge | None:
        return self.s.signin_challenges.get(challenge_hash)

    async def set_challenge_code(
        self, challenge_hash: str, *, code_hash: str | None, expires_at: str, now: str
    ) -> None:
        if (found := self.s.signin_challenges.get(challenge_hash)) is not None:
            self.s.signin_challenges[challenge_hash] = replace(
                found,
                code_hash=code_hash,
                code_expires_at=expires_at,
                code_attempts=0,
                codes_sent=found.codes_sent + 1,
                last_code_at=now,
            )

    async def count_challenge_attempt(self, challenge_hash: str, limit: int) -> bool:
        found = self.s.signin_challenges.get(challenge_hash)
        if found is None or found.code_attempts >= limit:
            return False
        self.s.signin_challenges[challenge_hash] = replace(
            found, code_attempts=found.code_attempts + 1
        )
        return True

    async def recent_challenges(self, user_id: str, *, since: str) -> int:
        return sum(
            1
            for c in self.s.signin_challenges.values()
            if c.user_id == user_id and c.created_at > since
        )

    async def delete_challenge(self, challenge_hash: str) -> bool:
        return self.s.signin_challenges.pop(challenge_hash, None) is not None

    # Sessions

    async def add_session(self, session: SignInSession) -> None:
        self._check(tenant_id=session.tenant_id, user_id=session.user_id)
        if session.session_hash in self.s.signin_sessions or any(
            s.sid == session.sid for s in self.s.signin_sessions.values()
        ):
            raise IntegrityError("session exists")
        self.s.signin_sessions[session.session_hash] = replace(session, ended_at=None)

    async def get_session(self, session_hash: str) -> SignInSession | None:
        return self.s.signin_sessions.get(session_hash)

    async def end_session(self, session_hash: str, now: str) -> bool:
        found = self.s.signin_sessions.get(session_hash)
        if found is None or found.ended_at is not None:
            return False
        self.s.signin_sessions[session_hash] = replace(found, ended_at=now)
        return True

    # Authorization codes

    async def add_code(self, code_hash: str, code: AuthorizationCode) -> None:
        self._check(user_id=code.user_id, app_id=code.app_id)
        if code_hash in self.s.authorization_codes:
            raise IntegrityError("code exists")
        self.s.authorization_codes[code_hash] = replace(code, used_at=None, family_id=None)

    async def get_code(self, code_hash: str) -> AuthorizationCode | None:
        return self.s.authorization_codes.get(code_hash)

    async def use_code(self, code_hash: str, *, family_id: str, now: str) -> bool:
        found = self.s.authorization_codes.get(code_hash)
        if found is None or found.used_at is not None:
            return False
        self.s.authorization_codes[code_hash] = replace(found, used_at=now, family_id=family_id)
        return True

    # Refresh tokens

    async def add_refresh_token(self, token_hash: str, token: RefreshToken) -> None:
        self._check(user_id=token.user_id, app_id=token.app_id)
        if token_hash in self.s.refresh_tokens:
            raise IntegrityError("refresh token exists")
        self.s.refresh_tokens[token_hash] = replace(token, used_at=None, revoked_at=None)

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self.s.refresh_tokens.get(token_hash)

    async def rotate_refresh_token(self, token_hash: str, now: str) -> bool:
        found = self.s.refresh_tokens.get(token_hash)
        if found is None or found.used_at is not None or found.revoked_at is not None:
            return False
        self.s.refresh_tokens[token_hash] = replace(found, used_at=now)
        return True

    async def revoke_family(self, family_id: str, now: str) -> int:
        live = [
            k
            for k, t in self.s.refresh_tokens.items()
            if t.family_id == family_id and t.revoked_at is None
        ]
        for key in live:
            self.s.refresh_tokens[key] = replace(self.s.refresh_tokens[key], revoked_at=now)
        return len(live)

    async def family_revoked(self, family_id: str) -> bool:
        return any(
            t.family_id == family_id and t.revoked_at is not None
            for t in self.s.refresh_tokens.values()
        )

    async def purge(self, *, now: str, before: str) -> int:
        def old(at: str | None) -> bool:
            return at is not None and at <= before

        s = self.s
        gone: list[tuple[dict[str, Any], str]] = [
            *(
                (s.signin_challenges, k)
                for k, c in s.signin_challenges.items()
                if c.expires_at <= now
            ),
            *(
                (s.signin_sessions, k)
                for k, x in s.signin_sessions.items()
                if old(x.expires_at) or old(x.ended_at)
            ),
            *(
                (s.authorization_codes, k)
                for k, c in s.authorization_codes.items()
                if old(c.expires_at)
            ),
            *(
                (s.refresh_tokens, k)
                for k, t in s.refresh_tokens.items()
                if old(t.expires_at) or old(t.revoked_at)
            ),
        ]
        for table, key in gone:
            del table[key]
        return len(gone)

    # Sign-in activity (Graph's signInActivity)

    async def record_activity(self, user_id: str, *, now: str, success: bool) -> None:
        self._check(user_id=user_id)
        _, last_success = self.s.sign_in_activity.get(user_id, (None, None))
        self.s.sign_in_activity[user_id] = (now, now if success else last_success)

    async def activity(self, user_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        return {u: self.s.sign_in_activity[u] for u in user_ids if u in self.s.sign_in_activity}


class FakeRateLimits:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def hit(self, name: str, *, now_ms: int, window_ms: int) -> Count:
        count = self.s.rate_limits.get(name)
        if count is None or count.window_ends <= now_ms:
            count = Count(hits=1, window_ends=now_ms + window_ms)
        else:
            count = replace(count, hits=count.hits + 1)
        self.s.rate_limits[name] = count
        return count

    async def get(self, name: str, *, now_ms: int) -> Count | None:
        count = self.s.rate_limits.get(name)
        return count if count is not None and count.window_ends > now_ms else None

    async def refund(self, name: str, *, now_ms: int) -> None:
        count = self.s.rate_limits.get(name)
        if count is not None and count.window_ends > now_ms and count.hits > 0:
            self.s.rate_limits[name] = replace(count, hits=count.hits - 1)

    async def purge(self, *, now_ms: int) -> int:
        ended = [k for k, c in self.s.rate_limits.items() if c.window_ends <= now_ms]
        for key in ended:
            del self.s.rate_limits[key]
        return len(ended)


class FakePacing:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def reserve(self, name: str, *, now_us: int, interval_us: int) -> int:
        start = max(self.s.pacers.get(name, now_us), now_us)
        self.s.pacers[name] = start + interval_us
        return start


class FakeEventLog:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def number_pending(self, limit: int) -> int:
        pending = sorted(
            (e for e in self.s.events if e.sequence is None), key=lambda e: (e.occurred_at, e.id)
        )[:limit]
        for event in pending:
            number = self.s.event_sequences.get(event.tenant_id, 0) + 1
            self.s.event_sequences[event.tenant_id] = number
            index = self.s.events.index(event)
            self.s.events[index] = replace(
                event, sequence=number, body=events_rules.numbered(event.body, number)
            )
        return len(pending)

    async def last_sequence(self, tenant_id: str) -> int:
        return self.s.event_sequences.get(tenant_id, 0)

    async def add(self, event: Event) -> None:
        if any(
            e.id == event.id
            or (
                event.sequence is not None
                and (e.tenant_id, e.sequence) == (event.tenant_id, event.sequence)
            )
            for e in self.s.events
        ):
            raise IntegrityError("event exists")
        self.s.events.append(event)

    async def after(
        self, tenant_id: str, *, after: int, types: Sequence[str], limit: int
    ) -> Sequence[Event]:
        found = [
            e
            for e in self.s.events
            if e.tenant_id == tenant_id
            and e.sequence is not None
            and e.sequence > after
            and (not types or e.type in types)
        ]
        return sorted(found, key=lambda e: e.sequence or 0)[:limit]

    async def get(self, tenant_id: str, event_id: str) -> Event | None:
        return next(
            (e for e in self.s.events if e.tenant_id == tenant_id and e.id == event_id), None
        )

    async def between(self, tenant_id: str, *, start: str, end: str, limit: int) -> Sequence[Event]:
        found = [
            e
            for e in self.s.events
            if e.tenant_id == tenant_id and e.sequence is not None and start <= e.occurred_at < end
        ]
        return sorted(found, key=lambda e: e.sequence or 0)[:limit]

    async def oldest_sequence(self, tenant_id: str) -> int | None:
        kept = [e.sequence for e in self.s.events if e.tenant_id == tenant_id and e.sequence]
        return min(kept, default=None)


class FakeInvitationPolicies:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def get(self, tenant_id: str) -> InvitationPolicy | None:
        return self.s.invitation_policies.get(tenant_id)

    async def put(self, policy: InvitationPolicy) -> None:
        self.s.invitation_policies[policy.tenant_id] = policy


class FakeRoles:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def assign(self, assignment: RoleAssignment) -> bool:
        key = (assignment.tenant_id, assignment.user_id, assignment.role)
        if key in self.s.roles:
            return False
        if assignment.user_id not in self.s.users or assignment.tenant_id not in self.s.tenants:
            raise IntegrityError("role_assignments: no such user or tenant")
        self.s.roles[key] = assignment
        return True

    async def remove(self, tenant_id: str, user_id: str, role: str) -> bool:
        return self.s.roles.pop((tenant_id, user_id, role), None) is not None

    async def of_user(self, tenant_id: str, user_id: str) -> Sequence[str]:
        return sorted(r for (t, u, r) in self.s.roles if t == tenant_id and u == user_id)

    async def list(self, tenant_id: str) -> Sequence[RoleAssignment]:
        found = [a for a in self.s.roles.values() if a.tenant_id == tenant_id]
        return sorted(found, key=lambda a: (a.assigned_at, a.user_id, a.role))


class FakeConsoleSessions:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, session: ConsoleSession) -> None:
        if session.session_hash in self.s.console_sessions:
            raise IntegrityError("console_sessions: duplicate")
        self.s.console_sessions[session.session_hash] = session

    async def get(self, session_hash: str) -> ConsoleSession | None:
        return self.s.console_sessions.get(session_hash)

    async def end(self, session_hash: str, now: str) -> bool:
        found = self.s.console_sessions.get(session_hash)
        if found is None or found.ended_at is not None:
            return False
        self.s.console_sessions[session_hash] = replace(found, ended_at=now)
        return True


class FakeGuestList:
    """The SQL guest list in Python: the same states, filters, order and keyset."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    def _rows(self, tenant_id: str, where: GuestFilter, now: str) -> list[GuestRow]:
        latest: dict[str, Invitation] = {}
        for invitation, _ in self.s.invitations.values():
            held = latest.get(invitation.user_id)
            if held is None or (invitation.created_at, invitation.id) > (held.created_at, held.id):
                latest[invitation.user_id] = invitation
        rows = []
        for user in self.s.users.values():
            if user.tenant_id != tenant_id or user.user_type != "Guest":
                continue
            inv = latest.get(user.id)
            if inv is None:
                state = "Accepted" if user.external_user_state == "Accepted" else "Pending"
            elif inv.status == "Completed":
                state = "Accepted"
            elif inv.status == "PendingAcceptance":
                expired = inv.expires_at is not None and inv.expires_at <= now
                state = "Expired" if expired else "Pending"
            else:
                state = inv.status
            sort = {"invited": user.created_at, "name": fold(user.display_name)}.get(
                where.sort, fold(user.mail)
            )
            sponsors = tuple(self.s.sponsors.get(user.id, []))
            requester = inv.requested_by if inv else None
            rows.append(
                GuestRow(
                    user_id=user.id,
                    display_name=user.display_name,
                    email=user.mail,
                    state=state,
                    invited_at=inv.created_at if inv else user.created_at,
                    requester=requester,
                    last_sign_in=self.s.sign_in_activity.get(user.id, (None, None))[0],
                    invitation_id=inv.id if inv else None,
                    sort_value=sort,
                    sponsors=sponsors,
                    account_enabled=user.account_enabled,
                )
            )

        def keep(row: GuestRow) -> bool:
            text = fold(where.text) if where.text else None
            return (
                (where.state is None or row.state == where.state)
                and (where.domain is None or fold(row.email).endswith("@" + fold(where.domain)))
                and (where.requester is None or row.requester == where.requester)
                and (where.user_id is None or row.user_id == where.user_id)
                and (text is None or text in fold(row.display_name) or text in fold(row.email))
                and (
                    where.within is None
                    or row.requester == where.within[0]
                    or where.within[1] in row.sponsors
                )
            )

        return [r for r in rows if keep(r)]

    async def page(self, tenant_id: str, where: GuestFilter, *, now: str) -> Sequence[GuestRow]:
        rows = sorted(
            self._rows(tenant_id, where, now),
            key=lambda r: (r.sort_value, r.user_id),
            reverse=where.descending,
        )
        if where.after is not None:
            after = where.after
            rows = [
                r
                for r in rows
                if (
                    (r.sort_value, r.user_id) < after
                    if where.descending
                    else (r.sort_value, r.user_id) > after
                )
            ]
        return rows[: where.top + 1]

    async def count(self, tenant_id: str, where: GuestFilter, *, now: str) -> int:
        return len(self._rows(tenant_id, where, now))


class FakeDeletedUsers:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, deleted: DeletedUser) -> None:
        self.s.deleted_users[deleted.user.id] = deleted

    async def get(self, tenant_id: str, user_id: str) -> DeletedUser | None:
        found = self.s.deleted_users.get(user_id)
        return found if found is not None and found.user.tenant_id == tenant_id else None

    async def list(
        self, tenant_id: str, *, after: tuple[str, str] | None, limit: int
    ) -> Sequence[DeletedUser]:
        rows = sorted(
            (d for d in self.s.deleted_users.values() if d.user.tenant_id == tenant_id),
            key=lambda d: (d.deleted_at, d.user.id),
            reverse=True,
        )
        if after is not None:
            rows = [d for d in rows if (d.deleted_at, d.user.id) < after]
        return rows[:limit]

    async def remove(self, tenant_id: str, user_id: str) -> bool:
        if await self.get(tenant_id, user_id) is None:
            return False
        del self.s.deleted_users[user_id]
        return True

    async def upn_taken(self, tenant_id: str, upn: str) -> bool:
        return any(
            d.user.tenant_id == tenant_id and fold(d.user.user_principal_name) == fold(upn)
            for d in self.s.deleted_users.values()
        )

    async def purge(self, *, deleted_before: str, limit: int) -> Sequence[tuple[str, str]]:
        due = sorted(
            (d for d in self.s.deleted_users.values() if d.deleted_at < deleted_before),
            key=lambda d: (d.deleted_at, d.user.id),
        )[:limit]
        for d in due:
            del self.s.deleted_users[d.user.id]
        return [(d.user.tenant_id, d.user.id) for d in due]


class FakeUnitOfWork:
    """One transaction over a `FakeStore`: it works on a copy, saved only if committed.

    Like the SQL unit of work it may be entered again (each time a new transaction), and
    write transactions take turns (SQLite has one writer; PostgreSQL's row locks make
    re-invites of one guest queue). A read-only one (``write=False``) must change nothing.
    """

    tenants: FakeTenantRepository
    apps: FakeAppRepository
    keys: FakeKeyRepository
    audit: FakeAuditLog
    users: FakeUserRepository
    deleted_users: FakeDeletedUsers
    graph_invitations: FakeGraphInvitations
    invitations: FakeInvitationRepository
    outbox: FakeOutbox
    redeem_sessions: FakeRedeemSessions
    rate_limits: FakeRateLimits
    pacing: FakePacing
    signin: FakeSignIn
    events: FakeEventLog
    invitation_policies: FakeInvitationPolicies
    roles: FakeRoles
    console_sessions: FakeConsoleSessions
    guest_list: FakeGuestList

    def __init__(self, store: FakeStore | None = None, *, write: bool = True) -> None:
        self.store = store if store is not None else FakeStore()
        self.write = write
        self.committed = 0  # transactions this unit of work committed
        self._work: FakeStore | None = None
        self._base: dict[str, Any] = {}
        self._commit_requested = False

    async def __aenter__(self) -> Self:
        if self.write:
            if self.store.writer is None:
                self.store.writer = asyncio.Lock()
            await self.store.writer.acquire()
        self._base = self.store.tables()
        work = self._work = self.store.snapshot()
        self._commit_requested = False
        self.tenants = FakeTenantRepository(work)
        self.apps = FakeAppRepository(work)
        self.keys = FakeKeyRepository(work)
        self.audit = FakeAuditLog(work)
        self.users = FakeUserRepository(work)
        self.deleted_users = FakeDeletedUsers(work)
        self.graph_invitations = FakeGraphInvitations(work)
        self.invitations = FakeInvitationRepository(work)
        self.outbox = FakeOutbox(work)
        self.redeem_sessions = FakeRedeemSessions(work)
        self.rate_limits = FakeRateLimits(work)
        self.pacing = FakePacing(work)
        self.signin = FakeSignIn(work)
        self.events = FakeEventLog(work)
        self.invitation_policies = FakeInvitationPolicies(work)
        self.roles = FakeRoles(work)
        self.console_sessions = FakeConsoleSessions(work)
        self.guest_list = FakeGuestList(work)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        work, self._work = self._work, None
        if work is None:
            return
        if not self.write:
            if work.tables() != self._base:
                raise AssertionError("a read-only unit of work changed data")
            return
        try:
            if exc_info[0] is None and self._commit_requested:
                for name, table in work.tables().items():
                    setattr(self.store, name, table)
                self.committed += 1
        finally:
            assert self.store.writer is not None
            self.store.writer.release()

    async def commit(self) -> None:
        """Mark the work to commit when the block ends without an error."""
        self._commit_requested = True


def _conforms(uow: FakeUnitOfWork) -> UnitOfWork:
    return uow  # mypy checks that the fake implements the port
