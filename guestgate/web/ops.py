"""Operations endpoints: liveness and readiness."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from guestgate.errors import Unavailable
from guestgate.web.auth import runtime_of
from guestgate.web.docs import docs_asset
from guestgate.web.openapi import document


@get("/healthz", tags=["operations"], include_in_schema=True)
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get("/readyz", tags=["operations"])
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """Readiness: the database answers and the signing keys are loaded."""
    runtime = runtime_of(request)
    try:
        await runtime.db.ping()
        await runtime.keyring.current()
    except Unavailable:
        return Response(
            {"status": "unavailable", "reason": "database unreachable"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return Response({"status": "ready"})


@get("/openapi.json", tags=["operations"], include_in_schema=False)
async def openapi_document(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The OpenAPI 3.1 description of every API route."""
    return Response(msgspec.json.encode(document(request.app)), media_type="application/json")


# The bundled Swagger UI's files: /docs is served in both modes.
ROUTES = [healthz, readyz, openapi_document, docs_asset]
