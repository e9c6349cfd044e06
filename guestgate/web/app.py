"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from guestgate import __version__
from guestgate.bootstrap import build_runtime, configure_process
from guestgate.config import Settings
from guestgate.web import (
    api,
    applications,
    approvals,
    branding,
    bulk,
    console,
    console_approvals,
    console_apps,
    console_audit,
    console_branding,
    console_bulk,
    console_events,
    console_guest_actions,
    console_lifecycle,
    console_m365,
    console_m365_actions,
    console_m365_reports,
    console_m365_signin,
    console_pages,
    console_reports,
    console_tenant,
    console_users,
    events,
    graph,
    graph_users,
    identity,
    lifecycle,
    lifecycle_attest,
    odata_feed,
    oidc,
    ops,
    pages,
    policies,
    reports,
    signin,
    subscriptions,
)
from guestgate.web.docs import OfflineSwaggerUi
from guestgate.web.errors import EXCEPTION_HANDLERS
from guestgate.web.middleware import EdgeMiddleware
from guestgate.web.protocol import DeadlineHttpToolsProtocol


def create_app(settings: Settings, *, serving: bool = False) -> Litestar:
    runtime = build_runtime(settings, connect_graph=True)

    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        await runtime.keyring.current()
        if serving:
            # Everything loaded so far (modules, routes, templates, settings) lives as long as
            # the serving process. Moved out of the collector's reach, a full collection walks
            # only what requests made since: under load these ran every second and stalled the
            # event loop for ~40 ms each, the largest share of the invite's p99. (Not in tests,
            # which build many apps in one process: frozen objects are never freed.)
            gc.collect()
            gc.freeze()
        if settings.mail.inprocess_worker:
            tasks.append(asyncio.create_task(runtime.worker.run()))

    async def close() -> None:
        runtime.worker.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        await runtime.close()

    # /metrics exists only once its token is set (GUESTGATE_METRICS_TOKEN): off by default.
    operations = [*ops.ROUTES, *(ops.METRICS_ROUTES if settings.metrics.enabled else [])]
    app = Litestar(
        # In Microsoft 365 mode Microsoft runs sign-in, the Graph API and redemption.
        route_handlers=[
            *operations,
            *identity.ROUTES,
            *api.ROUTES,
            *bulk.ROUTES,
            *events.ROUTES,
            *reports.ROUTES,
            *graph.ROUTES,
            *graph_users.ROUTES,
            *subscriptions.ROUTES,
            *applications.ROUTES,
            *policies.ROUTES,
            *policies.GRAPH_ROUTES,
            *lifecycle.ROUTES,
            *lifecycle.GRAPH_ROUTES,
            *lifecycle_attest.ROUTES,
            *lifecycle_attest.GRAPH_ROUTES,
            *approvals.ROUTES,
            *pages.ROUTES,
            *branding.ROUTES,
            *console_approvals.ROUTES,
            *oidc.ROUTES,
            *odata_feed.ROUTES,
            *signin.ROUTES,
            *console.ROUTES,
            *console_apps.ROUTES,
            *console_guest_actions.ROUTES,
            *console_pages.ROUTES,
            *console_events.ROUTES,
            *console_bulk.ROUTES,
            *console_reports.ROUTES,
            *console_audit.ROUTES,
            *console_lifecycle.ROUTES,
            *console_tenant.ROUTES,
            *console_branding.ROUTES,
            *console_users.ROUTES,
        ]
        if runtime.invitations.directory.is_identity_provider
        else [
            *operations,
            *api.ROUTES,
            *bulk.ROUTES,
            *events.ROUTES,
            *policies.ROUTES,
            *approvals.ROUTES,
            *lifecycle.ROUTES,
            *lifecycle_attest.ROUTES,
            *console_m365_signin.ROUTES,
            *console_m365_actions.ROUTES,
            *console_m365_reports.ROUTES,
            *console_m365.ROUTES,
            pages.stylesheet,  # the console's pages link it
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        on_startup=[start],
        on_shutdown=[close],
        request_max_body_size=settings.http.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="guestgate",
            version=__version__,
            description="Guest invitations: the GT365 InviteGuest API, a Graph-compatible"
            " surface and a client-credentials identity provider.",
            path="/docs",
            render_plugins=[OfflineSwaggerUi(), JsonRenderPlugin(path="/openapi.json")],
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
        hsts=settings.http.https,
        body_timeout=settings.http.body_timeout_seconds,
        metrics=settings.metrics.enabled,
    )
    return app


def serving_app(settings: Settings) -> Litestar:
    """The app of one `serve` process (uvicorn calls it in each worker), set up from Settings."""
    configure_process(settings)
    DeadlineHttpToolsProtocol.header_timeout = settings.http.header_timeout_seconds
    return create_app(settings, serving=True)
