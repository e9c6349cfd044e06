"""The admin console's sign-in: its own OpenID client in each tenant, and console sessions.

The console signs people in like any app of the tenant: a confidential client with a
redirect URI at /admin/callback, registered by the console itself the first time a tenant's
console is opened. Its client id and secret are derived from the server's key, so there is
nothing to configure and no secret stored in the clear (only its keyed hash, as for every
app). A console session starts after the code exchange, for a member holding a role; the
browser keeps its id, the database its SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from guestgate.domain import console as rules
from guestgate.domain.apps import SECRET_PREFIX, ClientSecret, hash_secret, secret_hint
from guestgate.domain.console import ConsoleSession
from guestgate.domain.randomness import SYSTEM
from guestgate.domain.redemption import session_hash
from guestgate.domain.roles import Access
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso
from guestgate.domain.users import MEMBER, User
from guestgate.errors import IntegrityError
from guestgate.services.apps import SignIn, build_app, register_app
from guestgate.services.ports import UnitOfWork
from guestgate.services.tenants import require_tenant

APP_NAME = "guestgate admin console"
SECRET_LIFETIME = timedelta(days=730)


@dataclass(frozen=True, slots=True)
class ConsoleClient:
    tenant: Tenant
    app_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class Person:
    """Who is signed in to a tenant's console, with what their roles allow."""

    user: User
    access: Access
    session_hash: str
    signed_in_at: str = ""  # when the person last entered a sign-in code (ISO 8601)

    @property
    def email(self) -> str:
        return self.user.mail

    @property
    def tenant_id(self) -> str:
        return self.user.tenant_id

    @property
    def user_id(self) -> str:
        return self.user.id

    def signed_in_since(self, moment: datetime) -> bool:
        """Whether the person's last sign-in is at or after this moment."""
        return bool(self.signed_in_at) and self.signed_in_at >= iso(moment)


def _derived(key: bytes, purpose: str, tenant_id: str) -> bytes:
    return hmac.new(key, f"console:{purpose}:{tenant_id}".encode(), hashlib.sha256).digest()


def client_id_of(key: bytes, tenant_id: str) -> str:
    """The console's client id in a tenant: a UUID only this server's key gives."""
    raw = bytearray(_derived(key, "app", tenant_id)[:16])
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def client_secret_of(key: bytes, tenant_id: str) -> str:
    raw = _derived(key, "secret", tenant_id)
    return SECRET_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def ensure_client(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    redirect_uri: str,
    key: bytes,
    hash_key: bytes,
    now: datetime,
) -> ConsoleClient:
    """The tenant's console client, registered (or given a fresh secret) when needed."""
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        app_id = client_id_of(key, tenant.id)
        secret = client_secret_of(key, tenant.id)
        app = await uow.apps.get(app_id)
        if app is None:
            built = build_app(
                tenant,
                APP_NAME,
                (),
                SignIn(redirect_uris=(redirect_uri,)),
                public_client=False,
                now=now,
                rng=SYSTEM,
            )
            try:
                await register_app(uow, replace(built, id=app_id), tenant, now)
            except IntegrityError:  # another request registered it a moment ago
                return ConsoleClient(tenant, app_id, secret)
        elif redirect_uri not in app.redirect_uris:  # the public URL changed
            await uow.apps.update(replace(app, redirect_uris=(*app.redirect_uris, redirect_uri)))
        live = [s for s in await uow.apps.list_secrets(app_id) if s.expires_at > iso(now)]
        if not live:
            kept = ClientSecret(
                id=SYSTEM.uuid(),
                app_id=app_id,
                hint=secret_hint(secret),
                display_name="console",
                created_at=iso(now),
                expires_at=iso(now + SECRET_LIFETIME),
            )
            await uow.apps.add_secret(kept, hash_secret(hash_key, secret))
        await uow.commit()
    return ConsoleClient(tenant, app_id, secret)


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a signed-in user gets no console: not a member, or no role."""

    reason: str
    email: str = ""


async def open_session(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    user_id: str,
    session_id: str,
    now: datetime,
    signed_in_at: datetime | None = None,
) -> Person | Refused:
    """After the code exchange: a console session for a member holding a role.
    `signed_in_at` is when the person entered a code (the ID token's auth_time)."""
    async with uow:
        user = await uow.users.get(tenant_id, user_id)
        if user is None:
            return Refused("unknown")
        if user.user_type != MEMBER:
            return Refused("guest", user.mail)
        roles = frozenset(await uow.roles.of_user(tenant_id, user_id))
        if not roles:
            return Refused("no-role", user.mail)
        hashed = session_hash(session_id)
        signed = iso(min(signed_in_at or now, now))
        await uow.console_sessions.add(
            ConsoleSession(
                session_hash=hashed,
                tenant_id=tenant_id,
                user_id=user_id,
                created_at=iso(now),
                expires_at=iso(now + timedelta(seconds=rules.SESSION_SECONDS)),
                signed_in_at=signed,
            )
        )
        await uow.audit.record(
            tenant_id=tenant_id,
            actor=user.mail,
            action="console.signin",
            target=user_id,
            created_at=iso(now),
            details={"roles": sorted(roles)},
        )
        await uow.commit()
    return Person(user, Access(roles), hashed, signed)


async def signed_in(
    uow: UnitOfWork, *, tenant_id: str, session_id: str, now: datetime
) -> Person | Refused | None:
    """The person of a live console session of this tenant; roles read afresh each time."""
    hashed = session_hash(session_id)
    async with uow:
        session = await uow.console_sessions.get(hashed)
        if (
            session is None
            or session.tenant_id != tenant_id
            or session.ended_at is not None
            or session.expires_at <= iso(now)
        ):
            return None
        user = await uow.users.get(tenant_id, session.user_id)
        if user is None:
            return None
        roles = frozenset(await uow.roles.of_user(tenant_id, user.id))
    if not roles:
        return Refused("no-role", user.mail)
    return Person(user, Access(roles), hashed, session.signed_in_at or session.created_at)


async def sign_out(uow: UnitOfWork, *, session_id: str, now: datetime) -> None:
    async with uow:
        await uow.console_sessions.end(session_hash(session_id), iso(now))
        await uow.commit()
