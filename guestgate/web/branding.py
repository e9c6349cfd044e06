"""The tenant's logo from guestgate's own origin: the pages show it without loading anything
from another one. `logo_path` is what the pages link; the image is the file the admin gave
(`guestgate tenant set --logo FILE` or the console's Tenant page), served as stored.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from guestgate.domain.tenants import Tenant
from guestgate.errors import NotFound
from guestgate.services import tenants
from guestgate.web.auth import runtime_of

# The path names the image's hash, so a page always links the current image and a browser
# may keep each one for a day; a changed logo is a new URL.
CACHE = "public, max-age=86400"


def logo_path(tenant: Tenant | None) -> str | None:
    """The same-origin URL of the tenant's logo, or None when it has none."""
    if tenant is None or tenant.logo_etag is None:
        return None
    return f"/branding/{tenant.id}/logo?v={tenant.logo_etag[:16]}"


def branding(tenant: Tenant | None) -> dict[str, Any]:
    """What a page shows of the organisation: its name and its logo, if any."""
    return {"org": None if tenant is None else tenant.name, "logo": logo_path(tenant)}


@get("/branding/{tenant_id:str}/logo", include_in_schema=False)
async def tenant_logo(request: Request[Any, Any, Any], tenant_id: str) -> Response[bytes]:
    """The tenant's logo image (PNG, JPEG, GIF or WebP, checked when it was stored)."""
    found = await tenants.logo(runtime_of(request).uow(write=False), tenant_id)
    if found is None:
        raise NotFound("This organization has no logo.", code="Request_ResourceNotFound")
    etag = f'"{found.etag}"'
    # X-Content-Type-Options: nosniff is on every answer (web/middleware.py): the browser
    # takes the image as the type it was checked to be, never as HTML or script.
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE,
        # Opened on its own, the image is a document of no origin that can run nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    wanted = request.headers.get("if-none-match", "")
    if etag in (t.strip() for t in wanted.split(",")) or wanted.strip() == "*":
        return Response(b"", status_code=304, headers=headers)
    return Response(found.data, media_type=found.content_type, headers=headers)


ROUTES = [tenant_logo]
