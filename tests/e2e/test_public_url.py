"""The public URL follows `serve --host/--port` unless it is set; a mismatch is reported."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import GUESTGATE, ROOT, Server, free_port

pytestmark = pytest.mark.e2e


@contextmanager
def make_run(tmp_path: Path, args: str) -> Iterator[tuple[Path, Path]]:
    """`make run ARGS="…"` with no GUESTGATE_PUBLIC_URL or GUESTGATE_PORT: (stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTGATE_")}
    env.update(
        {
            "GUESTGATE_DATABASE_URL": f"sqlite:///{tmp_path}/guestgate.db",
            "GUESTGATE_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
            "GUESTGATE_MAIL_DIR": str(tmp_path / "mail"),
        }
    )
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as sink, err.open("w") as errors:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"ARGS={args}"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=errors,
            start_new_session=True,
        )
    try:
        yield out, err
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_listening(base_url: str, out: Path, verify: bool | ssl.SSLContext = False) -> str:
    """The printed output once the server answers."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", verify=verify, trust_env=False).status_code == 200:
                return out.read_text()
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(out.read_text())


def token_from_printed_curl(printed: str) -> str:
    curl = next(line.strip() for line in printed.splitlines() if line.strip().startswith("curl "))
    answer = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, check=True)
    return str(json.loads(answer.stdout)["access_token"])


def test_serve_on_another_port_gives_links_and_issuer_on_that_port(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with make_run(tmp_path, f"--port {port}") as (out, err):
        printed = wait_until_listening(base, out)
        tenant = next(
            line.split()[1] for line in printed.splitlines() if line.strip().startswith("TenantID")
        )
        assert f"curl -s {base}/{tenant}/oauth2/v2.0/token " in printed
        token = token_from_printed_curl(printed)
        with httpx.Client(base_url=base, trust_env=False) as client:
            discovery = client.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()
            invited = client.post(
                "/api/InviteGuest",
                headers={"Authorization": f"Bearer {token}"},
                json={"invitedUserEmailAddress": "someone@example.org"},
            )
            assert invited.status_code == 201, invited.text
            link = invited.json()["inviteRedeemUrl"]
            assert client.get(link.removeprefix(base)).status_code == 200
        assert discovery["issuer"] == f"{base}/{tenant}/v2.0"
        assert discovery["token_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/token"
        assert link.startswith(f"{base}/redeem/?tenant={tenant}&")
        assert "guestgate: warning" not in err.read_text()


def test_serve_with_tls_and_no_public_url_hands_out_https_links(tmp_path: Path) -> None:
    subprocess.run(
        [*GUESTGATE, "dev-cert", "--out-dir", str(tmp_path)], check=True, capture_output=True
    )
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    tls = f"--tls-cert {tmp_path}/dev-cert.pem --tls-key {tmp_path}/dev-key.pem"
    trusted = ssl.create_default_context(cafile=str(tmp_path / "dev-cert.pem"))
    with make_run(tmp_path, f"--port {port} {tls}") as (out, err):
        printed = wait_until_listening(base, out, verify=trusted)
        assert f"curl -s -k {base}/" in printed
        tenant = next(
            line.split()[1] for line in printed.splitlines() if line.strip().startswith("TenantID")
        )
        discovery = httpx.get(
            f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
            verify=trusted,
            trust_env=False,
        ).json()
        assert discovery["issuer"] == f"{base}/{tenant}/v2.0"
        assert "guestgate: warning" not in err.read_text()


def test_a_public_url_that_does_not_lead_to_the_listen_address_is_a_warning(
    tmp_path: Path,
) -> None:
    public_url = f"http://127.0.0.1:{free_port()}"
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/gg.db",
        flags=["--public-url", public_url],
    )
    server.start()
    try:
        warnings = [line for line in server.logs().splitlines() if "guestgate: warning" in line]
        assert warnings == [
            f"guestgate: warning: the public URL {public_url} does not lead to the listen"
            f" address http://127.0.0.1:{server.port}; links, the token issuer and the"
            " discovery document use the public URL (fine behind a proxy that forwards to"
            " this address)"
        ]
        tenant = server.demo_credentials()["TenantID"]
        with server.client() as client:  # still served, on the public URL's terms
            issuer = client.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()
        assert issuer["issuer"] == f"{public_url}/{tenant}/v2.0"
    finally:
        server.stop()
    matching = Server(workdir=tmp_path, database_url=f"sqlite:///{tmp_path}/other.db").start()
    try:
        assert "guestgate: warning" not in matching.logs()
    finally:
        matching.stop()
