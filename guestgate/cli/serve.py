"""`guestgate serve` and `guestgate dev-cert`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import os
import shlex
import ssl
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from guestgate.adapters.sql import migrate
from guestgate.bootstrap import running
from guestgate.cli.deployment import record_serving
from guestgate.cli.output import emit
from guestgate.config import LOOPBACK_OF, HttpSettings, Settings
from guestgate.domain.apps import INVITE, READ_USERS, parse_lifetime
from guestgate.errors import ConfigError
from guestgate.services import apps, keys, tenants

DEMO_TENANT = "Contoso"
DEMO_DOMAIN = "contoso.example"


async def prepare(settings: Settings, *, demo: bool) -> dict[str, Any] | None:
    """Create the first signing key and, on an empty database, the demo tenant and app."""
    async with running(settings) as runtime:
        uow = runtime.uow
        await keys.ensure_signing_key(uow(), sealer=runtime.sealer, now=runtime.now())
        if not demo or await tenants.list_tenants(uow(write=False)):
            return None
        tenant = await tenants.create_tenant(
            uow(), name=DEMO_TENANT, domains=[DEMO_DOMAIN], now=runtime.now()
        )
        app, secret = await apps.create_app(
            uow(),
            tenant_ref=tenant.id,
            name="guestgate demo app",
            permissions=[INVITE, READ_USERS],
            secret_lifetime=parse_lifetime("2y"),
            hash_key=runtime.hash_key,
            now=runtime.now(),
        )
        return {"TenantID": tenant.id, "AppID": app.id, "AppSecret": secret.value}


def demo_banner(settings: Settings, creds: dict[str, Any]) -> str:
    token_url = f"{settings.http.public_url}/{creds['TenantID']}/oauth2/v2.0/token"
    curl = " ".join(
        [
            "curl -s",
            *(["-k"] if settings.http.https else []),
            shlex.quote(token_url),
            "-d grant_type=client_credentials",
            f"-d client_id={creds['AppID']}",
            f"-d client_secret={shlex.quote(creds['AppSecret'])}",
            "-d scope=https://graph.microsoft.com/.default",
        ]
    )
    return "\n".join(
        [
            "",
            "Demo tenant created (shown once; store the secret now):",
            f"  TenantID   {creds['TenantID']}  (domain {DEMO_DOMAIN})",
            f"  AppID      {creds['AppID']}",
            f"  AppSecret  {creds['AppSecret']}",
            "Get a token:",
            f"  {curl}",
            "",
        ]
    )


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def public_url_warning(http: HttpSettings, *, tls: bool) -> str | None:
    """Why the public URL may not lead to the listen address, or None.

    Only a warning: a proxy may sit between (TLS offload, another port or host name).
    """
    scheme = "https" if tls else "http"
    listen = f"{scheme}://{f'[{http.host}]' if ':' in http.host else http.host}:{http.port}"
    if http.public_url_derived:
        if http.host not in LOOPBACK_OF:
            return None
        return (
            "listening on every address of this host, but links and the token issuer use"
            f" {http.public_url}: set GUESTGATE_PUBLIC_URL (--public-url) to the URL others reach"
        )
    public = urlsplit(http.public_url)
    try:
        port = public.port or (443 if public.scheme == "https" else 80)
    except ValueError:  # not a port number: it leads nowhere
        port = 0
    if public.scheme == scheme and port == http.port and _reaches(public.hostname or "", http.host):
        return None
    return (
        f"the public URL {http.public_url} does not lead to the listen address {listen};"
        " links, the token issuer and the discovery document use the public URL"
        " (fine behind a proxy that forwards to this address)"
    )


def _reaches(host: str, listen: str) -> bool:
    """Whether a URL's host may name the listen address (a host name: it may, if unsure)."""
    listen = listen.lower()
    if listen in LOOPBACK_OF or host == listen:
        return True
    if host in LOOPBACK or listen in LOOPBACK:
        return host in LOOPBACK and listen in LOOPBACK
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    from guestgate.web import supervisor  # imported here so other commands start fast

    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    for path in (args.tls_cert, args.tls_key):
        if path and not Path(path).is_file():
            raise ConfigError(f"TLS file not found: {path}")
    if args.tls_cert:
        try:  # here, with a clear message, rather than in every worker
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                args.tls_cert,
                args.tls_key,
                password="",  # never prompt on the terminal
            )
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"TLS certificate or key unusable: {exc}") from None
    if args.workers < 1 or args.workers > 64:
        raise ConfigError("--workers must be 1-64")
    if args.tls_cert and settings.http.public_url_derived:
        https = settings.http.public_url.replace("http://", "https://", 1)
        settings = settings.with_overrides(public_url=https)
    warning = public_url_warning(settings.http, tls=bool(args.tls_cert))
    if warning:
        print(f"guestgate: warning: {warning}", file=sys.stderr, flush=True)
    migrate.upgrade(settings.database.url)
    record_serving(settings)
    creds = asyncio.run(prepare(settings, demo=not args.no_demo and not settings.graph_mode))
    if creds is not None:
        sys.stdout.write(demo_banner(settings, creds))
        sys.stdout.flush()
    if args.no_worker:
        settings = settings.with_overrides(inprocess_worker=False)
    scheme = "https" if args.tls_cert else "http"
    print(
        f"guestgate listening on {scheme}://{settings.http.host}:{settings.http.port}", flush=True
    )
    tls = supervisor.Tls(args.tls_cert, args.tls_key) if args.tls_cert else None
    # Every worker process gets this Settings object itself, flags applied.
    status = supervisor.serve(settings, workers=args.workers, tls=tls)
    if status:
        raise SystemExit(status)


def write_dev_cert(out_dir: Path, hosts: list[str]) -> tuple[Path, Path]:
    """A self-signed certificate for local https (MSAL talks to https authorities only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guestgate development")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / "dev-cert.pem", out_dir / "dev-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def cmd_dev_cert(settings: Settings, args: argparse.Namespace) -> None:
    cert, key = write_dev_cert(Path(args.out_dir), ["localhost", "127.0.0.1", "::1", *args.host])
    emit({"certificate": str(cert), "key": str(key)}, as_json=args.json)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the service", description="run the service")
    p.add_argument("--host", help="address to bind (GUESTGATE_HOST)")
    p.add_argument("--port", type=int, help="port (GUESTGATE_PORT, default 8365)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--tls-cert", help="PEM certificate: serve https")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--no-demo", action="store_true", help="do not create the demo tenant")
    p.add_argument(
        "--no-worker", action="store_true", help="do not deliver mail here (run `guestgate worker`)"
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("dev-cert", help="write a self-signed certificate for localhost")
    p.add_argument("--out-dir", default="./var", help="directory for dev-cert.pem/dev-key.pem")
    p.add_argument("--host", action="append", default=[], help="extra host name or IP")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dev_cert)
