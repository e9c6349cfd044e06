"""The webhook HTTP client (adapters/webhook_http.py) against real sockets: connections kept
alive and reused only after a complete answer, chunked and oversized bodies, interim
answers, a receiver that closed an idle connection, malformed answers, and https with the
certificate checked against the URL's name while the connection goes to its address."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from guestgate.adapters.webhooks import HttpWebhookSender
from guestgate.cli.serve import write_dev_cert

pytestmark = pytest.mark.anyio
Script = Callable[[int, bytes], bytes | None]  # (request number, request) -> raw answer


class RawServer:
    """Answers the n-th request with `script(n, request)`; None closes the connection."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script, self.tls = script, tls
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.script(len(self.requests), request)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


@pytest.fixture
async def sender() -> AsyncIterator[HttpWebhookSender]:
    made = HttpWebhookSender(allow_private=True, timeout=2)
    yield made
    await made.close()


def ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def test_a_kept_alive_connection_carries_the_next_delivery(
    sender: HttpWebhookSender,
) -> None:
    async with RawServer(lambda n, r: ok(b"fine %d" % n)) as server:
        url = f"http://127.0.0.1:{server.port}/hook?sig=s3cret"
        first = await sender.send(url, b'{"a":1}', {"webhook-id": "msg_1"})
        second = await sender.send(url, b'{"a":2}', {"webhook-id": "msg_2"})
    assert (first.status_code, first.excerpt) == (200, "fine 1")
    assert (second.status_code, second.excerpt) == (200, "fine 2")
    assert server.connections == 1
    head, body = server.requests[0].split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /hook?sig=s3cret HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:%d\r\n" % server.port in head
    assert b"\r\nwebhook-id: msg_1\r\n" in head
    assert body == b'{"a":1}'


async def test_chunked_interim_and_oversized_answers(sender: HttpWebhookSender) -> None:
    big = b"x" * 2000
    answers = {
        1: b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"after interim"),
        2: b"HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
        3: ok(big),  # more than the excerpt: read no further, and the connection is closed
        4: b"HTTP/1.1 204 No Content\r\nretry-after: 7\r\n\r\n",
    }
    async with RawServer(lambda n, r: answers[n]) as server:
        url = f"http://127.0.0.1:{server.port}/"
        got = [await sender.send(url, b"{}", {}) for _ in range(4)]
    assert [(g.status_code, g.excerpt) for g in got[:2]] == [
        (200, "after interim"),
        (202, "hello world"),
    ]
    assert got[2].excerpt == "x" * 500
    assert (got[3].status_code, got[3].excerpt, got[3].retry_after) == (204, None, 7.0)
    assert server.connections == 2  # a new one after the answer that was not read to its end


async def test_an_idle_connection_the_receiver_closed_is_replaced_once(
    sender: HttpWebhookSender,
) -> None:
    # The second request finds the kept connection closed without an answer; it is sent
    # again once, on a new connection.
    async with RawServer(lambda n, r: None if n == 2 else ok()) as server:
        url = f"http://127.0.0.1:{server.port}/"
        first = await sender.send(url, b"{}", {})
        second = await sender.send(url, b"{}", {})
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(server.requests) == 3
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"SMTP 220 hello\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: many\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
    ],
)
async def test_a_malformed_or_cut_answer_is_a_failed_attempt(
    sender: HttpWebhookSender, answer: bytes
) -> None:
    async with RawServer(lambda n, r: answer if n == 1 else None) as server:
        # The last one is cut short: the attempt fails when its time is up.
        got = await sender.send(f"http://127.0.0.1:{server.port}/", b"{}", {})
    assert got.status_code is None
    assert got.error is not None


async def test_https_checks_the_certificate_against_the_urls_name(tmp_path: Path) -> None:
    cert, key = write_dev_cert(tmp_path, ["localhost"])
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    trusting = HttpWebhookSender(allow_private=True, timeout=2, ca_file=str(cert))
    stranger = HttpWebhookSender(allow_private=True, timeout=2)  # the system's CAs only
    try:
        async with RawServer(lambda n, r: ok(b"tls"), tls=tls) as server:
            named = await trusting.send(f"https://localhost:{server.port}/", b"{}", {})
            by_address = await trusting.send(f"https://127.0.0.1:{server.port}/", b"{}", {})
            untrusted = await stranger.send(f"https://localhost:{server.port}/", b"{}", {})
    finally:
        await trusting.close()
        await stranger.close()
    assert (named.status_code, named.excerpt) == (200, "tls")
    assert b"\r\nhost: localhost:" in server.requests[0]
    assert by_address.status_code is None  # the certificate names localhost, not the address
    assert by_address.error is not None
    assert "certificate" in by_address.error.lower()
    assert untrusted.status_code is None
    assert untrusted.error is not None
