"""The `deployment` table and the existence check, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from guestgate.adapters.sql import deployment, migrate
from guestgate.errors import ConfigError


def test_written_settings_are_read_back_and_replaced_whole(database_url: str) -> None:
    assert deployment.read(database_url) == {}
    first = {"public_url": "https://a.example", "secret_key_file": "/srv/gg/secret.key"}
    deployment.write(database_url, first, now="2026-01-01T00:00:00.000000Z")
    assert deployment.read(database_url) == first
    second = {"public_url": "https://b.example", "mail_from": "gg@b.example"}
    deployment.write(database_url, second, now="2026-01-02T00:00:00.000000Z")
    assert deployment.read(database_url) == second


def test_the_revision_of_a_migrated_database(database_url: str) -> None:
    assert deployment.schema_revision(database_url, shown="the database") == migrate.HEAD


def test_a_missing_sqlite_file_is_reported_and_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/nothing.db"
    assert deployment.schema_revision(url, shown=url) is None
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("not SQLite " * 100)
    url = f"sqlite:///{tmp_path}/notes.db"
    with pytest.raises(ConfigError, match=re.escape(f"cannot read the database {url}")):
        deployment.schema_revision(url, shown=url)


@pytest.mark.postgres
def test_an_empty_postgres_database_has_no_revision(
    postgres_url_factory: Callable[[], str],
) -> None:
    url = postgres_url_factory()
    assert deployment.schema_revision(url, shown=url) is None


@pytest.mark.postgres
def test_a_missing_postgres_database_is_named(postgres_url_factory: Callable[[], str]) -> None:
    url = postgres_url_factory() + "_missing"
    with pytest.raises(ConfigError, match=r"cannot open the database shown: .*does not exist"):
        deployment.schema_revision(url, shown="shown")
