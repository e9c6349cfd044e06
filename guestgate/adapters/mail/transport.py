"""Mail transports. Errors are sorted into temporary (retry) and permanent (give up)."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from guestgate.errors import ConfigError


class DeliveryError(Exception):
    """A message was not delivered. `permanent` ones are not retried."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class FolderTransport:
    """The embedded default: each message becomes an .eml file (no mail server needed)."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    async def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").split("@")[0]
        path = self.directory / f"{name}.eml"
        data = message.as_bytes(policy=SMTP)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a retry overwrites the same file: never two copies


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool
    timeout: float = 30.0
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
        timeout = float(query.get("timeout", ["30"])[0])
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=parts.scheme == "smtps",
            starttls=flag in ("true", "1"),
            timeout=timeout,
            ca_file=ca_file,
        )


class SmtpTransport:
    """SMTP with STARTTLS or implicit TLS; never falls back to plain text when TLS is asked."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file)

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password,
                use_tls=s.implicit_tls,
                start_tls=bool(s.starttls),
                tls_context=self._tls_context() if (s.implicit_tls or s.starttls) else None,
                timeout=s.timeout,
                local_hostname=s.local_hostname,
            )
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx is the server's final answer about this message; 4xx may pass later.
            raise DeliveryError(f"SMTP {exc.code}", permanent=500 <= exc.code < 600) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({r.code for r in exc.recipients})
            raise DeliveryError(
                f"SMTP recipients refused {codes}", permanent=all(500 <= c < 600 for c in codes)
            ) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP unavailable: {type(exc).__name__}") from None


def make_transport(smtp_url: str | None, mail_dir: str, *, ca_file: str | None = None) -> Transport:
    if smtp_url:
        return SmtpTransport(SmtpSettings.from_url(smtp_url, ca_file=ca_file))
    return FolderTransport(mail_dir)
