"""The edge of every request: request id, security headers, one access-log line, its metrics."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from guestgate import metrics
from guestgate.errors import RequestTimeout
from guestgate.logs import log_access, request_id_var

_CLIENT_REQUEST_ID = re.compile(rb"^[A-Za-z0-9-]{1,64}$")

BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# /docs runs Swagger UI (bundled, web/docs.py): its own origin only, inline start-up script.
DOCS_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    b" img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self';"
    b" frame-ancestors 'none'",
)
HSTS = (b"strict-transport-security", b"max-age=31536000")


class EdgeMiddleware:
    """Plain ASGI, so it costs a few microseconds and sees every response, errors included."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts: bool,
        body_timeout: float = 20.0,
        docs_path: str = "/docs",
        metrics: bool = False,
    ) -> None:
        self.app = app
        self.metrics = metrics  # count requests for /metrics (only when it is served)
        self.body_timeout = body_timeout
        self.headers = [*BASE_HEADERS, HSTS] if hsts else list(BASE_HEADERS)
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        token = request_id_var.set(request_id)
        client_request_id = next(
            (v for k, v in scope["headers"] if k == b"client-request-id"), None
        )
        started = time.perf_counter()
        status = 0
        path: str = scope["path"]
        if "//" in path and path.startswith("/v1.0/"):
            # Graph SDKs sometimes build `/v1.0//users`; Graph answers it, so do we.
            path = re.sub("/{2,}", "/", path)
            scope["path"] = path
            scope["raw_path"] = path.encode()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(self.headers)
                if b"content-security-policy" not in names:
                    headers.append(DOCS_CSP if path.startswith(self.docs_path) else STRICT_CSP)
                headers.append((b"request-id", request_id.encode()))
                if client_request_id and _CLIENT_REQUEST_ID.match(client_request_id):
                    headers.append((b"client-request-id", client_request_id))
                message["headers"] = headers
            await send(message)

        deadline = started + self.body_timeout
        body_done = False

        async def receive_in_time() -> ReceiveMessage:
            # A client that trickles its body would otherwise hold the request open forever.
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout(max(deadline - time.perf_counter(), 0.0)):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"The request body did not arrive within {self.body_timeout:g} seconds."
                ) from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self.app(scope, receive_in_time, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            method: str = scope["method"]  # type: ignore[typeddict-item]
            log_access(
                method,
                path,  # never the query string: redeem links carry tickets there
                status,
                round(seconds * 1000, 2),
            )
            if self.metrics:
                # The template the router matched (set in `scope` by Litestar), never the path.
                metrics.record_request(method, scope.get("path_template"), status, seconds)
            request_id_var.reset(token)
