"""Webhook delivery over HTTP(S), with the SSRF guard applied at the moment of sending.

Before every delivery the host is resolved and every address it resolves to is checked
(domain/webhooks.py `address_allowed`); the request then goes to the checked address
itself, with the name kept for ``Host`` and TLS (SNI and certificate check), so a name that
resolves differently a moment later (DNS rebinding) cannot redirect it. Redirects are
never followed, the whole exchange is bounded by one timeout, and at most
`EXCERPT_BYTES` of the answer are read. Connections (adapters/webhook_http.py) are pooled
per host name and address, so a connection opened for one name is never reused for another
name on the same address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from guestgate import __version__
from guestgate.adapters.webhook_http import Pool
from guestgate.domain import webhooks as rules
from guestgate.domain.webhooks import Response
from guestgate.errors import ProtocolError, ValidationError
from guestgate.services.webhooks import Resolver

RESOLVE_SECONDS = 5.0


class SystemResolver:
    """The operating system's resolver (getaddrinfo), bounded in time."""

    async def addresses(self, host: str, port: int) -> list[str]:
        with contextlib.suppress(ValueError):
            return [str(ipaddress.ip_address(host))]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError, UnicodeError):  # UnicodeError: not a valid IDNA name
            return []
        found: list[str] = []
        for info in infos:
            address = str(info[4][0])
            if address not in found:
                found.append(address)
        return found


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds, from delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "¹" or "١", which int() refuses
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class HttpWebhookSender:
    """Posts deliveries; answers every outcome as a `Response`, never raising for one."""

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float,
        resolver: Resolver | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.resolver: Resolver = resolver or SystemResolver()
        # The name is checked against the certificate; the connection goes to the address.
        self._pool = Pool(ssl.create_default_context(cafile=ca_file))

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        return await self._send(url, body, headers, self.timeout)

    async def validate(self, url: str, token: str) -> bool:
        """Graph's handshake: POST ?validationToken=…, answered 200 text/plain with the token
        itself, within 10 seconds."""
        joined = f"{url}{'&' if '?' in url else '?'}{urlencode({'validationToken': token})}"
        response = await self._send(
            joined, b"", {"content-type": "text/plain; charset=utf-8"}, min(self.timeout, 10.0)
        )
        return (
            response.status_code == 200
            and (response.content_type or "").split(";")[0].strip().lower() == "text/plain"
            and response.excerpt == token
        )

    async def _send(self, url: str, body: bytes, headers: dict[str, str], limit: float) -> Response:
        started = time.monotonic()

        def answer(
            status: int | None = None, *, error: str | None = None, **more: object
        ) -> Response:
            latency = int((time.monotonic() - started) * 1000)
            return Response(status, latency, error=error, **more)  # type: ignore[arg-type]

        try:
            target = rules.check_url(url, allow_private=self.allow_private)
        except ValidationError as exc:
            return answer(error=exc.message)
        addresses = await self.resolver.addresses(target.host, target.port)
        if not addresses:
            return answer(error=f"the host {target.host[:100]} does not resolve")
        if not all(rules.address_allowed(a, allow_private=self.allow_private) for a in addresses):
            return answer(error="target not allowed: " + rules.refused(target.host)[:150])
        address = addresses[0]
        default_port = 443 if target.scheme == "https" else 80
        host = f"[{target.host}]" if ":" in target.host else target.host
        send_headers = [
            ("host", host if target.port == default_port else f"{host}:{target.port}"),
            ("user-agent", f"guestgate-webhooks/{__version__}"),
            *headers.items(),
        ]
        key = (target.scheme, target.host, address, target.port)
        try:
            async with asyncio.timeout(limit):
                got = await self._pool.post(
                    key, target.path, send_headers, body, rules.EXCERPT_BYTES
                )
        except TimeoutError:
            return answer(error=f"no answer within {limit:g} s")
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError, ProtocolError) as exc:
            # (IncompleteReadError is an EOFError, SSLError an OSError.) The URL's
            # query may hold the receiver's own secret: never repeat it.
            text = str(exc).replace(target.path, rules.without_query(target.path))
            return answer(error=f"{type(exc).__name__}: {text[:120]}")
        status = got.status
        error = None
        if 300 <= status < 400:
            error = f"HTTP {status}: redirects are not followed"
        return answer(
            status,
            error=error,
            retry_after=retry_after(got.headers.get("retry-after")),
            excerpt=got.body[: rules.EXCERPT_BYTES].decode("utf-8", "replace") or None,
            content_type=got.headers.get("content-type"),
        )

    async def close(self) -> None:
        await self._pool.close()
