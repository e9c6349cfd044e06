"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
from litestar import Request, Response, get

from guestgate import metrics as prometheus
from guestgate.errors import AuthenticationError, Unavailable
from guestgate.services.backlog import backlogs
from guestgate.web.auth import bearer_token, runtime_of
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


@get("/metrics", tags=["operations"], media_type=prometheus.MEDIA_TYPE)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus metrics of every worker process and the delivery queues (bearer: the
    metrics token, GUESTGATE_METRICS_TOKEN)."""
    runtime = runtime_of(request)
    expected = runtime.settings.metrics.token
    given = bearer_token(request)
    # Constant time: the answer's timing tells nothing of how much of a guess was right.
    if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AuthenticationError("The metrics token is not the one configured.")
    queues = await backlogs(runtime.uow(write=False), now=runtime.now())
    return Response(prometheus.exposition(queues), media_type=prometheus.MEDIA_TYPE)


# Mounted only when a metrics token is set (web/app.py).
METRICS_ROUTES = [metrics]
# The bundled Swagger UI's files: /docs is served in both modes.
ROUTES = [healthz, readyz, openapi_document, docs_asset]
