"""Shared settings: what `serve` records, and how a command's own settings take them."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from guestgate import deployment
from guestgate.config import HttpSettings, MailSettings, Settings
from guestgate.config_env import from_env
from guestgate.errors import ConfigError

SERVER_KEY = secrets.token_bytes(32)


def recorded(tmp_path: Path, **changes: str) -> dict[str, str]:
    key_file = tmp_path / "server" / "secret.key"
    key_file.parent.mkdir(exist_ok=True)
    key_file.write_text(base64.urlsafe_b64encode(SERVER_KEY).decode())
    server = Settings(
        secret_key=SERVER_KEY,
        secret_key_file=str(key_file),
        http=HttpSettings(public_url="https://guests.fabrikam.example"),
        mail=MailSettings(mail_from="invites@fabrikam.example", mail_dir=str(tmp_path / "mail")),
    )
    return deployment.record(server) | changes


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in a directory of their own, where ./var/secret.key does not exist."""
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")


def command(tmp_path: Path, **env: str) -> Settings:
    """A command's settings, from a shell with only `env` set."""
    return from_env(env, create_secret_key=False)


def test_record_holds_the_shared_settings_and_no_secret(tmp_path: Path) -> None:
    values = recorded(tmp_path)
    assert values == {
        "public_url": "https://guests.fabrikam.example",
        "mail_from": "invites@fabrikam.example",
        "mail_dir": str(tmp_path / "mail"),
        "mail_transport": "folder",
        "key_check": deployment.key_check(SERVER_KEY),
        "secret_key_file": str(tmp_path / "server" / "secret.key"),
    }
    assert base64.urlsafe_b64encode(SERVER_KEY).decode().rstrip("=") not in str(values)


def test_record_makes_a_relative_mail_folder_absolute() -> None:
    values = deployment.record(Settings(secret_key=SERVER_KEY, mail=MailSettings(mail_dir="m")))
    assert values["mail_dir"] == str(Path("m").absolute())
    assert "secret_key_file" not in values


def test_a_command_takes_what_it_was_not_given(tmp_path: Path) -> None:
    applied = deployment.apply(command(tmp_path), recorded(tmp_path))
    assert applied.warnings == []
    assert applied.settings.http.public_url == "https://guests.fabrikam.example"
    assert applied.settings.http.public_url_derived is False
    assert applied.settings.mail.mail_from == "invites@fabrikam.example"
    assert applied.settings.mail.mail_dir == str(tmp_path / "mail")
    assert applied.settings.secret_key == SERVER_KEY
    assert applied.settings.secret_key_file == str(tmp_path / "server" / "secret.key")


def test_a_commands_own_variables_win_and_a_differing_public_url_is_warned(
    tmp_path: Path,
) -> None:
    own = command(
        tmp_path,
        GUESTGATE_PUBLIC_URL="https://other.example",
        GUESTGATE_MAIL_FROM="me@other.example",
        GUESTGATE_MAIL_DIR="/srv/mail",
        GUESTGATE_SECRET_KEY=base64.urlsafe_b64encode(SERVER_KEY).decode(),
    )
    applied = deployment.apply(own, recorded(tmp_path))
    assert applied.settings.http.public_url == "https://other.example"
    assert applied.settings.mail.mail_from == "me@other.example"
    assert applied.settings.mail.mail_dir == "/srv/mail"
    [warning] = applied.warnings
    assert "https://other.example" in warning
    assert "https://guests.fabrikam.example" in warning


def test_the_public_url_flag_counts_as_explicit(tmp_path: Path) -> None:
    flagged = from_env({}, create_secret_key=False, public_url="https://flag.example")
    applied = deployment.apply(flagged, recorded(tmp_path))
    assert applied.settings.http.public_url == "https://flag.example"


def test_nothing_recorded_leaves_the_commands_own_settings(tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(SERVER_KEY).decode()
    own = command(tmp_path, GUESTGATE_SECRET_KEY=key)
    assert deployment.apply(own, {}).settings == own


def test_without_a_key_anywhere_the_command_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no secret key: .*here/var/secret.key does not exist"):
        deployment.apply(command(tmp_path), {})
    assert list((tmp_path / "here").iterdir()) == []


def test_another_key_than_the_servers_is_refused(tmp_path: Path) -> None:
    other = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    with pytest.raises(ConfigError, match="GUESTGATE_SECRET_KEY is not the server's key"):
        deployment.apply(command(tmp_path, GUESTGATE_SECRET_KEY=other), recorded(tmp_path))


def test_the_key_check_reveals_nothing_of_the_key() -> None:
    check = deployment.key_check(SERVER_KEY)
    assert len(check) == 32
    assert check != deployment.key_check(secrets.token_bytes(32))
    assert SERVER_KEY.hex()[:8] not in check


def test_a_mail_worker_needs_smtp_when_the_server_uses_it(tmp_path: Path) -> None:
    smtp = recorded(tmp_path, mail_transport="smtp")
    settings = deployment.apply(command(tmp_path), smtp).settings
    with pytest.raises(ConfigError, match="GUESTGATE_SMTP_URL is not set here"):
        deployment.check_mail_transport(settings, smtp)
    deployment.check_mail_transport(settings, recorded(tmp_path))


def test_databases_are_described_without_passwords(tmp_path: Path) -> None:
    assert deployment.describe_database("postgresql://gg:s3cret@db.example/gg") == (
        "postgresql://gg:***@db.example/gg"
    )
    assert deployment.describe_database("sqlite:///./var/gg.db") == (
        f"sqlite:///./var/gg.db ({Path('./var/gg.db').absolute()})"
    )
    assert (
        deployment.describe_database(f"sqlite:///{tmp_path}/g.db") == f"sqlite:///{tmp_path}/g.db"
    )
