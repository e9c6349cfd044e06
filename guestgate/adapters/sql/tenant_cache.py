"""The tenant cache of the hot paths: every invitation reads its tenant."""

from __future__ import annotations

import time
from collections.abc import Callable

from guestgate.domain.tenants import Tenant


class TenantCache:
    """Tenants read recently, for the hot paths: every invitation reads its tenant.

    After it is created, only a tenant's links (privacy, logo, landing page) and its
    invitation lifetime can change, and another process (the CLI) may change them. So an
    entry serves only the callers that do not use the links (``get(..., links=False)``);
    every other read goes to the database and refreshes the entry. Such a caller may see a
    changed invitation lifetime only once an entry is refreshed or expires (``ttl``).
    Missing tenants are not remembered: a new tenant is usable at once.
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
