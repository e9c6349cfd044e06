"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import os

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from guestgate import __version__, config, logs
from guestgate.config import Settings
from guestgate.web import api, graph, identity, ops, pages
from guestgate.web.errors import EXCEPTION_HANDLERS
from guestgate.web.middleware import EdgeMiddleware
from guestgate.web.protocol import DeadlineHttpToolsProtocol
from guestgate.web.state import Runtime


def create_app(settings: Settings) -> Litestar:
    runtime = Runtime.build(settings)

    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        await runtime.keyring.current()
        if settings.inprocess_worker:
            tasks.append(asyncio.create_task(runtime.worker.run()))

    async def close() -> None:
        runtime.worker.stop()
        if runtime.graph is not None:
            await runtime.graph.client.close()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        await runtime.db.close()

    app = Litestar(
        # Graph mode: Microsoft runs identity, the Graph API and redemption; guestgate the rest.
        route_handlers=[*ops.ROUTES, *api.ROUTES]
        if settings.graph_mode
        else [*ops.ROUTES, *identity.ROUTES, *api.ROUTES, *graph.ROUTES, *pages.ROUTES],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        on_startup=[start],
        on_shutdown=[close],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="guestgate",
            version=__version__,
            description="Guest invitations: the GT365 InviteGuest API, a Graph-compatible"
            " surface and a client-credentials identity provider.",
            path="/docs",
            render_plugins=[SwaggerRenderPlugin(path="/"), JsonRenderPlugin(path="/openapi.json")],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        debug=False,
        logging_config=None,
    )
    app.state.runtime = runtime
    app.asgi_handler = EdgeMiddleware(
        app.asgi_handler,
        hsts=settings.public_url.startswith("https://"),
        body_timeout=settings.body_timeout_seconds,
    )
    return app


def app_from_env() -> Litestar:
    """Factory for uvicorn workers: settings come from the environment `serve` prepared."""
    settings = config.from_env(os.environ)
    logs.configure(settings.log_level)
    DeadlineHttpToolsProtocol.header_timeout = settings.header_timeout_seconds
    return create_app(settings)
