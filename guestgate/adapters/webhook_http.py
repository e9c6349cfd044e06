"""A small HTTP/1.1 client for webhook deliveries: one POST at a time per connection, kept
alive and pooled per (scheme, host name, address, port).

A delivery needs little of HTTP: send one request with a known body, read the status, a
few headers and at most `limit` bytes of the answer. A general client costs several times
more CPU per request than that (its pool polls every idle connection on every request),
which capped one worker far below a thousand deliveries a second. This one reads the answer
strictly and bounded: the status line and headers within `MAX_HEAD` bytes, a body by its
Content-Length or chunks, never more than `limit` bytes of it. A connection is reused only
when its answer was read to the end and neither side asked to close; a reused connection
that turns out closed by the receiver is replaced once, before any answer was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import OrderedDict
from dataclasses import dataclass

from guestgate.errors import ProtocolError

MAX_HEAD = 64 * 1024  # status line and headers of an answer
MAX_IDLE = 16  # kept-alive connections per key
MAX_KEYS = 256  # keys with idle connections at once

Key = tuple[str, str, str, int]  # scheme, host name, address, port


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes  # at most the limit asked for


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def usable(self) -> bool:
        return not (self.writer.is_closing() or self.reader.at_eof())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class Pool:
    """Kept-alive connections; `post` sends one request on one of them (or a new one)."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self.tls = tls
        self._idle: OrderedDict[Key, list[_Connection]] = OrderedDict()

    async def post(
        self, key: Key, target: str, headers: list[tuple[str, str]], body: bytes, limit: int
    ) -> Answer:
        request = _request(target, headers, body)
        connection = self._take(key)
        if connection is not None:
            try:
                return await self._exchange(key, connection, request, limit)
            except _Stale:
                pass  # closed by the receiver while idle: once more on a new connection
        connection = await self._open(key)
        try:
            return await self._exchange(key, connection, request, limit)
        except _Stale as exc:
            raise ConnectionResetError("the receiver closed the connection") from exc

    async def close(self) -> None:
        idle, self._idle = self._idle, OrderedDict()
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _take(self, key: Key) -> _Connection | None:
        connections = self._idle.get(key)
        while connections:
            connection = connections.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _give_back(self, key: Key, connection: _Connection) -> None:
        connections = self._idle.setdefault(key, [])
        self._idle.move_to_end(key)
        if len(connections) >= MAX_IDLE:
            connection.close()
            return
        connections.append(connection)
        while len(self._idle) > MAX_KEYS:
            _, dropped = self._idle.popitem(last=False)
            for old in dropped:
                old.close()

    async def _open(self, key: Key) -> _Connection:
        scheme, host, address, port = key
        secure = scheme == "https"
        reader, writer = await asyncio.open_connection(
            address,
            port,
            ssl=self.tls if secure else None,
            server_hostname=host if secure else None,  # SNI and the certificate's name
            limit=MAX_HEAD,
        )
        return _Connection(reader, writer)

    async def _exchange(
        self, key: Key, connection: _Connection, request: bytes, limit: int
    ) -> Answer:
        started = False  # whether any byte of an answer arrived
        try:
            connection.writer.write(request)
            await connection.writer.drain()
            try:
                first = await connection.reader.readuntil(b"\r\n")
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    raise _Stale from exc
                raise
            started = True
            answer, reusable = await _read_answer(connection.reader, first, limit)
        except _Stale:
            connection.close()
            raise
        except ConnectionResetError as exc:
            connection.close()
            if not started:
                raise _Stale from exc
            raise
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._give_back(key, connection)
        else:
            connection.close()
        return answer


class _Stale(Exception):
    """The connection was closed before any answer came: nothing was read."""


def _request(target: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"POST {target} HTTP/1.1"]
    for name, value in headers:
        if any(c in name or c in value for c in "\r\n\0"):
            raise ValueError(f"header {name[:40]!r} holds a line break")
        lines.append(f"{name}: {value}")
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_answer(
    reader: asyncio.StreamReader, first: bytes, limit: int
) -> tuple[Answer, bool]:
    """The answer whose status line is `first`; True when the connection may be reused."""
    while True:
        version, status = _status_line(first)
        headers = await _headers(reader)
        if 100 <= status < 200 and status != 101:  # interim answers come before the real one
            first = await reader.readuntil(b"\r\n")
            continue
        break
    keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    if status in (204, 304) or status < 200:
        return Answer(status, headers, b""), keep and status != 101
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, complete = await _chunks(reader, limit)
    elif "content-length" in headers:
        value = headers["content-length"]
        if not (value.isascii() and value.isdigit()):
            raise ProtocolError("Content-Length is not a number")
        size = int(value)
        body = await reader.readexactly(min(size, limit))
        complete = size <= limit
    else:  # the body ends when the receiver closes the connection
        body, complete = await reader.read(limit), False
    return Answer(status, headers, body), keep and complete


def _status_line(line: bytes) -> tuple[str, int]:
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if (
        len(parts) < 2
        or parts[0] not in ("HTTP/1.1", "HTTP/1.0")
        or not (parts[1].isascii() and parts[1].isdigit() and len(parts[1]) == 3)
    ):
        raise ProtocolError("the answer does not start with an HTTP/1.x status line")
    return parts[0], int(parts[1])


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    found: dict[str, str] = {}
    read = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        read += len(line)
        if read > MAX_HEAD:
            raise ProtocolError("the answer's headers are too long")
        if line == b"\r\n":
            return found
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError("a header line is malformed")
        name, value = name.lower(), value.strip()
        found[name] = f"{found[name]}, {value}" if name in found else value


async def _chunks(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    """A chunked body, up to `limit` bytes; True when it was read to its end."""
    body = bytearray()
    while True:
        size_line = (await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolError("a chunk size is malformed") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, if any
                pass
            return bytes(body), True
        if len(body) + size > limit:
            body += await reader.readexactly(limit - len(body))
            return bytes(body), False
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise ProtocolError("a chunk does not end with CRLF")
