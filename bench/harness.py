"""What every case stands on: a fresh database, the service started as a user starts it, an
SMTP sink, and the work folder of one run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


class Server(Protocol):
    """What the load runners need of a server: where it listens and its worker processes."""

    base: str

    def workers(self) -> list[psutil.Process]: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_listening(port: int, workers: int, timeout: float = 60) -> None:
    """Block until `workers` sockets listen on `port`.

    Each worker listens on its own socket (SO_REUSEPORT) or shares one; either way load must
    not start before all are up, so count listening sockets in /proc/net/tcp (state 0A).
    """
    needle = f":{port:04X} "
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        listening = [ln for ln in lines if needle in ln and ln.split()[3] == "0A"]
        if len(listening) >= workers:
            return
        time.sleep(0.02)
    raise RuntimeError(f"fewer than {workers} workers listen on port {port}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on the server at `server_url`, dropped afterwards."""
    import psycopg

    name = f"guestgate_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class SmtpSink:
    """A local SMTP server that accepts every message and counts them."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.count = 0
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.count += 1
                return "250 OK"

        port = free_port()
        self.url = f"smtp://127.0.0.1:{port}"
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class Guestgate:
    """`guestgate serve --workers 2` on its own database, in its own directory, with the
    settings `make run` uses (INFO logging, one JSON access line per request) unless
    `quiet_logs` asks for warnings only."""

    def __init__(
        self,
        workdir: Path,
        *,
        database_url: str | None,
        smtp_url: str | None = None,
        inprocess_worker: bool = True,
        quiet_logs: bool = False,
        extra_env: dict[str, str] | None = None,
        tls: bool = False,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        # Over https (`tls`) with a development certificate, trusted by `self.ssl` only.
        self.cert = workdir / "dev-cert.pem" if tls else None
        self.ssl = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTGATE_")}
        self.env.update(
            {
                "GUESTGATE_DATABASE_URL": database_url or f"sqlite:///{workdir}/guestgate.db",
                "GUESTGATE_PUBLIC_URL": self.base,
                "GUESTGATE_PORT": str(self.port),
                "GUESTGATE_SECRET_KEY_FILE": str(workdir / "secret.key"),
                "GUESTGATE_MAIL_DIR": str(workdir / "mail"),
            }
        )
        if quiet_logs:
            self.env["GUESTGATE_LOG_LEVEL"] = "WARNING"
        if smtp_url:
            self.env["GUESTGATE_SMTP_URL"] = smtp_url
        if not inprocess_worker:
            self.env["GUESTGATE_INPROCESS_WORKER"] = "false"
        self.env.update(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_seconds = 0.0

    def start(self) -> None:
        command = [sys.executable, "-m", "guestgate", "serve", "--workers", "2"]
        if self.cert is not None:
            subprocess.run(
                [sys.executable, "-m", "guestgate", "dev-cert", "--out-dir", str(self.workdir)],
                env=self.env,
                cwd=self.workdir,
                capture_output=True,
                check=True,
            )
            self.ssl = ssl.create_default_context(cafile=str(self.cert))
            command += [
                "--tls-cert",
                str(self.cert),
                "--tls-key",
                str(self.workdir / "dev-key.pem"),
            ]
        # The logs go to a file as they would to a terminal or a journal: written, not dropped.
        out = (self.workdir / "serve.out").open("w")
        started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            env=self.env,
            cwd=self.workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - started < 60:
            try:
                with urllib.request.urlopen(
                    f"{self.base}/readyz", timeout=1, context=self.ssl
                ) as answer:
                    if answer.status == 200:
                        self.ready_seconds = time.monotonic() - started
                        wait_until_listening(self.port, workers=2)
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError((self.workdir / "serve.out").read_text()[-2000:])

    def credentials(self) -> dict[str, str]:
        text = (self.workdir / "serve.out").read_text()
        return dict(re.findall(r"^\s+(TenantID|AppID|AppSecret)\s+(\S+)", text, re.M))

    def token_form(self) -> tuple[str, str]:
        creds = self.credentials()
        body = (
            f"grant_type=client_credentials&client_id={creds['AppID']}"
            f"&client_secret={creds['AppSecret']}&scope=https://graph.microsoft.com/.default"
        )
        return f"/{creds['TenantID']}/oauth2/v2.0/token", body

    def token(self) -> str:
        path, body = self.token_form()
        request = urllib.request.Request(
            self.base + path,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, context=self.ssl) as answer:
            return str(json.load(answer)["access_token"])

    def post_json(self, path: str, payload: Any, token: str) -> Any:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)

    def get_json(self, url: str, token: str) -> Any:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)

    def workers(self) -> list[psutil.Process]:
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self) -> None:
        stop(self.process)


@dataclass
class CaseRun:
    """One run of one case: the options, a fresh work folder, and how to start the service."""

    args: argparse.Namespace
    workdir: Path
    quiet_logs: bool = False

    @property
    def closed_loop(self) -> dict[str, int]:
        """wrk's connections and duration for this run."""
        return {"connections": self.args.connections, "duration": self.args.duration}

    @contextlib.contextmanager
    def guestgate(
        self,
        *,
        postgres: bool = False,
        smtp_url: str | None = None,
        inprocess_worker: bool = True,
        extra_env: dict[str, str] | None = None,
    ) -> Iterator[Guestgate]:
        """The service started and ready on a new database: SQLite in the work folder, or
        PostgreSQL when the case asks for it or `--postgres` is given."""
        server_url = self.args.postgres or (LOCAL_POSTGRES if postgres else None)
        with contextlib.ExitStack() as stack:
            database_url = stack.enter_context(fresh_postgres(server_url)) if server_url else None
            server = Guestgate(
                self.workdir,
                database_url=database_url,
                smtp_url=smtp_url,
                inprocess_worker=inprocess_worker,
                quiet_logs=self.quiet_logs,
                extra_env=extra_env,
            )
            try:
                server.start()
                yield server
            finally:
                server.stop()
