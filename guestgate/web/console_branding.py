"""The console Tenant page's logo form: upload the image the pages show, or remove it.

A multipart form with the console's CSRF token, from this origin, bounded; the file is
checked by services/tenants.py (PNG, JPEG, GIF or WebP by its first bytes, at most 256 KiB).
A bad file is the Tenant page again, 400, naming the problem, nothing stored.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from guestgate.domain.branding import MAX_LOGO_BYTES
from guestgate.errors import GuestgateError, ValidationError
from guestgate.logs import request_id_var
from guestgate.services import console_tenant as settings
from guestgate.web.auth import runtime_of
from guestgate.web.console import sign_in_first
from guestgate.web.console_pages import refusal
from guestgate.web.console_tenant import tenant_settings_page
from guestgate.web.forms import check_csrf, message, see_other

BODY_BYTES = MAX_LOGO_BYTES + 16 * 1024  # the file, and the multipart envelope around it


@post(
    "/admin/{tenant:str}/tenant/logo",
    include_in_schema=False,
    request_max_body_size=BODY_BYTES,
    status_code=303,
)
async def logo_save(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """Store the uploaded logo, or remove it (administrators), audited with the person."""
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime = runtime_of(request)
    refused = message(
        403, "This request was refused", "The form was not sent by this console's page."
    )
    origin = request.headers.get("origin")
    public = runtime.settings.http.public_url.split("/", 3)
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if origin not in (None, "null") and origin != "/".join(public[:3]):
        return refused
    if media != "multipart/form-data":
        return refused
    try:
        form = await request.form()
    except RequestEntityTooLarge:
        return message(
            413, "The file is too large", "A logo may be up to 256 KiB.", org=signed.tenant.name
        )
    except ClientException:
        return refused
    fields = {k: v for k in ("csrf", "remove") if isinstance(v := form.get(k), str)}
    if not check_csrf(runtime, f"console:{signed.person.session_hash}", fields):
        return refused
    remove = fields.get("remove") == "yes"
    upload, data = form.get("file"), b""  # no file chosen: the check names it
    if isinstance(upload, UploadFile):
        data = await upload.read(MAX_LOGO_BYTES + 1)
        await upload.close()
    try:
        await settings.save_logo(
            runtime.uow(),
            person=signed.person,
            data=None if remove else data,
            request_id=request_id_var.get(),
            now=runtime.now(),
        )
    except ValidationError as exc:
        current = await settings.view(runtime.uow(write=False), person=signed.person)
        return tenant_settings_page(signed, current, 400, logo_error=exc.message)
    except GuestgateError as exc:
        return refusal(signed, exc)
    done = "logo-removed" if remove else "logo-saved"
    return see_other(f"/admin/{signed.tenant.id}/tenant?done={done}")


ROUTES = [logo_save]
