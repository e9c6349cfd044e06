"""Settings: the one place that reads the environment.

Every process builds one `Settings` at start. CLI flags override environment variables; an
invalid value stops the process with a one-line reason (`ConfigError`).
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from guestgate.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DIRECTORY_MODES = ("local", "graph")
DEFAULT_DATABASE_URL = "sqlite:///./var/guestgate.db"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8365"
DEFAULT_SECRET_KEY_FILE = "./var/secret.key"  # noqa: S105 (a path, not a secret)


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed configuration, grouped by concern through field name prefixes."""

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = DEFAULT_PUBLIC_URL
    host: str = "127.0.0.1"
    port: int = 8365
    log_level: str = "INFO"
    directory: str = "local"
    # 32+ bytes that key the client-secret hashes and encrypt signing keys at rest.
    secret_key: bytes = field(default=b"", repr=False)
    token_lifetime_seconds: int = 3600
    token_leeway_seconds: int = 300
    # Failed client authentications allowed per client id and address per minute (per process).
    token_failures_per_minute: int = 10
    # Invalid redeem links and wrong codes allowed per address per 10 minutes (per process).
    page_failures_per_10_minutes: int = 30
    max_body_bytes: int = 64 * 1024
    # Slow clients: headers and body must arrive within these many seconds.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 20.0
    # Mail: SMTP when a URL is set, else one .eml file per message in mail_dir.
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "guestgate@localhost.localdomain"
    mail_dir: str = "./var/mail"
    smtp_ca_file: str | None = None
    inprocess_worker: bool = True
    outbox_retry_base_seconds: float = 5.0
    # How long a worker holds messages it is sending; a crashed worker's return after this.
    outbox_lease_seconds: float = 60.0
    # Graph mode (GUESTGATE_DIRECTORY=graph)
    graph_url: str = "https://graph.microsoft.com"
    graph_client_id: str | None = None
    graph_client_secret: str | None = field(default=None, repr=False)
    graph_tenant: str | None = None
    entra_url: str = "https://login.microsoftonline.com"
    graph_ca_file: str | None = None
    graph_timeout_seconds: float = 30.0
    graph_invites_per_window: int = 150  # Graph's limit: 150 invitations per 5 s per tenant

    def __post_init__(self) -> None:
        _check_database_url(self.database_url)
        object.__setattr__(self, "public_url", _normalise_public_url(self.public_url))
        if not 0 < self.port < 65536:
            raise ConfigError(f"GUESTGATE_PORT must be 1-65535, got {self.port}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"GUESTGATE_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)},"
                f" got {self.log_level!r}"
            )
        if self.directory not in DIRECTORY_MODES:
            raise ConfigError(f"GUESTGATE_DIRECTORY must be local or graph, got {self.directory!r}")
        if self.secret_key and len(self.secret_key) < 32:
            raise ConfigError("GUESTGATE_SECRET_KEY must decode to at least 32 bytes")
        if self.smtp_url is not None:
            from guestgate.adapters.mail.transport import SmtpSettings

            SmtpSettings.from_url(self.smtp_url)
        if "@" not in self.mail_from or any(c in self.mail_from for c in " <>\r\n"):
            raise ConfigError(
                f"GUESTGATE_MAIL_FROM must be a plain address, got {self.mail_from!r}"
            )
        for name, url in (
            ("GUESTGATE_GRAPH_URL", self.graph_url),
            ("GUESTGATE_ENTRA_URL", self.entra_url),
        ):
            parts = urlsplit(url)
            local = parts.hostname in ("127.0.0.1", "localhost", "::1")
            if not parts.hostname or not (
                parts.scheme == "https" or (parts.scheme == "http" and local)
            ):
                raise ConfigError(
                    f"{name} must be an https URL (http only for localhost), got {url!r}"
                )
        app_credential = (self.graph_client_id, self.graph_client_secret, self.graph_tenant)
        if self.graph_tenant is not None and not _is_guid(self.graph_tenant):
            raise ConfigError("GUESTGATE_GRAPH_TENANT must be the tenant id (a GUID)")
        if any(app_credential) and not all(app_credential):
            raise ConfigError(
                "GUESTGATE_GRAPH_CLIENT_ID, GUESTGATE_GRAPH_CLIENT_SECRET and"
                " GUESTGATE_GRAPH_TENANT go together"
            )
        if not 5 <= self.outbox_lease_seconds <= 3600:
            raise ConfigError("GUESTGATE_OUTBOX_LEASE must be 5-3600 seconds")
        for name, value in (
            ("GUESTGATE_HEADER_TIMEOUT", self.header_timeout_seconds),
            ("GUESTGATE_BODY_TIMEOUT", self.body_timeout_seconds),
        ):
            if not 1 <= value <= 600:
                raise ConfigError(f"{name} must be 1-600 seconds, got {value}")
        if not 1 <= self.token_failures_per_minute <= 10_000:
            raise ConfigError("GUESTGATE_TOKEN_FAILURES_PER_MINUTE must be 1-10000")
        if not 1 <= self.page_failures_per_10_minutes <= 100_000:
            raise ConfigError("GUESTGATE_PAGE_FAILURES_PER_10_MINUTES must be 1-100000")
        if not 60 <= self.token_lifetime_seconds <= 86400:
            raise ConfigError("token lifetime must be between 60 and 86400 seconds")

    @property
    def graph_mode(self) -> bool:
        return self.directory == "graph"

    @property
    def graph_app_credentials(self) -> bool:
        return self.graph_client_id is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> str:
        """File path of the SQLite database (``:memory:`` is not supported: workers share it)."""
        return self.database_url.removeprefix("sqlite:///")

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def _check_database_url(url: str) -> None:
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        if url.endswith(":memory:"):
            raise ConfigError(
                "GUESTGATE_DATABASE_URL: in-memory SQLite cannot be shared by workers"
            )
        return
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        if not parts.path.strip("/"):
            raise ConfigError(
                "GUESTGATE_DATABASE_URL: name the database, e.g. postgresql://host/db"
            )
        return
    raise ConfigError(
        f"GUESTGATE_DATABASE_URL must be sqlite:///PATH or postgresql://…, got {_redact_url(url)!r}"
    )


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _normalise_public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"GUESTGATE_PUBLIC_URL must be an http(s) URL, got {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("GUESTGATE_PUBLIC_URL must not carry a query, fragment or credentials")
    return url.rstrip("/")


