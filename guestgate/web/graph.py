"""The Graph-compatible surface (local mode): `/v1.0/...` as Microsoft Graph answers it."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from guestgate.errors import NotFound
from guestgate.web.auth import authorize, caller_of, runtime_of


@get("/v1.0/organization", opt={"permission": None}, guards=[authorize], tags=["graph"])
async def organization(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The caller's tenant, as Graph's organization collection."""
    runtime = runtime_of(request)
    caller = caller_of(request)
    async with runtime.uow(write=False) as uow:
        tenant = await uow.tenants.get(caller.tenant_id)
    if tenant is None:
        raise NotFound("The tenant of this token does not exist.")
    base = runtime.settings.public_url
    return {
        "@odata.context": f"{base}/v1.0/$metadata#organization",
        "value": [
            {
                "id": tenant.id,
                "displayName": tenant.name,
                "createdDateTime": tenant.created_at[:19] + "Z",
                "verifiedDomains": [
                    {"name": d, "isDefault": i == 0, "isInitial": i == 0, "type": "Managed"}
                    for i, d in enumerate(tenant.domains)
                ],
            }
        ],
    }


ROUTES = [organization]
