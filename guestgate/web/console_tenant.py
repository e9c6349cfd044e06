"""The admin console's Tenant page: branding, landing page, invitation lifetime, domains.

Administrators and readers see the settings; Global and User administrators change them
with one form (console CSRF), through the use-case `guestgate tenant set` runs, audited with
the signed-in person as the actor (services/console_tenant.py). A bad value is the form
again, 400, each bad field named and nothing stored.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from guestgate.domain.tenants import MAX_INVITATION_LIFETIME_DAYS, Tenant
from guestgate.errors import GuestgateError, InvalidTenantSettings
from guestgate.logs import request_id_var
from guestgate.services import console_tenant as settings
from guestgate.web.auth import runtime_of
from guestgate.web.branding import logo_path
from guestgate.web.console import Signed, checked_form, sign_in_first
from guestgate.web.console_pages import refusal, signed_page
from guestgate.web.forms import see_other


def _form_of(tenant: Tenant) -> dict[str, str]:
    return {
        "logo": tenant.logo_url or "",
        "privacy": tenant.privacy_url or "",
        "landing": tenant.landing_url or "",
        "lifetime": str(tenant.invitation_lifetime_days),
    }


DONE = {
    "saved": "The settings were saved.",
    "logo-saved": "The logo was saved; the pages show it now.",
    "logo-removed": "The logo was removed; the pages show the initials.",
}


def tenant_settings_page(
    signed: Signed, tenant: Tenant, status: int = 200, **context: Any
) -> Response[str]:
    """The Tenant page; `context` may carry a bad form's values and errors."""
    return signed_page(
        signed,
        "console_tenant.html",
        status,
        section="tenant",
        title=f"Tenant - {signed.tenant.name}",
        settings=tenant,
        changeable=settings.may_change(signed.person),
        max_days=MAX_INVITATION_LIFETIME_DAYS,
        logo_image=logo_path(tenant),
        **{"form": _form_of(tenant), "errors": {}, "done": None, "logo_error": "", **context},
    )


@get("/admin/{tenant:str}/tenant", include_in_schema=False)
async def tenant_page(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """The organization's settings; a form for administrators."""
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime = runtime_of(request)
    try:
        found = await settings.view(runtime.uow(write=False), person=signed.person)
    except GuestgateError as exc:
        return refusal(signed, exc)
    return tenant_settings_page(signed, found, done=DONE.get(request.query_params.get("done", "")))


@post("/admin/{tenant:str}/tenant", include_in_schema=False, status_code=303)
async def tenant_save(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """Save every setting of the form (administrators), audited with the person as actor."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    runtime = runtime_of(request)
    try:
        await settings.save(
            runtime.uow(),
            person=signed.person,
            form={k: form.get(k, "")[:4096] for k in settings.URL_FIELDS.keys() | {"lifetime"}},
            request_id=request_id_var.get(),
            now=runtime.now(),
        )
    except InvalidTenantSettings as exc:
        current = await settings.view(runtime.uow(write=False), person=signed.person)
        return tenant_settings_page(
            signed,
            current,
            400,
            form={k: form.get(k, "")[:4096] for k in _form_of(current)},
            errors=exc.fields,
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(f"/admin/{signed.tenant.id}/tenant?done=saved")


ROUTES = [tenant_page, tenant_save]
