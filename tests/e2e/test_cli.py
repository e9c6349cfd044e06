"""The command line as a user runs it: the README's run command, admin commands, bad config."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.server import GUESTGATE, ROOT, Caller, Server, free_port

pytestmark = pytest.mark.e2e


def test_readme_run_command_serves_and_prints_working_demo_credentials(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    run_command = re.search(r"^(make run)\b", readme, re.M)
    assert run_command, "the README opens with `make run`"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTGATE_")}
    env.update(
        {
            "GUESTGATE_DATABASE_URL": f"sqlite:///{tmp_path}/guestgate.db",
            "GUESTGATE_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
            "GUESTGATE_PORT": str(port),
            "GUESTGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
    )
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        process = subprocess.Popen(
            ["bash", "-c", run_command.group(1)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{port}/healthz", trust_env=False).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(out.read_text())
        printed = out.read_text()
        curl = next(
            line.strip() for line in printed.splitlines() if line.strip().startswith("curl ")
        )
        answer = subprocess.run(
            ["bash", "-c", curl], capture_output=True, text=True, check=True, env=env
        )
        token = json.loads(answer.stdout)["access_token"]
        org = httpx.get(
            f"http://127.0.0.1:{port}/v1.0/organization",
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
        )
        assert org.status_code == 200
        assert org.json()["value"][0]["displayName"] == "Contoso"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_admin_commands_with_json_output(tmp_path: Path) -> None:
    server = Server(workdir=tmp_path, database_url=f"sqlite:///{tmp_path}/gg.db")

    def cli(*args: str) -> dict:  # type: ignore[type-arg]
        return json.loads(server.cli(*args, "--json").stdout)

    assert cli("db", "upgrade")["revision"]  # other commands never create a database
    tenant = cli(
        "tenant",
        "create",
        "--name",
        "Fabrikam",
        "--domain",
        "fabrikam.example",
        "--domain",
        "fabrikam.org",
    )
    assert tenant["domains"] == ["fabrikam.example", "fabrikam.org"]
    assert [t["TenantID"] for t in cli("tenant", "list")] == [tenant["TenantID"]]
    app = cli(
        "app",
        "create",
        "--tenant",
        "fabrikam.org",
        "--name",
        "HR onboarding",
        "--permission",
        "User.Invite.All",
        "--permission",
        "User.Read.All",
        "--secret-expires",
        "90d",
    )
    assert set(app) >= {"AppID", "AppSecret", "TenantID"}
    assert app["TenantID"] == tenant["TenantID"]
    listed = cli("app", "list", "--tenant", tenant["TenantID"])
    assert [a["AppID"] for a in listed] == [app["AppID"]]
    assert app["AppSecret"] not in json.dumps(listed)
    added = cli(
        "app",
        "secret",
        "add",
        "--tenant",
        "fabrikam.example",
        "--app",
        app["AppID"],
        "--name",
        "next",
    )
    secrets_listed = cli(
        "app", "secret", "list", "--tenant", "fabrikam.example", "--app", app["AppID"]
    )
    assert {s["id"] for s in secrets_listed} == {app["secretId"], added["secretId"]}
    assert added["AppSecret"] not in json.dumps(secrets_listed)
    cli(
        "app",
        "secret",
        "remove",
        "--tenant",
        "fabrikam.example",
        "--app",
        app["AppID"],
        app["secretId"],
    )
    secrets_listed = cli(
        "app", "secret", "list", "--tenant", "fabrikam.example", "--app", app["AppID"]
    )
    assert [s["id"] for s in secrets_listed] == [added["secretId"]]
    first = cli("keys", "rotate")
    second = cli("keys", "rotate")
    statuses = {k["kid"]: k["status"] for k in cli("keys", "list")}
    assert statuses == {second["kid"]: "active", first["kid"]: "previous"}
    assert cli("db", "upgrade")["revision"]


def test_cli_errors_are_one_line_and_nonzero(tmp_path: Path) -> None:
    server = Server(workdir=tmp_path, database_url=f"sqlite:///{tmp_path}/gg.db")
    server.cli("db", "upgrade")
    missing = server.cli("app", "list", "--tenant", "nowhere.example", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"guestgate: TenantNotFound: no tenant 'nowhere.example' (database {server.database_url})"
    )
    bad = subprocess.run(
        [*GUESTGATE, "tenant", "list"],
        env={**server.env(), "GUESTGATE_PORT": "not-a-port"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert "GUESTGATE_PORT must be an integer" in bad.stderr
    bad_domain = server.cli(
        "tenant", "create", "--name", "X", "--domain", "not a domain", check=False
    )
    assert bad_domain.returncode == 1
    assert "InvalidDomain" in bad_domain.stderr


def listening_sockets(port: int) -> int:
    """Listening TCP sockets on the port: one per worker (each has its own, SO_REUSEPORT)."""
    rows = [ln.split() for ln in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for r in rows if r[1].endswith(f":{port:04X}") and r[3] == "0A")


def worker_processes(server: Server) -> list[psutil.Process]:
    assert server.process is not None
    children = psutil.Process(server.process.pid).children()
    return [p for p in children if "resource_tracker" not in " ".join(p.cmdline())]


def connections_per_worker(server: Server) -> list[int]:
    workers = worker_processes(server)
    return sorted(
        sum(
            1
            for c in w.net_connections(kind="tcp")
            if c.status == "ESTABLISHED" and c.laddr.port == server.port
        )
        for w in workers
    )


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_serve_with_two_workers_spreads_connections_and_replaces_a_dead_worker(
    tmp_path: Path,
) -> None:
    server = Server(
        workdir=tmp_path, database_url=f"sqlite:///{tmp_path}/gg.db", workers=2, demo=False
    )
    server.start()
    try:
        assert "AppSecret" not in server.stdout
        wait_for(lambda: listening_sockets(server.port) == 2)
        clients = [server.client() for _ in range(40)]
        try:
            assert all(c.get("/healthz").status_code == 200 for c in clients)
            # 40 kept-alive connections land on both workers (all on one: p = 2 ** -39).
            spread = connections_per_worker(server)
            assert len(spread) == 2
            assert min(spread) >= 1
            assert sum(spread) == 40
        finally:
            for c in clients:
                c.close()

        victim = worker_processes(server)[0]
        victim.kill()
        with server.client() as client:
            # Meanwhile every request is answered: new connections to the dead worker's
            # socket wait in its backlog for the replacement.
            for _ in range(30):
                assert client.get("/healthz", headers={"Connection": "close"}).status_code == 200
        wait_for(lambda: len(worker_processes(server)) == 2)
        assert victim.pid not in [p.pid for p in worker_processes(server)]
        wait_for(lambda: listening_sockets(server.port) == 2)
        assert json.loads(server.cli("tenant", "list", "--json").stdout) == []
        workers = worker_processes(server)
    finally:
        server.stop()
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)


def test_flags_reach_every_worker_process(tmp_path: Path) -> None:
    """`serve` hands its Settings to the workers: flag-only settings hold in both of them."""
    public_url = "https://guests.fabrikam.example"
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/gg.db",
        workers=2,
        flags=["--public-url", public_url, "--log-level", "warning"],
        mail_worker=False,
    )
    assert not {"GUESTGATE_PUBLIC_URL", "GUESTGATE_LOG_LEVEL"} & set(server.env())
    server.start()
    try:
        tenant = server.demo_credentials()["TenantID"]
        assert f"{public_url}/{tenant}/oauth2/v2.0/token" in server.stdout
        caller = Caller.demo(server)
        wait_for(lambda: listening_sockets(server.port) == 2)
        clients = [server.client(headers=caller.headers) for _ in range(40)]
        try:
            discovery = f"/{tenant}/v2.0/.well-known/openid-configuration"
            issuers = {c.get(discovery).json()["issuer"] for c in clients}
            invites = [
                c.post(
                    "/api/InviteGuest",
                    json={
                        "invitedUserEmailAddress": f"guest{i}@fabrikam.example",
                        "sendInvitationMessage": True,
                    },
                )
                for i, c in enumerate(clients)
            ]
            # 40 kept-alive connections land on both workers (all on one: p = 2 ** -39).
            spread = connections_per_worker(server)
        finally:
            for c in clients:
                c.close()
        assert len(spread) == 2
        assert min(spread) >= 1
        assert issuers == {f"{public_url}/{tenant}/v2.0"}
        assert {i.status_code for i in invites} == {201}
        assert {i.json()["inviteRedeemUrl"].split("/redeem/")[0] for i in invites} == {public_url}
        # --no-worker: neither worker delivers mail (a worker polls every second).
        time.sleep(2.5)
        pending = json.loads(server.cli("outbox", "list", "--json").stdout)
        assert len(pending) == 40
        assert {m["status"] for m in pending} == {"pending"}
        assert not list((tmp_path / "var" / "mail").glob("*.eml"))
        # --log-level warning: neither worker writes its info-level access lines.
        assert '"guestgate.access"' not in server.logs()
    finally:
        server.stop()


def test_serve_refuses_an_unusable_certificate_before_starting_workers(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    server = Server(workdir=tmp_path, database_url=f"sqlite:///{tmp_path}/gg.db")
    result = subprocess.run(
        [*GUESTGATE, "serve", "--workers", "2", "--tls-cert", "cert.pem", "--tls-key", "key.pem"],
        env=server.env(),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TLS certificate or key unusable" in result.stderr


def test_mail_test_command_writes_to_the_mail_folder(tmp_path: Path) -> None:
    server = Server(workdir=tmp_path, database_url=f"sqlite:///{tmp_path}/gg.db")
    result = json.loads(server.cli("mail", "test", "--to", "admin@example.com", "--json").stdout)
    assert result["sent"] is True
    files = list((tmp_path / "var" / "mail").glob("*.eml"))
    assert len(files) == 1
    assert b"To: admin@example.com" in files[0].read_bytes()
    unreachable = subprocess.run(
        [*GUESTGATE, "mail", "test", "--to", "admin@example.com"],
        env={**server.env(), "GUESTGATE_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert unreachable.returncode == 1
    assert "not delivered" in unreachable.stderr


NEWMAN = ROOT / "clients" / "postman" / "node_modules" / ".bin" / "newman"


@pytest.mark.skipif(
    not NEWMAN.exists() and not os.environ.get("CI"),
    reason="newman is not installed (make test installs it)",
)
def test_postman_collection_passes_with_newman(http_server: Server) -> None:
    creds = http_server.demo_credentials()
    postman = ROOT / "clients" / "postman"
    result = subprocess.run(
        [
            str(NEWMAN),
            "run",
            str(postman / "guestgate.postman_collection.json"),
            "--environment",
            str(postman / "guestgate.postman_environment.json"),
            "--env-var",
            f"baseUrl={http_server.base_url}",
            "--env-var",
            f"tenantId={creds['TenantID']}",
            "--env-var",
            f"clientId={creds['AppID']}",
            "--env-var",
            f"clientSecret={creds['AppSecret']}",
            "--bail",
            "--color",
            "off",
            "--disable-unicode",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = re.search(r"assertions\s*\S\s*(\d+)\s*\S\s*(\d+)", result.stdout)
    assert summary is not None, result.stdout[-2000:]
    assert (int(summary.group(1)), int(summary.group(2))) == (6, 0)
