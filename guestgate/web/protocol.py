"""The HTTP/1.1 protocol of `serve`: uvicorn's httptools protocol with header limits.

uvicorn times out idle keep-alive connections, but a client that opens a connection and sends
its request line and headers a byte at a time (slowloris) is never cut off, and the header
block may grow without bound. Here every request must have sent all its headers within
`header_timeout` seconds of its first byte (or of the connection opening), or the connection
is closed; a target over 8 KiB is answered 414 and a header block over 16 KiB 431.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from guestgate.errors import HeadersTooLarge

MAX_TARGET_BYTES = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    # Set per worker process from Settings by `serving_app`, before the first connection.
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._refusal: int | None = None

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        if len(self.url) + len(url) > MAX_TARGET_BYTES:
            self._refusal = 414
            raise HeadersTooLarge
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refusal = 431
            raise HeadersTooLarge
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)
            return
        reason = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}[self._refusal]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            % (self._refusal, reason)
        )
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        self._arm_header_deadline()
        self._header_bytes = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
