"""Which deployment a command acts on: an existing database and what its server recorded.

`serve` and `db upgrade` create and migrate the database; every other command that uses it
only opens one that exists, so a command run from the wrong directory says where it looked
instead of starting an empty database (and key) of its own.
"""

from __future__ import annotations

import sys

from guestgate import deployment
from guestgate.adapters.sql import deployment as recorded_settings
from guestgate.adapters.sql import migrate
from guestgate.config import Settings
from guestgate.domain.timestamps import iso, utcnow
from guestgate.errors import ConfigError


def open_existing(settings: Settings, *, delivers_mail: bool = False) -> Settings:
    """The command's settings over the deployment's database, which must exist already.

    An older schema is brought to HEAD, as `serve` would; a missing database is an error
    that names the URL looked at. Shared settings the command was not given explicitly are
    the ones the server recorded (deployment.py).
    """
    url = settings.database.url
    shown = deployment.describe_database(url)
    revision = recorded_settings.schema_revision(url, shown=shown)
    if revision is None:
        raise ConfigError(
            f"no guestgate database at {shown}; point this command at the server's database"
            f" with {deployment.HOW_TO_POINT} (`guestgate serve` and `guestgate db upgrade`"
            " create a new one)"
        )
    if revision != migrate.HEAD:
        migrate.upgrade(url)
    recorded = recorded_settings.read(url)
    applied = deployment.apply(settings, recorded)
    for warning in applied.warnings:
        print(f"guestgate: warning: {warning}", file=sys.stderr, flush=True)
    if delivers_mail:
        deployment.check_mail_transport(applied.settings, recorded)
    return applied.settings


def record_serving(settings: Settings) -> None:
    """Record what a starting `serve` uses, for the commands run beside it."""
    recorded_settings.write(settings.database.url, deployment.record(settings), now=iso(utcnow()))
