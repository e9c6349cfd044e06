"""The ports of tenants and their branding, and Microsoft 365 mode's invitation ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from guestgate.domain.branding import Logo
from guestgate.domain.tenants import Tenant


class TenantRepository(Protocol):
    async def add(self, tenant: Tenant) -> None: ...
    async def get(self, tenant_id: str, *, links: bool = True) -> Tenant | None:
        """The tenant; with ``links=False`` perhaps cached, its links then possibly stale."""
        ...

    async def get_by_domain(self, domain: str) -> Tenant | None: ...
    async def domain_taken(self, domain: str) -> bool: ...
    async def set_links(
        self,
        tenant_id: str,
        *,
        privacy_url: str | None,
        logo_url: str | None,
        landing_url: str | None,
    ) -> None: ...
    async def set_invitation_lifetime(self, tenant_id: str, days: int) -> None: ...
    async def list(self) -> Sequence[Tenant]: ...
    async def count(self) -> int: ...
    async def logo(self, tenant_id: str) -> Logo | None: ...
    async def set_logo(self, tenant_id: str, logo: Logo | None, *, now: str) -> None:
        """Store the tenant's logo image, replacing any; None removes it."""
        ...


class GraphInvitations(Protocol):
    """Microsoft 365 mode: the invitation ids Graph answered with, and the guest each made."""

    async def add(self, tenant_id: str, invitation_id: str, user_id: str, *, now: str) -> None:
        """Remember an invitation id; the same id again is kept once."""
        ...

    async def user_id(self, tenant_id: str, invitation_id: str) -> str | None: ...
