from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import pytest

from guestgate.config import Settings, from_env
from guestgate.errors import ConfigError


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"GUESTGATE_SECRET_KEY_FILE": str(tmp_path / "secret.key"), **values}


def test_defaults_are_the_embedded_ones(tmp_path: Path) -> None:
    settings = from_env(env(tmp_path))
    assert settings.database_url == "sqlite:///./var/guestgate.db"
    assert settings.public_url == "http://127.0.0.1:8365"
    assert settings.port == 8365
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
    assert settings.port == 9100
    assert settings.host == "127.0.0.1"


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
        Settings(database_url="mysql://user:hunter2@host/db", secret_key=b"k" * 32)
    assert "hunter2" not in info.value.message


def test_public_url_trailing_slash_is_dropped() -> None:
    assert Settings(public_url="https://id.example/", secret_key=b"k" * 32).public_url == (
        "https://id.example"
    )
