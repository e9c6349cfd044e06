"""Tenants and their domain names, read through the tenant cache where links are not used."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.adapters.sql.tenant_cache import TenantCache
from guestgate.domain.branding import Logo
from guestgate.domain.tenants import Tenant

_TENANT_WITH_DOMAINS = (
    "SELECT t.id, t.name, t.created_at, t.invitation_lifetime_days, t.privacy_url,"
    " t.logo_url, t.landing_url, l.etag AS logo_etag, d.domain FROM tenants t"
    " LEFT JOIN tenant_logos l ON l.tenant_id = t.id"
    " LEFT JOIN tenant_domains d ON d.tenant_id = t.id"
)


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
            logo_etag=row["logo_etag"],
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

    async def set_invitation_lifetime(self, tenant_id: str, days: int) -> None:
        await self.tx.execute(
            "UPDATE tenants SET invitation_lifetime_days = :days WHERE id = :id",
            {"id": tenant_id, "days": days},
        )

    async def logo(self, tenant_id: str) -> Logo | None:
        row = await self.tx.fetchone(
            "SELECT content_type, image, etag FROM tenant_logos WHERE tenant_id = :id",
            {"id": tenant_id},
        )
        if row is None:
            return None
        data = base64.b64decode(row["image"])
        return Logo(content_type=row["content_type"], data=data, etag=row["etag"])

    async def set_logo(self, tenant_id: str, logo: Logo | None, *, now: str) -> None:
        if logo is None:
            await self.tx.execute(
                "DELETE FROM tenant_logos WHERE tenant_id = :id", {"id": tenant_id}
            )
            return
        await self.tx.execute(
            "INSERT INTO tenant_logos (tenant_id, content_type, image, etag, updated_at)"
            " VALUES (:id, :type, :image, :etag, :now) ON CONFLICT (tenant_id) DO UPDATE SET"
            " content_type = excluded.content_type, image = excluded.image,"
            " etag = excluded.etag, updated_at = excluded.updated_at",
            {
                "id": tenant_id,
                "type": logo.content_type,
                "image": base64.b64encode(logo.data).decode("ascii"),
                "etag": logo.etag,
                "now": now,
            },
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
