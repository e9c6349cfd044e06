"""`/docs`: Swagger UI served from the package itself (static/swagger-ui, vendored with its
licence), so the page works without internet and loads nothing from another origin."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.plugins import SwaggerRenderPlugin

from guestgate.errors import NotFound
from guestgate.web.openapi import document

SWAGGER_UI = Path(__file__).with_name("static") / "swagger-ui"
ASSETS = "/docs/assets"
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


class OfflineSwaggerUi(SwaggerRenderPlugin):
    """Litestar's Swagger UI page, pointed at the bundled files and the completed document."""

    def __init__(self) -> None:
        super().__init__(
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
            path="/",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document(request.app))


@cache
def _asset(name: str) -> bytes:
    return (SWAGGER_UI / name).read_bytes()


@get(f"{ASSETS}/{{name:str}}", include_in_schema=False)
async def docs_asset(name: str) -> Response[bytes]:
    """One file of the bundled Swagger UI; only the files the page uses are served."""
    media_type = MEDIA_TYPES.get(name)
    if media_type is None:
        raise NotFound("There is no such documentation file.", code="Request_ResourceNotFound")
    return Response(
        _asset(name), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )
