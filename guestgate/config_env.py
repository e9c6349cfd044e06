"""Settings from the environment: the one module that reads it.

`from_env` reads every GUESTGATE_* variable, applies the CLI flags over them and notes which
of the settings a deployment shares (`SHARED_VARIABLES`) were given explicitly, so a command
knows which ones to take from what the deployment recorded (`deployment.py`).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guestgate.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_ENTRA_URL,
    DEFAULT_GRAPH_URL,
    DEFAULT_MAIL_FROM,
    DEFAULT_PUBLIC_URL,
    DEFAULT_SECRET_KEY_FILE,
    LOOPBACK_OF,
    ConsoleSettings,
    DatabaseSettings,
    GraphSettings,
    HttpSettings,
    LimitSettings,
    MailSettings,
    MetricsSettings,
    Settings,
    TokenSettings,
    WebhookSettings,
)
from guestgate.errors import ConfigError

# The settings every process of a deployment must agree on, and the variables that set each
# one explicitly (a flag of the same name counts too: --public-url).
SHARED_VARIABLES: dict[str, tuple[str, ...]] = {
    "public_url": ("GUESTGATE_PUBLIC_URL",),
    "mail_from": ("GUESTGATE_MAIL_FROM",),
    "mail_dir": ("GUESTGATE_MAIL_DIR",),
    "secret_key": ("GUESTGATE_SECRET_KEY", "GUESTGATE_SECRET_KEY_FILE"),
}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    if not (raw := env.get(name)):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    if not (raw := env.get(name)):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def load_secret_key(env: Mapping[str, str], *, create: bool = True) -> tuple[bytes, str | None]:
    """The server key from GUESTGATE_SECRET_KEY or its key file, and the file it came from.

    With `create`, a missing key file is created once (mode 0600) next to the embedded
    database so a fresh install works with no setup; deployments with several hosts set
    GUESTGATE_SECRET_KEY everywhere. Without it (every command but `serve` and `db upgrade`)
    a missing file gives an empty key: the command then looks for the deployment's own.
    """
    raw = env.get("GUESTGATE_SECRET_KEY")
    if raw:
        try:
            key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            raise ConfigError("GUESTGATE_SECRET_KEY must be base64url") from None
        if len(key) < 32:
            raise ConfigError("GUESTGATE_SECRET_KEY must decode to at least 32 bytes")
        return key, None
    path = Path(env.get("GUESTGATE_SECRET_KEY_FILE") or DEFAULT_SECRET_KEY_FILE).absolute()
    if not path.exists() and not create:
        return b"", str(path)
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    except FileExistsError:
        pass  # another process created it first: read theirs
    except OSError as exc:
        raise ConfigError(f"cannot create the secret key file {path}: {exc.strerror}") from None
    return read_key_file(path), str(path)


def read_key_file(path: Path) -> bytes:
    """The key a key file holds (base64url, at least 32 bytes)."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the secret key file {path}: {exc.strerror}") from None
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise ConfigError(f"the secret key file {path} is not base64url") from None
    if len(key) < 32:
        raise ConfigError(f"the secret key file {path} holds fewer than 32 bytes")
    return key