def _is_guid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def load_secret_key(env: Mapping[str, str]) -> bytes:
    """Return the server key from GUESTGATE_SECRET_KEY or its key file, creating the file once.

    The key file is created with mode 0600 next to the embedded database so a fresh install
    works with no setup; deployments with several hosts set GUESTGATE_SECRET_KEY everywhere.
    """
    raw = env.get("GUESTGATE_SECRET_KEY")
    if raw:
        try:
            key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            raise ConfigError("GUESTGATE_SECRET_KEY must be base64url") from None
        if len(key) < 32:
            raise ConfigError("GUESTGATE_SECRET_KEY must decode to at least 32 bytes")
        return key
    path = Path(env.get("GUESTGATE_SECRET_KEY_FILE", DEFAULT_SECRET_KEY_FILE))
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        text = path.read_text().strip()
    except FileExistsError:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read or create the secret key file {path}: {exc.strerror}"
        ) from None
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise ConfigError(f"the secret key file {path} is not base64url") from None
    if len(key) < 32:
        raise ConfigError(f"the secret key file {path} holds fewer than 32 bytes")
    return key


def from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from the environment; keyword overrides (CLI flags) win when not None."""
    env = os.environ if env is None else env
    settings = Settings(
        database_url=env.get("GUESTGATE_DATABASE_URL") or DEFAULT_DATABASE_URL,
        public_url=env.get("GUESTGATE_PUBLIC_URL") or DEFAULT_PUBLIC_URL,
        host=env.get("GUESTGATE_HOST") or "127.0.0.1",
        port=_int(env, "GUESTGATE_PORT", 8365),
        log_level=(env.get("GUESTGATE_LOG_LEVEL") or "INFO").upper(),
        directory=env.get("GUESTGATE_DIRECTORY") or "local",
        secret_key=load_secret_key(env),
        smtp_url=env.get("GUESTGATE_SMTP_URL") or None,
        mail_from=env.get("GUESTGATE_MAIL_FROM") or "guestgate@localhost.localdomain",
        mail_dir=env.get("GUESTGATE_MAIL_DIR") or "./var/mail",
        smtp_ca_file=env.get("GUESTGATE_SMTP_CA_FILE") or None,
        inprocess_worker=_flag(env, "GUESTGATE_INPROCESS_WORKER", True),
        outbox_retry_base_seconds=float(_int(env, "GUESTGATE_OUTBOX_RETRY_BASE", 5)),
        outbox_lease_seconds=float(_int(env, "GUESTGATE_OUTBOX_LEASE", 60)),
        graph_url=(env.get("GUESTGATE_GRAPH_URL") or "https://graph.microsoft.com").rstrip("/"),
        graph_client_id=env.get("GUESTGATE_GRAPH_CLIENT_ID") or None,
        graph_client_secret=env.get("GUESTGATE_GRAPH_CLIENT_SECRET") or None,
        graph_tenant=env.get("GUESTGATE_GRAPH_TENANT") or None,
        entra_url=(env.get("GUESTGATE_ENTRA_URL") or "https://login.microsoftonline.com").rstrip(
            "/"
        ),
        graph_ca_file=env.get("GUESTGATE_GRAPH_CA_FILE") or None,
        graph_timeout_seconds=float(_int(env, "GUESTGATE_GRAPH_TIMEOUT", 30)),
        graph_invites_per_window=_int(env, "GUESTGATE_GRAPH_INVITES_PER_5S", 150),
        token_failures_per_minute=_int(env, "GUESTGATE_TOKEN_FAILURES_PER_MINUTE", 10),
        page_failures_per_10_minutes=_int(env, "GUESTGATE_PAGE_FAILURES_PER_10_MINUTES", 30),
        header_timeout_seconds=float(_int(env, "GUESTGATE_HEADER_TIMEOUT", 10)),
        body_timeout_seconds=float(_int(env, "GUESTGATE_BODY_TIMEOUT", 20)),
    )
    return settings.with_overrides(**overrides) if overrides else settings
