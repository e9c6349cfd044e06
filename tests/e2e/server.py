"""Run guestgate as a real process, as a user would, and talk to it over HTTP."""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.leaks import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
GUESTGATE = [sys.executable, "-m", "guestgate"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `guestgate serve` process with its own database and secret key."""

    workdir: Path
    database_url: str
    tls: bool = False
    workers: int = 1
    demo: bool = True
    mail_worker: bool = True  # False: `serve --no-worker`
    extra_env: dict[str, str] = field(default_factory=dict)
    # Global flags before `serve` (--public-url…); what they set is left out of the environment.
    flags: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    secret_key: str = field(
        default_factory=lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
    process: subprocess.Popen[bytes] | None = None
    stdout: str = ""
    stderr_path: Path | None = None
    stdout_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def cert(self) -> Path:
        return self.workdir / "dev-cert.pem"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTGATE_")}
        env.update(
            {
                "GUESTGATE_DATABASE_URL": self.database_url,
                "GUESTGATE_PUBLIC_URL": self.base_url,
                "GUESTGATE_PORT": str(self.port),
                "GUESTGATE_SECRET_KEY": self.secret_key,
                "GUESTGATE_LOG_LEVEL": "INFO",
                **self.extra_env,
            }
        )
        for flag in self.flags:
            if flag.startswith("--"):
                env.pop("GUESTGATE_" + flag[2:].upper().replace("-", "_"), None)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*GUESTGATE, *args],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def create_app(self, tenant: str, name: str, *permissions: str) -> dict[str, str]:
        """`guestgate app create`: TenantID, AppID and AppSecret of a new app."""
        import json

        args = ["app", "create", "--tenant", tenant, "--name", name, "--json"]
        for permission in permissions:
            args += ["--permission", permission]
        created: dict[str, str] = json.loads(self.cli(*args).stdout)
        return created

    def start(self) -> Server:
        args = [*self.flags, "serve", "--workers", str(self.workers)]
        if self.tls:
            if not self.cert.exists():
                self.cli("dev-cert", "--out-dir", str(self.workdir))
            args += ["--tls-cert", str(self.cert), "--tls-key", str(self.workdir / "dev-key.pem")]
        if not self.demo:
            args.append("--no-demo")
        if not self.mail_worker:
            args.append("--no-worker")
        self.stderr_path = self.workdir / f"server-{self.port}.log"
        self.stdout_path = self.workdir / f"server-{self.port}.out"
        REGISTRY.log(self.stderr_path)
        REGISTRY.database(self.database_url)
        with self.stderr_path.open("a") as err, self.stdout_path.open("a") as out:
            # Its own process group, so `kill` can take the workers down with it.
            self.process = subprocess.Popen(
                [*GUESTGATE, *args],
                env=self.env(),
                cwd=self.workdir,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> float:
        """Poll /readyz until it answers 200; returns the seconds it took."""
        assert self.process is not None
        started = time.monotonic()
        with self.client() as client:
            while time.monotonic() < started + timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"guestgate exited: {self.logs()[-2000:]}")
                try:
                    if client.get("/readyz").status_code == 200:
                        self.stdout = self.stdout_path.read_text()
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError("guestgate did not become ready in time")

    def logs(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path else ""

    def demo_credentials(self) -> dict[str, str]:
        found = dict(re.findall(r"^\s+(TenantID|AppID|AppSecret)\s+(\S+)", self.stdout, re.M))
        assert set(found) == {"TenantID", "AppID", "AppSecret"}, self.stdout
        REGISTRY.secret(found["AppSecret"], "client secret")
        return found

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def client(self, **kwargs: Any) -> httpx.Client:
        verify: Any = self.ssl_context() if self.tls else False
        return httpx.Client(
            base_url=self.base_url,
            verify=verify,
            trust_env=False,
            timeout=15,
            event_hooks={"response": [_record_error_body]},
            **kwargs,
        )

    def kill(self) -> None:
        """SIGKILL the server and every worker: a crash, with no chance to clean up."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # workers are gone once the port is free
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _record_error_body(response: httpx.Response) -> None:
    """Remember every error body for the leak scan, and every token the server issues."""
    if response.status_code >= 400:
        response.read()
        REGISTRY.error_body(response.text)
    elif response.url.path.endswith("/oauth2/v2.0/token"):
        response.read()
        answer = response.json()
        for name, kind in (
            ("access_token", "access token"),
            ("id_token", "access token"),
            ("refresh_token", "refresh token"),
        ):
            if isinstance(answer.get(name), str):
                REGISTRY.secret(answer[name], kind)
    for cookie in response.headers.get_list("set-cookie"):
        name, _, rest = cookie.partition("=")
        if name.strip().endswith(("gg_session", "gg_signin", "gg_signin_challenge")):
            value = rest.split(";", 1)[0]
            if len(value) >= 16:
                REGISTRY.secret(value, "session id")


class Caller:
    """An app of a running server, holding a token and calling the API with it."""

    def __init__(self, server: Server, tenant: str, app_id: str, secret: str) -> None:
        self.server = server
        self.tenant = tenant
        with server.client() as client:
            answer = client.post(
                f"/{tenant}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": app_id,
                    "client_secret": secret,
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
        REGISTRY.secret(secret, "client secret")
        answer.raise_for_status()
        self.token = str(answer.json()["access_token"])
        REGISTRY.secret(self.token, "access token")
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.server.client() as client:
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return client.request(method, path, headers=headers, **kwargs)

    def invite(self, payload: Any) -> httpx.Response:
        return self.request("POST", "/api/InviteGuest", json=payload)

    @classmethod
    def demo(cls, server: Server) -> Caller:
        creds = server.demo_credentials()
        return cls(server, creds["TenantID"], creds["AppID"], creds["AppSecret"])

    @classmethod
    def new_app(cls, server: Server, tenant: str, *permissions: str) -> Caller:
        created = server.create_app(tenant, "test app", *permissions)
        return cls(server, created["TenantID"], created["AppID"], created["AppSecret"])


def race_invites(caller: Caller, spellings: list[str], count: int = 20) -> list[httpx.Response]:
    """`count` invites released at once from as many threads, cycling through `spellings`."""
    import threading

    barrier = threading.Barrier(count)
    answers: list[httpx.Response | None] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = caller.invite({"invitedUserEmailAddress": spellings[i % len(spellings)]})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]
