from __future__ import annotations

import base64
import os
import pickle
import secrets
from pathlib import Path

import pytest

from guestgate.cli.serve import public_url_warning
from guestgate.config import DatabaseSettings, HttpSettings, Settings
from guestgate.config_env import from_env
from guestgate.errors import ConfigError


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"GUESTGATE_SECRET_KEY_FILE": str(tmp_path / "secret.key"), **values}


def test_defaults_are_the_embedded_ones(tmp_path: Path) -> None:
    settings = from_env(env(tmp_path))
    assert settings.database.url == "sqlite:///./var/guestgate.db"
    assert settings.http.public_url == "http://127.0.0.1:8365"
    assert settings.http.port == 8365
    assert len(settings.secret_key) == 32


def test_secret_key_file_is_created_once_private(tmp_path: Path) -> None:
    first = from_env(env(tmp_path)).secret_key
    second = from_env(env(tmp_path)).secret_key
    assert first == second
    assert os.stat(tmp_path / "secret.key").st_mode & 0o077 == 0


def test_secret_key_from_environment(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    raw = base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert from_env(env(tmp_path, GUESTGATE_SECRET_KEY=raw)).secret_key == key
    with pytest.raises(ConfigError, match="32 bytes"):
        from_env(env(tmp_path, GUESTGATE_SECRET_KEY="c2hvcnQ"))


def test_flags_override_environment(tmp_path: Path) -> None:
    settings = from_env(env(tmp_path, GUESTGATE_PORT="9000"), port=9100, host=None)
    assert settings.http.port == 9100
    assert settings.http.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("GUESTGATE_PORT", "http", "integer"),
        ("GUESTGATE_PORT", "70000", "1-65535"),
        ("GUESTGATE_DATABASE_URL", "mysql://x/y", "sqlite"),
        ("GUESTGATE_DATABASE_URL", "sqlite:///:memory:", "in-memory"),
        ("GUESTGATE_DATABASE_URL", "postgresql://host", "name the database"),
        ("GUESTGATE_PUBLIC_URL", "ftp://example.com", "http"),
        ("GUESTGATE_PUBLIC_URL", "https://example.com/?a=1", "query"),
        ("GUESTGATE_LOG_LEVEL", "LOUD", "one of"),
        ("GUESTGATE_DIRECTORY", "ldap", "local or graph"),
        ("GUESTGATE_GRAPH_URL", "http://graph.example", "https URL"),
        ("GUESTGATE_ENTRA_URL", "ftp://login.example", "https URL"),
        ("GUESTGATE_GRAPH_CLIENT_ID", "0f7a0000-0000-0000-0000-000000000000", "go together"),
        ("GUESTGATE_GRAPH_TENANT", "contoso.onmicrosoft.com", "GUID"),
        ("GUESTGATE_SMTP_URL", "http://mail.example", "smtp://"),
        ("GUESTGATE_MAIL_FROM", "Guestgate <a@b>", "plain address"),
        ("GUESTGATE_INPROCESS_WORKER", "maybe", "true or false"),
        ("GUESTGATE_GRAPH_INVITES_PER_5S", "0", "1-100000"),
        ("GUESTGATE_GRAPH_PACING_MARGIN_MS", "-1", "0-5000"),
        ("GUESTGATE_GRAPH_PACING_MARGIN_MS", "soon", "an integer"),
    ],
)
def test_invalid_configuration_fails_with_one_line_reason(
    tmp_path: Path, name: str, value: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as info:
        from_env(env(tmp_path, **{name: value}))
    assert reason in info.value.message
    assert "\n" not in info.value.message


def test_password_in_database_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        Settings(
            database=DatabaseSettings(url="mysql://user:hunter2@host/db"), secret_key=b"k" * 32
        )
    assert "hunter2" not in info.value.message


def test_public_url_trailing_slash_is_dropped() -> None:
    http = HttpSettings(public_url="https://id.example/")
    assert Settings(http=http, secret_key=b"k" * 32).http.public_url == ("https://id.example")


def test_settings_are_grouped_by_concern_and_read_from_their_variables(tmp_path: Path) -> None:
    settings = from_env(
        env(
            tmp_path,
            GUESTGATE_DATABASE_URL="postgresql://db.example/guestgate",
            GUESTGATE_PUBLIC_URL="https://id.example",
            GUESTGATE_HOST="0.0.0.0",
            GUESTGATE_HEADER_TIMEOUT="3",
            GUESTGATE_SMTP_URL="smtp://mail.example:587?starttls=true",
            GUESTGATE_MAIL_FROM="noreply@id.example",
            GUESTGATE_INPROCESS_WORKER="false",
            GUESTGATE_OUTBOX_LEASE="30",
            GUESTGATE_TOKEN_FAILURES_PER_MINUTE="7",
            GUESTGATE_PAGE_FAILURES_PER_10_MINUTES="70",
            GUESTGATE_DIRECTORY="graph",
            GUESTGATE_GRAPH_URL="http://127.0.0.1:9000/",
            GUESTGATE_GRAPH_INVITES_PER_5S="20",
            GUESTGATE_GRAPH_PACING_MARGIN_MS="250",
            GUESTGATE_LOG_LEVEL="debug",
        )
    )
    assert settings.database.url == "postgresql://db.example/guestgate"
    assert not settings.is_sqlite
    assert (settings.http.host, settings.http.public_url) == ("0.0.0.0", "https://id.example")
    assert settings.http.header_timeout_seconds == 3.0
    assert settings.http.https
    assert settings.mail.smtp_url == "smtp://mail.example:587?starttls=true"
    assert settings.mail.mail_from == "noreply@id.example"
    assert settings.mail.inprocess_worker is False
    assert settings.mail.outbox_lease_seconds == 30.0
    assert settings.limits.token_failures_per_minute == 7
    assert settings.limits.page_failures_per_10_minutes == 70
    assert settings.graph_mode
    assert settings.graph.url == "http://127.0.0.1:9000"
    assert settings.graph.invites_per_window == 20
    assert settings.graph.pacing_margin_ms == 250
    assert not settings.graph_app_credentials
    assert settings.log_level == "DEBUG"
    assert settings.tokens.lifetime_seconds == 3600


def test_overrides_by_flag_name_land_in_their_group_and_are_checked(tmp_path: Path) -> None:
    settings = from_env(env(tmp_path))
    changed = settings.with_overrides(
        public_url="https://id.example/",
        database_url=f"sqlite:///{tmp_path}/other.db",
        host="::1",
        port=9443,
        log_level="WARNING",
        inprocess_worker=False,
        graph_client_id=None,  # None: a flag left out changes nothing
    )
    assert changed.http.public_url == "https://id.example"
    assert (changed.http.host, changed.http.port) == ("::1", 9443)
    assert changed.sqlite_path == f"{tmp_path}/other.db"
    assert changed.log_level == "WARNING"
    assert changed.mail.inprocess_worker is False
    assert changed.graph == settings.graph
    assert changed.secret_key == settings.secret_key
    assert settings.http.public_url == "http://127.0.0.1:8365"  # the original is untouched
    with pytest.raises(ConfigError, match="1-65535"):
        settings.with_overrides(port=0)
    with pytest.raises(ConfigError, match="one of"):
        settings.with_overrides(log_level="LOUD")
    with pytest.raises(TypeError, match="no setting"):
        settings.with_overrides(public_uri="https://id.example")


def test_settings_survive_pickling_for_worker_processes(tmp_path: Path) -> None:
    settings = from_env(
        env(tmp_path, GUESTGATE_SMTP_URL="smtp://user:pw@mail.example:587"),
        public_url="https://id.example",
    )
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings
    assert copy.secret_key == settings.secret_key
    assert copy.http.public_url == "https://id.example"


def test_secrets_stay_out_of_the_representation(tmp_path: Path) -> None:
    settings = from_env(
        env(
            tmp_path,
            GUESTGATE_SMTP_URL="smtp://user:smtp-pass@mail.example:587",
            GUESTGATE_GRAPH_CLIENT_ID="0f7a0000-0000-0000-0000-000000000000",
            GUESTGATE_GRAPH_CLIENT_SECRET="graph-secret",
            GUESTGATE_GRAPH_TENANT="0f7a0000-0000-0000-0000-000000000001",
        )
    )
    shown = repr(settings)
    assert "smtp-pass" not in shown
    assert "graph-secret" not in shown
    assert repr(settings.secret_key) not in shown


def test_public_url_follows_host_and_port_unless_set(tmp_path: Path) -> None:
    derived = from_env(env(tmp_path), port=18365)
    assert (derived.http.public_url, derived.http.public_url_derived) == (
        "http://127.0.0.1:18365",
        True,
    )
    from_variables = from_env(env(tmp_path, GUESTGATE_PORT="9000", GUESTGATE_HOST="::1"))
    assert from_variables.http.public_url == "http://[::1]:9000"
    assert from_env(env(tmp_path), host="0.0.0.0").http.public_url == "http://127.0.0.1:8365"
    for explicit in (
        from_env(env(tmp_path, GUESTGATE_PUBLIC_URL="https://id.example"), port=9000),
        from_env(env(tmp_path), public_url="https://id.example/", port=9000),
    ):
        assert (explicit.http.public_url, explicit.http.public_url_derived) == (
            "https://id.example",
            False,
        )


@pytest.mark.parametrize(
    ("public_url", "host", "tls", "warned"),
    [
        ("http://127.0.0.1:8365", "127.0.0.1", False, False),
        ("http://localhost:8365", "127.0.0.1", False, False),
        ("https://127.0.0.1:8365", "127.0.0.1", True, False),
        ("http://guests.example:8365", "0.0.0.0", False, False),
        ("http://guests.example:8365", "10.0.0.6", False, False),  # a name: it may lead there
        ("http://127.0.0.1:18365", "127.0.0.1", False, True),  # another port
        ("http://127.0.0.1:8365", "127.0.0.1", True, True),  # http, but serving https
        ("https://guests.example", "127.0.0.1", False, True),  # a proxy, or a mistake
        ("http://10.0.0.5:8365", "10.0.0.6", False, True),
    ],
)
def test_a_public_url_away_from_the_listen_address_is_a_warning(
    public_url: str, host: str, tls: bool, warned: bool
) -> None:
    http = HttpSettings(host=host, port=8365, public_url=public_url)
    warning = public_url_warning(http, tls=tls)
    assert (warning is not None) == warned
    if warning:
        assert warning.startswith(f"the public URL {public_url} does not lead to the listen")


def test_a_derived_public_url_warns_only_when_listening_everywhere(tmp_path: Path) -> None:
    assert public_url_warning(from_env(env(tmp_path), port=9000).http, tls=False) is None
    everywhere = public_url_warning(from_env(env(tmp_path), host="0.0.0.0").http, tls=False)
    assert everywhere is not None
    assert "set GUESTGATE_PUBLIC_URL" in everywhere


def test_key_refresh_interval_is_bounded(tmp_path: Path) -> None:
    assert from_env(env(tmp_path)).tokens.key_refresh_seconds == 30
    assert (
        from_env(env(tmp_path, GUESTGATE_KEY_REFRESH_SECONDS="2")).tokens.key_refresh_seconds == 2
    )
    for bad in ("0", "3601", "-1"):
        with pytest.raises(ConfigError, match="GUESTGATE_KEY_REFRESH_SECONDS"):
            from_env(env(tmp_path, GUESTGATE_KEY_REFRESH_SECONDS=bad))
