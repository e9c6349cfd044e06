"""Per-process runtime objects shared by every request of one app instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from guestgate.adapters.mail.render import Sender
from guestgate.adapters.mail.transport import make_transport
from guestgate.adapters.sealing import Sealer, derive, secret_hash_key
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.tenant_cache import TenantCache
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.adapters.tokens import Caller, KeyRing, KeySet, TokenVerifier
from guestgate.config import Settings
from guestgate.domain.throttle import FailureThrottle
from guestgate.domain.timestamps import utcnow
from guestgate.services.keys import load_key_set
from guestgate.services.tokens import GRAPH, GUESTGATE_API
from guestgate.worker import OutboxWorker

if TYPE_CHECKING:  # the Graph stack (httpx, msal) loads only in graph mode
    from guestgate.adapters.graph import AppTokenProvider, GraphClient, InvitationLimiter
    from guestgate.services.graph_invitations import GraphCall


class Authenticator(Protocol):
    """Turns a bearer token into a caller; `enforces_roles` says whether we check permissions."""

    enforces_roles: bool

    async def verify(self, token: str) -> Caller: ...


@dataclass
class GraphRuntime:
    """Graph mode: the client, the per-tenant limiter, and where Graph tokens come from."""

    client: GraphClient
    limiter: InvitationLimiter
    app_tokens: AppTokenProvider | None  # None: forward the caller's own token

    async def call(self, caller_token: str) -> GraphCall:
        from guestgate.services.graph_invitations import GraphCall

        token = caller_token if self.app_tokens is None else await self.app_tokens.token()
        return GraphCall(client=self.client, limiter=self.limiter, token=token)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    sealer: Sealer
    hash_key: bytes
    cursor_key: bytes
    form_key: bytes
    keyring: KeyRing = field(init=False)
    verifier: Authenticator = field(init=False)
    worker: OutboxWorker = field(init=False)
    graph: GraphRuntime | None = field(init=False, default=None)
    # Token endpoint guessing: per client id and address, and per address across client ids.
    client_failures: FailureThrottle = field(init=False)
    address_failures: FailureThrottle = field(init=False)
    # Redemption pages: invalid links and wrong codes per address.
    page_failures: FailureThrottle = field(init=False)
    tenant_cache: TenantCache = field(init=False, default_factory=TenantCache)

    def __post_init__(self) -> None:
        self.keyring = KeyRing(self._load_keys)
        per_minute = self.settings.token_failures_per_minute
        self.client_failures = FailureThrottle(per_minute, 60.0)
        self.address_failures = FailureThrottle(per_minute * 5, 60.0)
        self.page_failures = FailureThrottle(self.settings.page_failures_per_10_minutes, 600.0)
        settings = self.settings
        self.verifier = TokenVerifier(
            self.keyring,
            public_url=settings.public_url,
            audiences=frozenset({GRAPH, GUESTGATE_API}),
            leeway=settings.token_leeway_seconds,
            tenant_exists=self._tenant_exists,
        )
        if settings.graph_mode:
            self._graph_mode()
        self.worker = OutboxWorker(
            self.uow,
            sealer=self.sealer,
            transport=make_transport(
                self.settings.smtp_url, self.settings.mail_dir, ca_file=self.settings.smtp_ca_file
            ),
            sender=Sender(self.settings.mail_from),
            retry_base=self.settings.outbox_retry_base_seconds,
            lease_seconds=self.settings.outbox_lease_seconds,
        )

    def _graph_mode(self) -> None:
        from guestgate.adapters.graph import (
            AppTokenProvider,
            ForwardingAuthenticator,
            GraphClient,
            InvitationLimiter,
            JwksKeys,
        )

        settings = self.settings
        client = GraphClient(
            settings.graph_url,
            timeout=settings.graph_timeout_seconds,
            ca_file=settings.graph_ca_file,
        )
        # Graph counts invitations when they arrive; we count when they leave. A one-second
        # margin on the 5-second window absorbs the time in between.
        limiter = InvitationLimiter(settings.graph_invites_per_window, 5.0 + 1.0)
        if settings.graph_client_id and settings.graph_client_secret and settings.graph_tenant:
            # guestgate's own app in the tenant: callers prove themselves with Entra tokens
            # for guestgate's API, validated against the tenant's published keys.
            tenant = settings.graph_tenant.lower()
            keys = JwksKeys(
                f"{settings.entra_url}/{tenant}/discovery/v2.0/keys", ca_file=settings.graph_ca_file
            )
            self.verifier = TokenVerifier(
                keys,
                public_url=settings.entra_url,
                audiences=frozenset({settings.graph_client_id, GUESTGATE_API}),
                tenants=frozenset({tenant}),
                leeway=settings.token_leeway_seconds,
            )
            app_tokens: AppTokenProvider | None = AppTokenProvider(
                client_id=settings.graph_client_id,
                secret=settings.graph_client_secret,
                tenant=tenant,
                authority=settings.entra_url,
                ca_file=settings.graph_ca_file,
            )
        else:
            self.verifier = ForwardingAuthenticator(client)
            app_tokens = None
        self.graph = GraphRuntime(client=client, limiter=limiter, app_tokens=app_tokens)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings,
            db=connect(settings.database_url),
            sealer=Sealer(settings.secret_key),
            hash_key=secret_hash_key(settings.secret_key),
            cursor_key=derive(settings.secret_key, "guestgate paging cursor v1"),
            form_key=derive(settings.secret_key, "guestgate redemption forms v1"),
        )

    def uow(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, write=write, tenant_cache=self.tenant_cache)

    def now(self) -> datetime:
        return utcnow()

    async def _tenant_exists(self, tenant_id: str) -> bool:
        async with self.uow(write=False) as uow:
            return await uow.tenants.get(tenant_id, links=False) is not None

    async def _load_keys(self) -> KeySet:
        return await load_key_set(self.uow(write=False), sealer=self.sealer, now=self.now())
