"""Mail transports. Errors are sorted into temporary (retry) and permanent (give up)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from guestgate.adapters.mail.render import Mail
from guestgate.errors import ConfigError, DeliveryError

DEFAULT_CONNECTIONS = 8


class Transport(Protocol):
    in_flight: int  # messages worth sending at once (the outbox worker's concurrency)

    async def send(self, message: Mail) -> None: ...
    async def purge(self, *, before: float) -> int: ...
    async def close(self) -> None: ...


class FolderTransport:
    """The embedded default: each message becomes an .eml file (no mail server needed).

    The files hold live redeem links and one-time codes: they and their folder are the
    owner's only (0600, 0700), whatever the umask, and the worker's retention pass removes
    them once they are older than the retention period.
    """

    in_flight = 4

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self._checked = False

    def _folder(self) -> None:
        if self._checked:
            return
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # also a folder an earlier version left readable
        self._checked = True

    async def send(self, message: Mail) -> None:
        self._folder()
        name = message.message_id.strip("<>").split("@")[0]
        path = self.directory / f"{name}.eml"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)  # a .tmp a crash left behind may be wider
            out.write(message.data)
        os.replace(tmp, path)  # a retry overwrites the same file: never two copies

    async def purge(self, *, before: float) -> int:
        """Remove messages last written before `before` (epoch seconds); how many."""
        removed = 0
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if not entry.name.endswith((".eml", ".tmp")) or not entry.is_file():
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < before:
                    os.unlink(entry.path)
                    removed += 1
        return removed

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool
    timeout: float = 30.0
    # Kept open and used at once. Each message takes several round trips, so under load
    # delivery is bound by how many are in flight: at 1,300 invites/s with mail, 4 delivered
    # ~660/s and 16 ~980/s on the development machine.
    connections: int = DEFAULT_CONNECTIONS
    ca_file: str | None = None
    # Sent in EHLO. Set explicitly: the library's default looks up this host's FQDN on every
    # connection, which stalls for seconds where DNS is slow or absent.
    local_hostname: str = "localhost"

    @classmethod
    def from_url(cls, url: str, *, ca_file: str | None = None) -> SmtpSettings:
        """``smtp://user:pass@host:587?starttls=true`` or ``smtps://user:pass@host:465``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(
                "GUESTGATE_SMTP_URL must look like smtp://user:pass@host:587?starttls=true"
            )
        query = parse_qs(parts.query)
        flag = query.get("starttls", ["false"])[0].lower()
        if flag not in ("true", "false", "1", "0"):
            raise ConfigError("GUESTGATE_SMTP_URL: starttls must be true or false")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ConfigError("GUESTGATE_SMTP_URL has an invalid port") from None
        try:
            timeout = float(query.get("timeout", ["30"])[0])
            connections = int(query.get("connections", [str(DEFAULT_CONNECTIONS)])[0])
        except ValueError:
            raise ConfigError(
                "GUESTGATE_SMTP_URL: timeout and connections must be numbers"
            ) from None
        if not 0 < timeout <= 600 or not 1 <= connections <= 32:
            raise ConfigError("GUESTGATE_SMTP_URL: timeout is 1-600 s, connections 1-32")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=parts.scheme == "smtps",
            starttls=flag in ("true", "1"),
            timeout=timeout,
            connections=connections,
            ca_file=ca_file,
        )


class SmtpTransport:
    """SMTP with STARTTLS or implicit TLS; never falls back to plain text when TLS is asked.

    Connections are kept open and reused message after message (a new connection per message
    costs a TCP and often a TLS handshake each); up to `connections` are used at once. A
    connection idle for a while is checked with NOOP before use; any error closes it, and the
    next message opens a new one.
    """

    IDLE_CHECK_SECONDS = 5.0

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.in_flight = settings.connections
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots = asyncio.Semaphore(settings.connections)
        self._open: set[aiosmtplib.SMTP] = set()

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file)

    async def _checkout(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, last_used = self._idle.pop()
            if not client.is_connected:
                self._discard(client)
                continue
            if time.monotonic() - last_used < self.IDLE_CHECK_SECONDS:
                return client
            try:
                await client.noop()
                return client
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                self._discard(client)
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.implicit_tls,
            start_tls=bool(s.starttls),
            tls_context=self._tls_context() if (s.implicit_tls or s.starttls) else None,
            timeout=s.timeout,
            local_hostname=s.local_hostname,
        )
        self._open.add(client)
        try:
            await client.connect()
            if s.username is not None and s.password is not None:
                await client.login(s.username, s.password)
        except BaseException:
            self._discard(client)
            raise
        return client

    def _discard(self, client: aiosmtplib.SMTP) -> None:
        self._open.discard(client)
        with contextlib.suppress(Exception):
            client.close()

    async def send(self, message: Mail) -> None:
        async with self._slots:
            client: aiosmtplib.SMTP | None = None
            try:
                client = await self._checkout()
                await client.sendmail(
                    message.sender,
                    message.recipients,
                    message.data,
                    mail_options=["SMTPUTF8"] if message.smtputf8 else None,
                )
            except aiosmtplib.SMTPResponseException as exc:
                await self._reset(client)
                # 5xx is the server's final answer about this message; 4xx may pass later.
                raise DeliveryError(f"SMTP {exc.code}", permanent=500 <= exc.code < 600) from None
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._reset(client)
                codes = sorted({r.code for r in exc.recipients})
                raise DeliveryError(
                    f"SMTP recipients refused {codes}",
                    permanent=all(500 <= c < 600 for c in codes),
                ) from None
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                if client is not None:
                    self._discard(client)
                raise DeliveryError(f"SMTP unavailable: {type(exc).__name__}") from None
            except BaseException:
                if client is not None:
                    self._discard(client)
                raise
            self._idle.append((client, time.monotonic()))

    async def purge(self, *, before: float) -> int:
        return 0  # the mail server keeps nothing here

    async def _reset(self, client: aiosmtplib.SMTP | None) -> None:
        """After a refused message the connection may be mid-transaction: RSET or drop it."""
        if client is None:
            return
        try:
            await client.rset()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            self._discard(client)
            return
        self._idle.append((client, time.monotonic()))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _ in idle:
            if client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()
        for client in list(self._open):
            self._discard(client)


def make_transport(smtp_url: str | None, mail_dir: str, *, ca_file: str | None = None) -> Transport:
    if smtp_url:
        return SmtpTransport(SmtpSettings.from_url(smtp_url, ca_file=ca_file))
    return FolderTransport(mail_dir)
