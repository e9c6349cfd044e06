"""What every process of a deployment must agree on, kept with the deployment.

`guestgate serve` records its effective shared settings in the database (the `deployment`
table) each time it starts. Every other command that uses the database reads them and takes
each shared setting it was not given explicitly, so `guestgate invite --send` run from any
shell makes the links the server makes. Precedence, highest first:

1. a flag of the command (``--public-url``),
2. the command's own environment (``GUESTGATE_PUBLIC_URL``…),
3. what `serve` recorded when it last started,
4. the built-in default.

Shared: the public URL (links, redirects, the token issuer), the mail sender and mail folder,
where the secret key lives (the file's path, never the key), a check value of the key, and
whether mail leaves over SMTP. Secrets are never recorded: the key itself, the SMTP URL (it
may carry a password) and the Graph client secret come from each process's environment.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guestgate.config import Settings, redact_url
from guestgate.config_env import read_key_file
from guestgate.errors import ConfigError

# The environment variables that point a command at the deployment's database.
HOW_TO_POINT = "--database-url or GUESTGATE_DATABASE_URL"


def describe_database(url: str) -> str:
    """The database URL for a message: password hidden, a relative SQLite path resolved."""
    shown = redact_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_absolute():
            shown += f" ({path.absolute()})"
    return shown


def key_check(key: bytes) -> str:
    """A check value of the secret key: an HMAC of a fixed label, which does not reveal it.

    A command holding another key than the server's would hash new client secrets that never
    verify and could not open the signing keys; this value lets it refuse to start instead.
    """
    return hmac.new(key, b"guestgate key check v1", hashlib.sha256).hexdigest()[:32]


def record(settings: Settings) -> dict[str, str]:
    """The shared settings of a starting `serve`, as rows of the `deployment` table."""
    values = {
        "public_url": settings.http.public_url,
        "mail_from": settings.mail.mail_from,
        # Absolute: a worker started in another directory writes to the same folder.
        "mail_dir": str(Path(settings.mail.mail_dir).absolute()),
        "mail_transport": "smtp" if settings.mail.smtp_url else "folder",
        "key_check": key_check(settings.secret_key),
    }
    if settings.secret_key_file:
        values["secret_key_file"] = str(Path(settings.secret_key_file).absolute())
    return values


@dataclass(frozen=True, slots=True)
class Applied:
    """A command's settings after the recorded ones were applied, and what to warn about."""

    settings: Settings
    warnings: list[str] = field(default_factory=list)


def apply(settings: Settings, recorded: Mapping[str, str]) -> Applied:
    """`settings` with each shared setting not given explicitly taken from `recorded`."""
    explicit = settings.explicit
    changes: dict[str, Any] = {}
    warnings: list[str] = []
    if public_url := recorded.get("public_url"):
        if "public_url" not in explicit:
            changes |= {"public_url": public_url, "public_url_derived": False}
        elif settings.http.public_url != public_url.rstrip("/"):
            warnings.append(
                f"the public URL {settings.http.public_url} (set for this command) differs from"
                f" the server's, {public_url}: links made now use {settings.http.public_url}"
            )
    for name in ("mail_from", "mail_dir"):
        if name not in explicit and (value := recorded.get(name)):
            changes[name] = value
    key, key_file = settings.secret_key, settings.secret_key_file
    if "secret_key" not in explicit and (recorded_file := recorded.get("secret_key_file")):
        key_file = recorded_file
        key = read_key_file(Path(recorded_file))
        changes |= {"secret_key": key, "secret_key_file": key_file}
    if not key:
        raise ConfigError(
            f"no secret key: {key_file} does not exist and the database records no key file"
            " of the server; set GUESTGATE_SECRET_KEY or GUESTGATE_SECRET_KEY_FILE as the"
            " server has it"
        )
    check = recorded.get("key_check")
    if check and not hmac.compare_digest(check, key_check(key)):
        source = "GUESTGATE_SECRET_KEY" if key_file is None else f"the key file {key_file}"
        raise ConfigError(
            f"the secret key from {source} is not the server's key; set GUESTGATE_SECRET_KEY"
            " or GUESTGATE_SECRET_KEY_FILE as the server has it"
        )
    return Applied(settings.with_overrides(**changes), warnings)


def check_mail_transport(settings: Settings, recorded: Mapping[str, str]) -> None:
    """A process that delivers mail must use SMTP when the server does (no silent folder)."""
    if recorded.get("mail_transport") == "smtp" and not settings.mail.smtp_url:
        raise ConfigError(
            "the server delivers mail over SMTP but GUESTGATE_SMTP_URL is not set here:"
            " set it as the server has it (the database never holds it: it may carry a"
            " password)"
        )
