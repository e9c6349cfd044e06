"""Settings: one typed object per process, grouped by concern.

Every process builds one `Settings` at start (`config_env.from_env`, the only reader of the
environment); each group checks its own values. CLI flags override environment variables; an
invalid value stops the process with a one-line reason (`ConfigError`). `serve` hands the
same object to each worker process. What every process of a deployment must agree on is
kept with the deployment (`deployment.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from guestgate.domain.tenants import is_guid
from guestgate.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DIRECTORY_MODES = ("local", "graph")
DEFAULT_DATABASE_URL = "sqlite:///./var/guestgate.db"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8365"
DEFAULT_SECRET_KEY_FILE = "./var/secret.key"  # noqa: S105 (a path, not a secret)
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
DEFAULT_ENTRA_URL = "https://login.microsoftonline.com"
DEFAULT_MAIL_FROM = "guestgate@localhost.localdomain"
LOOPBACK_OF = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 (reaching what listens everywhere)


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Where the service listens, the URL it is reached at, and limits on every request."""

    host: str = "127.0.0.1"
    port: int = 8365
    # The token issuer and the base of every link we hand out (redeem links, paging).
    public_url: str = DEFAULT_PUBLIC_URL
    public_url_derived: bool = False  # none was set: it is the listen address
    max_body_bytes: int = 64 * 1024
    # Slow clients: headers and body must arrive within these many seconds.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 20.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_url", _normalise_public_url(self.public_url))
        if not 0 < self.port < 65536:
            raise ConfigError(f"GUESTGATE_PORT must be 1-65535, got {self.port}")
        for name, value in (
            ("GUESTGATE_HEADER_TIMEOUT", self.header_timeout_seconds),
            ("GUESTGATE_BODY_TIMEOUT", self.body_timeout_seconds),
        ):
            if not 1 <= value <= 600:
                raise ConfigError(f"{name} must be 1-600 seconds, got {value}")

    @property
    def https(self) -> bool:
        """Reached over https: HSTS is sent and cookies are Secure and __Host- prefixed."""
        return self.public_url.startswith("https://")


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """SQLite (embedded, one file) or PostgreSQL (for several processes or hosts)."""

    url: str = DEFAULT_DATABASE_URL

    def __post_init__(self) -> None:
        _check_database_url(self.url)


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """Access tokens we issue (local mode) and the clock skew we allow on tokens we check."""

    lifetime_seconds: int = 3600
    leeway_seconds: int = 300
    # A browser's sign-in session: until it ends, apps sign the user in without a new code.
    session_seconds: int = 86400
    # How soon every process sees a key rotation done elsewhere (`guestgate keys rotate`).
    key_refresh_seconds: int = 30

    def __post_init__(self) -> None:
        if not 60 <= self.lifetime_seconds <= 86400:
            raise ConfigError("token lifetime must be between 60 and 86400 seconds")
        if not 300 <= self.session_seconds <= 30 * 86400:
            raise ConfigError("GUESTGATE_SESSION_LIFETIME must be 300-2592000 seconds")
        if not 1 <= self.key_refresh_seconds <= 3600:
            raise ConfigError("GUESTGATE_KEY_REFRESH_SECONDS must be 1-3600 seconds")


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """Guessing limits, counted in the database: they hold for the whole deployment."""

    # Failed client authentications allowed per client id and address per minute.
    token_failures_per_minute: int = 10
    # Invalid redeem links and wrong codes allowed per address per 10 minutes.
    page_failures_per_10_minutes: int = 30
    # Local mode standing in for Microsoft Graph (tests, the bench): POST /v1.0/invitations
    # answers 429 past this many per tenant in 5 seconds, as Graph does (None: no limit).
    graph_invites_per_5s: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.token_failures_per_minute <= 10_000:
            raise ConfigError("GUESTGATE_TOKEN_FAILURES_PER_MINUTE must be 1-10000")
        if not 1 <= self.page_failures_per_10_minutes <= 100_000:
            raise ConfigError("GUESTGATE_PAGE_FAILURES_PER_10_MINUTES must be 1-100000")
        if self.graph_invites_per_5s is not None and not 1 <= self.graph_invites_per_5s <= 100_000:
            raise ConfigError("GUESTGATE_LOCAL_GRAPH_INVITES_PER_5S must be 1-100000")


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Mail: SMTP when a URL is set, else one .eml file per message in `mail_dir`."""

    smtp_url: str | None = field(default=None, repr=False)  # may carry a password
    mail_from: str = DEFAULT_MAIL_FROM
    mail_dir: str = "./var/mail"
    smtp_ca_file: str | None = None
    # Deliver the outbox inside each `serve` process; off when `guestgate worker` does it.
    inprocess_worker: bool = True
    outbox_retry_base_seconds: float = 5.0
    # How long a worker holds messages it is sending; a crashed worker's return after this.
    outbox_lease_seconds: float = 60.0
    # Sent and dead outbox rows, ended redemption sessions and .eml files older than this
    # are removed by the worker (they hold addresses, links and codes).
    retention_days: int = 30
    # Deleted users are kept this long for restore, then purged by the worker (Entra: 30).
    deleted_user_days: int = 30

    def __post_init__(self) -> None:
        if self.smtp_url is not None:
            from guestgate.adapters.mail.transport import SmtpSettings

            SmtpSettings.from_url(self.smtp_url)
        if "@" not in self.mail_from or any(c in self.mail_from for c in " <>\r\n"):
            raise ConfigError(
                f"GUESTGATE_MAIL_FROM must be a plain address, got {self.mail_from!r}"
            )
        if not 5 <= self.outbox_lease_seconds <= 3600:
            raise ConfigError("GUESTGATE_OUTBOX_LEASE must be 5-3600 seconds")
        if not 1 <= self.retention_days <= 3650:
            raise ConfigError("GUESTGATE_RETENTION_DAYS must be 1-3650")
        if not 1 <= self.deleted_user_days <= 3650:
            raise ConfigError("GUESTGATE_DELETED_USER_DAYS must be 1-3650")


@dataclass(frozen=True, slots=True)
class GraphSettings:
    """Graph mode (GUESTGATE_DIRECTORY=graph): the Microsoft 365 tenant we broker to."""

    url: str = DEFAULT_GRAPH_URL
    # guestgate's own app registration in the tenant; without it, callers' tokens are forwarded.
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    tenant: str | None = None
    entra_url: str = DEFAULT_ENTRA_URL
    ca_file: str | None = None
    timeout_seconds: float = 30.0
    invites_per_window: int = 150  # Graph's limit: 150 invitations per 5 s per tenant
    # Added to Graph's 5-second window: Graph counts invitations when they arrive, the pacer
    # when they leave, so a request slower than the one 150 turns later could make 151.
    pacing_margin_ms: int = 40

    def __post_init__(self) -> None:
        for name, url in (
            ("GUESTGATE_GRAPH_URL", self.url),
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
        if not 1 <= self.invites_per_window <= 100_000:
            raise ConfigError("GUESTGATE_GRAPH_INVITES_PER_5S must be 1-100000")
        if not 0 <= self.pacing_margin_ms <= 5_000:
            raise ConfigError("GUESTGATE_GRAPH_PACING_MARGIN_MS must be 0-5000")
        if self.tenant is not None and not is_guid(self.tenant):
            raise ConfigError("GUESTGATE_GRAPH_TENANT must be the tenant id (a GUID)")
        app_credential = (self.client_id, self.client_secret, self.tenant)
        if any(app_credential) and not all(app_credential):
            raise ConfigError(
                "GUESTGATE_GRAPH_CLIENT_ID, GUESTGATE_GRAPH_CLIENT_SECRET and"
                " GUESTGATE_GRAPH_TENANT go together"
            )


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The admin console's sign-in in Microsoft 365 mode (docs/console.md): an Entra app.

    `authority` is the tenant's v2.0 authority (its discovery document is under it); with
    no `client_secret` the app is a public client and PKCE alone protects the code.
    """

    authority: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.authority is not None:
            parts = urlsplit(self.authority)
            local = parts.hostname in ("127.0.0.1", "localhost", "::1")
            if (
                not parts.hostname
                or not (parts.scheme == "https" or (parts.scheme == "http" and local))
                or parts.query
                or parts.fragment
                or parts.username
                or len(self.authority) > 512
            ):
                raise ConfigError(
                    "GUESTGATE_CONSOLE_AUTHORITY must be an https URL without query or"
                    f" credentials (http only for localhost), got {self.authority[:512]!r}"
                )
        if self.client_id is not None and not is_guid(self.client_id):
            raise ConfigError("GUESTGATE_CONSOLE_CLIENT_ID must be the app's client id (a GUID)")
        if self.client_secret is not None and not 1 <= len(self.client_secret) <= 512:
            raise ConfigError("GUESTGATE_CONSOLE_CLIENT_SECRET must be 1-512 characters")
        if (self.authority is None) != (self.client_id is None) or (
            self.client_secret is not None and self.client_id is None
        ):
            raise ConfigError(
                "GUESTGATE_CONSOLE_AUTHORITY and GUESTGATE_CONSOLE_CLIENT_ID go together"
                " (GUESTGATE_CONSOLE_CLIENT_SECRET is optional, for a confidential app)"
            )

    @property
    def enabled(self) -> bool:
        return self.authority is not None


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Webhook deliveries (docs/events.md): bounded in time, to public https targets."""

    # Loopback, private and link-local targets, and plain http: for development and tests.
    allow_private_targets: bool = False
    timeout_seconds: float = 15.0
    retry_scale: float = 1.0  # multiplies the retry schedule's delays (tests shorten it)
    ca_file: str | None = None
    # Events and delivery logs older than this are deleted (services/event_sweeps.py).
    event_retention_days: int = 90

    def __post_init__(self) -> None:
        if not 1 <= self.event_retention_days <= 3650:
            raise ConfigError("GUESTGATE_EVENT_RETENTION_DAYS must be 1-3650")
        if not 1 <= self.timeout_seconds <= 30:
            raise ConfigError("GUESTGATE_WEBHOOK_TIMEOUT must be 1-30 seconds")
        if not 0 < self.retry_scale <= 1:
            raise ConfigError("GUESTGATE_WEBHOOK_RETRY_SCALE must be above 0 and at most 1")


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """`GET /metrics` (docs/operations.md): off unless a token is set, then only with it."""

    token: str | None = field(default=None, repr=False)  # a bearer token: never logged

    def __post_init__(self) -> None:
        if self.token is not None and (
            len(self.token) < 16 or any(c.isspace() or not c.isprintable() for c in self.token)
        ):
            raise ConfigError(
                "GUESTGATE_METRICS_TOKEN must be at least 16 printable characters without spaces"
            )

    @property
    def enabled(self) -> bool:
        return self.token is not None


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed configuration of one process, grouped by concern."""

    directory: str = "local"
    log_level: str = "INFO"
    # 32+ bytes that key the client-secret hashes and encrypt signing keys at rest.
    secret_key: bytes = field(default=b"", repr=False)
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    # The file the secret key was read from; None when GUESTGATE_SECRET_KEY holds it.
    secret_key_file: str | None = None
    lifecycle_scheduler: bool = True  # this worker passes; serve: its first process only
    # The shared settings (config_env.SHARED_VARIABLES) this process was given by a flag or a
    # variable; the others a command takes from what the deployment recorded.
    explicit: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"GUESTGATE_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)},"
                f" got {self.log_level!r}"
            )
        if self.directory not in DIRECTORY_MODES:
            raise ConfigError(f"GUESTGATE_DIRECTORY must be local or graph, got {self.directory!r}")
        if self.secret_key and len(self.secret_key) < 32:
            raise ConfigError("GUESTGATE_SECRET_KEY must decode to at least 32 bytes")

    @property
    def graph_mode(self) -> bool:
        return self.directory == "graph"

    @property
    def graph_app_credentials(self) -> bool:
        return self.graph.client_id is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database.url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> str:
        """File path of the SQLite database (``:memory:`` is not supported: workers share it)."""
        return self.database.url.removeprefix("sqlite:///")

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy, checked again; keys are fields or `OVERRIDES` names, None means not given."""
        top: dict[str, Any] = {}
        groups: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            if value is None:
                continue
            if name in _TOP_LEVEL:
                top[name] = value
            elif name in OVERRIDES:
                group, group_field = OVERRIDES[name]
                groups.setdefault(group, {})[group_field] = value
            else:
                raise TypeError(f"Settings has no setting {name!r}")
        for group, values in groups.items():
            top[group] = replace(top.get(group, getattr(self, group)), **values)
        return replace(self, **top)


# The flat names `with_overrides` takes: a group's field with the group's prefix, as in the
# environment variable (database_url, token_lifetime_seconds, graph_client_id, mail_from…).
_GROUPS: tuple[tuple[str, type[Any], str], ...] = (
    ("http", HttpSettings, ""),
    ("database", DatabaseSettings, "database_"),
    ("tokens", TokenSettings, "token_"),
    ("limits", LimitSettings, ""),
    ("mail", MailSettings, ""),
    ("graph", GraphSettings, "graph_"),
    ("console", ConsoleSettings, "console_"),
    ("webhooks", WebhookSettings, "webhook_"),
    ("metrics", MetricsSettings, "metrics_"),
)
OVERRIDES = {
    prefix + f.name: (group, f.name) for group, kind, prefix in _GROUPS for f in fields(kind)
}
_TOP_LEVEL = frozenset(f.name for f in fields(Settings))


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
        f"GUESTGATE_DATABASE_URL must be sqlite:///PATH or postgresql://…, got {redact_url(url)!r}"
    )


def redact_url(url: str) -> str:
    """The URL with its password, if any, replaced by ***."""
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
