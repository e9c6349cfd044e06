"""Who may be mailed about an invitation besides the guest: its requester, if they belong.

`requestedBy` is any address a caller names, so guestgate mails it only when it belongs to
the organization: an address on one of the tenant's own domains (or a subdomain), or a
member of the tenant (not a guest, nor a member still to accept an invitation). Any other
requester is stored and audited, never mailed.
"""

from __future__ import annotations

from guestgate.domain.emails import EmailAddress, domain_matches, parse_email
from guestgate.domain.tenants import Tenant
from guestgate.domain.users import ACCEPTED, INVITATION, MEMBER
from guestgate.errors import ValidationError
from guestgate.services.ports import UnitOfWork


async def requester_belongs(uow: UnitOfWork, tenant: Tenant, requester: EmailAddress) -> bool:
    """Whether the requester belongs to the organization and so may be told."""
    if domain_matches(requester.domain, tenant.domains):
        return True
    user = await uow.users.get_by_email(tenant.id, requester.key)
    return (
        user is not None
        and user.user_type == MEMBER
        and (user.creation_type != INVITATION or user.external_user_state == ACCEPTED)
    )


async def stored_requester_belongs(
    uow: UnitOfWork, tenant: Tenant, requested_by: str | None
) -> bool:
    """`requester_belongs` for the requester an invitation stored (validated when it was made)."""
    if requested_by is None:
        return False
    try:
        requester = parse_email(requested_by, field="requestedBy")
    except ValidationError:
        return False
    return await requester_belongs(uow, tenant, requester)
