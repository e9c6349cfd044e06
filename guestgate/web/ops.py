"""Operations endpoints: liveness and readiness."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from guestgate.errors import Unavailable
from guestgate.web import api
from guestgate.web.auth import runtime_of


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
    schema = request.app.openapi_schema.to_schema()
    _document_request_bodies(schema)
    return Response(msgspec.json.encode(schema), media_type="application/json")


def _document_request_bodies(schema: dict[str, Any]) -> None:
    """Add the JSON bodies that routes parse themselves (web/body.py) to the document."""
    bodies = api.REQUEST_BODIES
    refs, components = msgspec.json.schema_components(
        list(bodies.values()), ref_template="#/components/schemas/{name}"
    )
    schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
    for ((path, method), _), ref in zip(bodies.items(), refs, strict=True):
        operation = schema["paths"][path][method]
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref}},
        }


ROUTES = [healthz, readyz, openapi_document]