def from_env(
    env: Mapping[str, str] | None = None, *, create_secret_key: bool = True, **overrides: Any
) -> Settings:
    """Build Settings from the environment; keyword overrides (CLI flags) win when not None.

    Overrides take the names `Settings.with_overrides` takes (``public_url``, ``port``…).
    Unless one is set, the public URL is the listen address (``host`` and ``port`` applied).
    `create_secret_key`: see `load_secret_key`.
    """
    env = os.environ if env is None else env
    # Every value is read before any is checked: a malformed number is reported first.
    port = _int(env, "GUESTGATE_PORT", 8365)
    log_level = (env.get("GUESTGATE_LOG_LEVEL") or "INFO").upper()
    directory = env.get("GUESTGATE_DIRECTORY") or "local"
    secret_key, secret_key_file = load_secret_key(env, create=create_secret_key)
    inprocess_worker = _flag(env, "GUESTGATE_INPROCESS_WORKER", True)
    retry_base = float(_int(env, "GUESTGATE_OUTBOX_RETRY_BASE", 5))
    lease = float(_int(env, "GUESTGATE_OUTBOX_LEASE", 60))
    retention_days = _int(env, "GUESTGATE_RETENTION_DAYS", 30)
    graph_timeout = float(_int(env, "GUESTGATE_GRAPH_TIMEOUT", 30))
    invites_per_window = _int(env, "GUESTGATE_GRAPH_INVITES_PER_5S", 150)
    pacing_margin = _int(env, "GUESTGATE_GRAPH_PACING_MARGIN_MS", 40)
    token_failures = _int(env, "GUESTGATE_TOKEN_FAILURES_PER_MINUTE", 10)
    session_lifetime = _int(env, "GUESTGATE_SESSION_LIFETIME", 86400)
    key_refresh = _int(env, "GUESTGATE_KEY_REFRESH_SECONDS", 30)
    page_failures = _int(env, "GUESTGATE_PAGE_FAILURES_PER_10_MINUTES", 30)
    local_graph_invites = (
        _int(env, "GUESTGATE_LOCAL_GRAPH_INVITES_PER_5S", 0)
        if env.get("GUESTGATE_LOCAL_GRAPH_INVITES_PER_5S")
        else None
    )
    header_timeout = float(_int(env, "GUESTGATE_HEADER_TIMEOUT", 10))
    body_timeout = float(_int(env, "GUESTGATE_BODY_TIMEOUT", 20))
    webhooks = WebhookSettings(
        allow_private_targets=_flag(env, "GUESTGATE_WEBHOOK_ALLOW_PRIVATE", False),
        timeout_seconds=float(_int(env, "GUESTGATE_WEBHOOK_TIMEOUT", 15)),
        retry_scale=_float(env, "GUESTGATE_WEBHOOK_RETRY_SCALE", 1.0),
        ca_file=env.get("GUESTGATE_WEBHOOK_CA_FILE") or None,
        event_retention_days=_int(env, "GUESTGATE_EVENT_RETENTION_DAYS", 90),
    )
    settings = Settings(
        database=DatabaseSettings(url=env.get("GUESTGATE_DATABASE_URL") or DEFAULT_DATABASE_URL),
        http=HttpSettings(
            host=env.get("GUESTGATE_HOST") or "127.0.0.1",
            port=port,
            public_url=env.get("GUESTGATE_PUBLIC_URL") or DEFAULT_PUBLIC_URL,
            header_timeout_seconds=header_timeout,
            body_timeout_seconds=body_timeout,
        ),
        mail=MailSettings(
            smtp_url=env.get("GUESTGATE_SMTP_URL") or None,
            mail_from=env.get("GUESTGATE_MAIL_FROM") or DEFAULT_MAIL_FROM,
            mail_dir=env.get("GUESTGATE_MAIL_DIR") or "./var/mail",
            smtp_ca_file=env.get("GUESTGATE_SMTP_CA_FILE") or None,
            inprocess_worker=inprocess_worker,
            outbox_retry_base_seconds=retry_base,
            outbox_lease_seconds=lease,
            retention_days=retention_days,
            deleted_user_days=_int(env, "GUESTGATE_DELETED_USER_DAYS", 30),
        ),
        graph=GraphSettings(
            url=(env.get("GUESTGATE_GRAPH_URL") or DEFAULT_GRAPH_URL).rstrip("/"),
            client_id=env.get("GUESTGATE_GRAPH_CLIENT_ID") or None,
            client_secret=env.get("GUESTGATE_GRAPH_CLIENT_SECRET") or None,
            tenant=env.get("GUESTGATE_GRAPH_TENANT") or None,
            entra_url=(env.get("GUESTGATE_ENTRA_URL") or DEFAULT_ENTRA_URL).rstrip("/"),
            ca_file=env.get("GUESTGATE_GRAPH_CA_FILE") or None,
            timeout_seconds=graph_timeout,
            invites_per_window=invites_per_window,
            pacing_margin_ms=pacing_margin,
        ),
        console=ConsoleSettings(
            authority=(env.get("GUESTGATE_CONSOLE_AUTHORITY") or "").rstrip("/") or None,
            client_id=env.get("GUESTGATE_CONSOLE_CLIENT_ID") or None,
            client_secret=env.get("GUESTGATE_CONSOLE_CLIENT_SECRET") or None,
        ),
        tokens=TokenSettings(session_seconds=session_lifetime, key_refresh_seconds=key_refresh),
        limits=LimitSettings(
            token_failures_per_minute=token_failures,
            page_failures_per_10_minutes=page_failures,
            graph_invites_per_5s=local_graph_invites,
        ),
        webhooks=webhooks,
        metrics=MetricsSettings(token=env.get("GUESTGATE_METRICS_TOKEN") or None),
        directory=directory,
        log_level=log_level,
        secret_key=secret_key,
        secret_key_file=secret_key_file,
        explicit=frozenset(
            name
            for name, variables in SHARED_VARIABLES.items()
            if any(env.get(v) for v in variables) or overrides.get(name) is not None
        ),
    )
    settings = settings.with_overrides(**overrides)
    if "public_url" in settings.explicit:
        return settings
    host = LOOPBACK_OF.get(settings.http.host, settings.http.host)
    derived = f"http://{f'[{host}]' if ':' in host else host}:{settings.http.port}"
    return settings.with_overrides(public_url=derived, public_url_derived=True)
