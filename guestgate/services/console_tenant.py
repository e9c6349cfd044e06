"""What the console's Tenant page shows and changes: branding, landing page, invitation
lifetime and domains.

Administrators and readers see the settings; only Global and User administrators change
them, through services/tenants.py's `update_tenant` (the use-case `guestgate tenant set`
runs), with the signed-in person as the audit trail's actor. The other roles see nothing.
"""

from __future__ import annotations

from datetime import datetime

from guestgate.domain.invitations import check_redirect_url
from guestgate.domain.roles import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from guestgate.domain.tenants import MAX_INVITATION_LIFETIME_DAYS, Tenant, check_invitation_lifetime
from guestgate.errors import InvalidTenantSettings, PermissionDenied, ValidationError
from guestgate.services import tenants
from guestgate.services.console import Person
from guestgate.services.ports import UnitOfWork

NOT_YOURS = (
    "Your role does not let you see the organization's settings;"
    " administrators and readers see them."
)
READ_ONLY = "Your role lets you see the organization's settings, not change them."
# Form field → what an error message calls it.
URL_FIELDS = {"logo": "logo URL", "privacy": "privacy statement URL", "landing": "landing page"}


def require_view(person: Person) -> None:
    if not person.access.sees_all:
        raise PermissionDenied(NOT_YOURS, code="NotAnAdministrator")


def may_change(person: Person) -> bool:
    return bool(person.access.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR})


def require_change(person: Person) -> None:
    require_view(person)
    if not may_change(person):
        raise PermissionDenied(READ_ONLY, code="ReadOnlyRole")


async def view(uow: UnitOfWork, *, person: Person) -> Tenant:
    """The person's tenant with its current links and lifetime (never the cached copy)."""
    require_view(person)
    return await tenants.get_tenant(uow, person.user.tenant_id)


async def save_logo(
    uow: UnitOfWork,
    *,
    person: Person,
    data: bytes | None,
    request_id: str | None,
    now: datetime,
) -> Tenant:
    """Store the uploaded logo image (None removes it), or ValidationError naming what is
    wrong with the file; audited with the person as actor."""
    require_change(person)
    return await tenants.set_logo(
        uow,
        tenant_ref=person.user.tenant_id,
        data=data,
        now=now,
        actor=person.email,
        request_id=request_id,
    )


def _lifetime(text: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 3):
        raise ValidationError(
            f"The invitation lifetime must be a whole number of days,"
            f" 0-{MAX_INVITATION_LIFETIME_DAYS} (0: links never expire).",
            code="InvalidInvitationLifetime",
        )
    return check_invitation_lifetime(int(text))


async def save(
    uow: UnitOfWork,
    *,
    person: Person,
    form: dict[str, str],
    request_id: str | None,
    now: datetime,
) -> Tenant:
    """Every setting of the form at once (an empty URL clears it), or InvalidTenantSettings
    naming each bad field and storing nothing."""
    require_change(person)
    problems: dict[str, str] = {}
    urls: dict[str, str] = {}
    for name, label in URL_FIELDS.items():
        value = form.get(name, "").strip()
        try:
            urls[name] = check_redirect_url(value, field=f"The {label}") if value else ""
        except ValidationError as exc:
            problems[name] = exc.message
    lifetime = 0
    try:
        lifetime = _lifetime(form.get("lifetime", ""))
    except ValidationError as exc:
        text = exc.message[:1].upper() + exc.message[1:]
        problems["lifetime"] = text if text.endswith(".") else text + "."
    if problems:
        raise InvalidTenantSettings(problems)
    return await tenants.update_tenant(
        uow,
        tenant_ref=person.user.tenant_id,
        privacy_url=urls["privacy"],
        logo_url=urls["logo"],
        landing_url=urls["landing"],
        invitation_lifetime_days=lifetime,
        now=now,
        actor=person.email,
        request_id=request_id,
    )
