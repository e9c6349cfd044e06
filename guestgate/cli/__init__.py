"""The `guestgate` command: thin commands over the services."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from guestgate import __version__, config_env
from guestgate.cli import (
    bulk,
    deployment,
    directory,
    guests,
    lifecycle,
    mail,
    policy,
    roles,
    serve,
    webhooks,
)
from guestgate.deployment import describe_database
from guestgate.errors import ConfigError, GuestgateError, NotFound


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guestgate", description="Self-hosted guest invitations.")
    parser.add_argument("--version", action="version", version=f"guestgate {__version__}")
    parser.add_argument("--database-url", help="GUESTGATE_DATABASE_URL")
    parser.add_argument("--public-url", help="GUESTGATE_PUBLIC_URL")
    parser.add_argument("--log-level", help="GUESTGATE_LOG_LEVEL")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.register(sub)
    directory.register(sub)
    guests.register(sub)
    bulk.register(sub)
    mail.register(sub)
    webhooks.register(sub)
    policy.register(sub)
    lifecycle.register(sub)
    roles.register(sub)
    return parser


# `serve` and `db upgrade` create the database (and the key file) when there is none;
# these never open one; every other command acts on an existing database only.
CREATES_DATABASE = frozenset({"serve", "db"})
NO_DATABASE = frozenset({"dev-cert", "mail"})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    database: str | None = None
    try:
        settings = config_env.from_env(
            create_secret_key=args.command in CREATES_DATABASE,
            database_url=args.database_url,
            public_url=args.public_url,
            log_level=args.log_level.upper() if args.log_level else None,
            host=getattr(args, "host", None) if args.command == "serve" else None,
            port=getattr(args, "port", None) if args.command == "serve" else None,
        )
        database = describe_database(settings.database.url)
        if args.command not in CREATES_DATABASE | NO_DATABASE:
            settings = deployment.open_existing(settings, delivers_mail=args.command == "worker")
        args.func(settings, args)
    except ConfigError as exc:
        print(f"guestgate: configuration error: {exc.message}", file=sys.stderr)
        return 2
    except NotFound as exc:
        # Most often the command was pointed at another database than the server's.
        print(f"guestgate: {exc.code}: {exc.message} (database {database})", file=sys.stderr)
        return 1
    except GuestgateError as exc:
        print(f"guestgate: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    return 0
