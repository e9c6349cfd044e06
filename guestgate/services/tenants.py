"""Tenant use-cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from guestgate.domain.branding import Logo, check_logo
from guestgate.domain.invitations import check_redirect_url
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.tenants import (
    Tenant,
    check_invitation_lifetime,
    check_tenant_name,
    is_guid,
    normalise_domain,
)
from guestgate.domain.timestamps import iso
from guestgate.errors import AuthenticationError, Conflict, NotFound, ValidationError
from guestgate.services.ports import UnitOfWork
from guestgate.services.tenant_ports import TenantRepository


async def create_tenant(
    uow: UnitOfWork,
    *,
    name: str,
    domains: Sequence[str],
    now: datetime,
    rng: Randomness = SYSTEM,
) -> Tenant:
    """Create a tenant with its verified domains; the first domain is its primary one."""
    if not domains:
        raise ValidationError("a tenant needs at least one domain", code="InvalidDomain")
    names: list[str] = []
    for domain in domains:
        normalised = normalise_domain(domain)
        if normalised not in names:
            names.append(normalised)
    tenant = Tenant(
        id=rng.uuid(),
        name=check_tenant_name(name),
        domains=tuple(names),
        created_at=iso(now),
    )
    async with uow:
        for domain in tenant.domains:
            if await uow.tenants.domain_taken(domain):
                raise Conflict(f"the domain {domain} belongs to another tenant", code="DomainTaken")
        await uow.tenants.add(tenant)
        await uow.audit.record(
            tenant_id=tenant.id,
            action="tenant.create",
            target=tenant.id,
            created_at=tenant.created_at,
            details={"name": tenant.name, "domains": list(tenant.domains)},
        )
        await uow.commit()
    return tenant


async def list_tenants(uow: UnitOfWork) -> Sequence[Tenant]:
    """Every tenant, oldest first."""
    async with uow:
        return await uow.tenants.list()


async def find_tenant(tenants: TenantRepository, ref: str, *, links: bool = True) -> Tenant | None:
    """The one tenant lookup: by its id or any of its domain names.

    With ``links=False`` the tenant may come from the per-process cache, its links (landing
    page, logo, privacy statement) and invitation lifetime then possibly up to a minute
    stale; its name and domains are never stale.
    """
    ref = ref.strip()
    if is_guid(ref.lower()):
        return await tenants.get(ref.lower(), links=links)
    try:
        domain = normalise_domain(ref)
    except ValidationError:
        return None
    return await tenants.get_by_domain(domain)


async def require_tenant(tenants: TenantRepository, ref: str) -> Tenant:
    """The tenant named by id or domain, or NotFound."""
    tenant = await find_tenant(tenants, ref)
    if tenant is None:
        raise NotFound(f"no tenant {ref!r}", code="TenantNotFound")
    return tenant


async def token_tenant(tenants: TenantRepository, tenant_id: str, *, links: bool = True) -> Tenant:
    """The tenant of a validated access token; gone only if deleted (or the token forged)."""
    tenant = await find_tenant(tenants, tenant_id, links=links)
    if tenant is None:
        raise AuthenticationError("The tenant of this access token does not exist.")
    return tenant


async def get_tenant(uow: UnitOfWork, ref: str) -> Tenant:
    """The tenant named by id or domain, or NotFound."""
    async with uow:
        return await require_tenant(uow.tenants, ref)


async def tenant_name(uow: UnitOfWork, tenant_id: str) -> str | None:
    """The organization's name for a page, or None if there is no such tenant."""
    tenant = await page_tenant(uow, tenant_id)
    return None if tenant is None else tenant.name


async def page_tenant(uow: UnitOfWork, tenant_id: str) -> Tenant | None:
    """The organization a page names (its name and logo), or None if there is no such one."""
    if not is_guid(tenant_id):
        return None
    async with uow:
        return await find_tenant(uow.tenants, tenant_id)


async def set_links(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    privacy_url: str | None,
    logo_url: str | None,
    landing_url: str | None,
    now: datetime,
) -> Tenant:
    """Set the tenant's privacy statement, logo and landing page (https URLs; "" clears one)."""
    return await update_tenant(
        uow,
        tenant_ref=tenant_ref,
        privacy_url=privacy_url,
        logo_url=logo_url,
        landing_url=landing_url,
        now=now,
    )


async def update_tenant(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    privacy_url: str | None = None,
    logo_url: str | None = None,
    landing_url: str | None = None,
    invitation_lifetime_days: int | None = None,
    now: datetime,
    actor: str | None = None,
    request_id: str | None = None,
) -> Tenant:
    """Set the tenant's links (https URLs; "" clears one) and the lifetime of new invitations.

    None leaves a setting as it is. Every value is checked before anything is written, and
    the changes commit together with one audit row, naming `actor` (the console's signed-in
    person; None from the CLI).
    """
    checked = {
        name: None if value in (None, "") else check_redirect_url(value, field=f"{name} URL")
        for name, value in (("privacy", privacy_url), ("logo", logo_url), ("landing", landing_url))
    }
    lifetime = (
        None
        if invitation_lifetime_days is None
        else check_invitation_lifetime(invitation_lifetime_days)
    )
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        updated = replace(
            tenant,
            privacy_url=tenant.privacy_url if privacy_url is None else checked["privacy"],
            logo_url=tenant.logo_url if logo_url is None else checked["logo"],
            landing_url=tenant.landing_url if landing_url is None else checked["landing"],
            invitation_lifetime_days=tenant.invitation_lifetime_days
            if lifetime is None
            else lifetime,
        )
        await uow.tenants.set_links(
            tenant.id,
            privacy_url=updated.privacy_url,
            logo_url=updated.logo_url,
            landing_url=updated.landing_url,
        )
        if lifetime is not None:
            await uow.tenants.set_invitation_lifetime(tenant.id, lifetime)
        await uow.audit.record(
            tenant_id=tenant.id,
            action="tenant.update",
            target=tenant.id,
            actor=actor,
            request_id=request_id,
            created_at=iso(now),
            details=None if lifetime is None else {"invitationLifetimeDays": lifetime},
        )
        await uow.commit()
    return updated


async def set_logo(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    data: bytes | None,
    now: datetime,
    actor: str | None = None,
    request_id: str | None = None,
) -> Tenant:
    """Store the tenant's logo image, shown on its pages (None removes it), audited.

    The file is checked before anything is written: PNG, JPEG, GIF or WebP by its first
    bytes, at most 256 KiB (domain/branding.py)."""
    logo = None if data is None else check_logo(data)
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        await uow.tenants.set_logo(tenant.id, logo, now=iso(now))
        await uow.audit.record(
            tenant_id=tenant.id,
            action="tenant.update",
            target=tenant.id,
            actor=actor,
            request_id=request_id,
            created_at=iso(now),
            details={"logo": "removed"}
            if logo is None
            else {"logo": logo.content_type, "logoBytes": len(logo.data), "logoSha256": logo.etag},
        )
        await uow.commit()
    return replace(tenant, logo_etag=None if logo is None else logo.etag)


async def logo(uow: UnitOfWork, tenant_id: str) -> Logo | None:
    """The tenant's logo image, or None (also for a malformed or unknown tenant id)."""
    if not is_guid(tenant_id):
        return None
    async with uow:
        return await uow.tenants.logo(tenant_id.lower())
