"""The OpenAPI document: what Litestar derives from the routes, completed with what it cannot
see (bodies that routes parse themselves in web/body.py)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar

from guestgate.web import api, events


def document(app: Litestar) -> dict[str, Any]:
    """The app's complete OpenAPI document, built once per app."""
    built: dict[str, Any] | None = app.state.get("openapi_document")
    if built is None:
        built = app.openapi_schema.to_schema()
        _document_request_bodies(built)
        app.state.openapi_document = built
    return built


def _document_request_bodies(schema: dict[str, Any]) -> None:
    """Add the JSON bodies that routes parse themselves (web/body.py) to the document."""
    bodies = {**api.REQUEST_BODIES, **events.REQUEST_BODIES}
    refs, components = msgspec.json.schema_components(
        list(bodies.values()), ref_template="#/components/schemas/{name}"
    )
    schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
    for ((path, method), _), ref in zip(bodies.items(), refs, strict=True):
        operation = schema["paths"].get(path, {}).get(method)
        if operation is not None:  # the Graph-compatible routes exist in local mode only
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref}},
            }
