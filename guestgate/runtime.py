"""The objects one process lives with, built once from its Settings by guestgate/bootstrap.py.

`serve` (each worker process), every CLI command and `guestgate worker` get theirs from
`bootstrap.build_runtime`; nothing else opens the database or derives keys. Everything here is
per process: nothing correct depends on it (caches are best-effort per process; throttles count
in the database, services/throttles.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.tenant_cache import TenantCache
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.adapters.tokens import Caller, KeyRing
from guestgate.adapters.webhooks import SystemResolver
from guestgate.config import Settings
from guestgate.domain.throttle import Limit
from guestgate.domain.timestamps import utcnow
from guestgate.services.invitations import InvitationService
from guestgate.services.lifecycle_ports import GuestFactsSource
from guestgate.services.throttles import Throttles
from guestgate.services.user_admin import UserAdmin
from guestgate.services.webhooks import Resolver
from guestgate.worker import OutboxWorker

if TYPE_CHECKING:  # the Graph stack (httpx, msal) loads only in graph mode
    from guestgate.adapters.graph import AppTokenProvider, GraphClient


class Authenticator(Protocol):
    """Turns a bearer token into a caller; `enforces_roles` says whether we check permissions."""

    enforces_roles: bool

    async def verify(self, token: str) -> Caller: ...

    def forget_app(self, app_id: str) -> None: ...


@dataclass
class GraphRuntime:
    """Graph mode: the client, and where Graph tokens come from."""

    client: GraphClient
    app_tokens: AppTokenProvider | None  # None: forward the caller's own token


@dataclass
class Runtime:
    settings: Settings
    db: Database
    sealer: Sealer
    hash_key: bytes  # keys the client-secret hashes
    cursor_key: bytes  # signs paging cursors
    form_key: bytes  # redemption forms' CSRF tokens and one-time codes
    keyring: KeyRing
    verifier: Authenticator
    worker: OutboxWorker
    # Token endpoint guessing: per client id and address, and per address across client ids.
    client_failures: Limit
    address_failures: Limit
    # Redemption pages: invalid links and wrong codes per address.
    page_failures: Limit
    tenant_cache: TenantCache
    graph: GraphRuntime | None = None  # graph mode, in `serve`
    # Checks a webhook URL's host when an endpoint is saved (delivery checks it again).
    webhook_resolver: Resolver = field(default_factory=SystemResolver)
    # The invitation use-cases behind one port (services/invitations.py), set by bootstrap.
    invitations: InvitationService = field(init=False)
    # Sponsors, accountEnabled and deleted users (services/user_admin.py), set by bootstrap.
    user_admin: UserAdmin = field(init=False)
    # Counts the limits above in the database, where every process sees them.
    throttles: Throttles = field(init=False)
    # Where lifecycle policies read the guests (services/lifecycle_ports.py), set by bootstrap.
    guest_facts: GuestFactsSource = field(init=False)

    def uow(self, *, write: bool = True, alone: bool = False) -> SqlUnitOfWork:
        """A unit of work; `alone` keeps its write out of group commits (rate limits)."""
        return SqlUnitOfWork(self.db, write=write, tenant_cache=self.tenant_cache, alone=alone)

    def now(self) -> datetime:
        return utcnow()

    @property
    def has_graph_app(self) -> bool:
        """Microsoft 365 mode with guestgate's own app registration in the tenant: what reads
        the tenant without a caller's token (the console's guest list) needs."""
        return self.graph is not None and self.graph.app_tokens is not None

    @property
    def keeps_tenants(self) -> bool:
        """Whether callers' tenants are rows of guestgate's database (not in Microsoft 365
        mode: there a caller's tenant is the Entra tenant its token names)."""
        return not self.settings.graph_mode

    async def close(self) -> None:
        """Release what the process holds open: the Graph client, the mail transport, the pool.

        The outbox worker's own loop closes the transport when it stops; closing it here as
        well covers a worker that never ran (a CLI command).
        """
        self.worker.stop()
        if self.graph is not None:
            await self.graph.client.close()
        await self.worker.transport.close()
        await self.db.close()
