"""The README's first steps, run as written: the token into $TOKEN, the invite, the .eml file.

The shell snippets are taken from README.md itself, so the README cannot drift from what
the service prints and writes.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ROOT, Server

pytestmark = pytest.mark.e2e
README = (ROOT / "README.md").read_text()
PRINTED = "curl -s http://127.0.0.1:8365/5c0e…/oauth2/v2.0/token -d grant_type=client_credentials …"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """On the defaults a user starts with: SQLite, no SMTP server (mail goes to var/mail)."""
    workdir: Path = tmp_path_factory.mktemp("readme")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db")
    server.start()
    yield server
    server.stop()


def readme_block(containing: str) -> str:
    """The README's fenced shell block that contains `containing`, without its indent."""
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        if containing in block:
            return "\n".join(line.strip() for line in block.splitlines())
    raise AssertionError(f"README.md has no bash block with {containing!r}")


def test_readme_token_and_invite_snippets_work_as_written(server: Server) -> None:
    [printed] = [
        line.strip() for line in server.stdout.splitlines() if line.strip().startswith("curl -s")
    ]
    get_token = readme_block("TOKEN=$(")
    assert PRINTED in get_token
    invite = readme_block("/api/InviteGuest")
    script = "\n".join(
        [
            get_token.replace(PRINTED, printed),
            invite.replace("http://127.0.0.1:8365", server.base_url),
        ]
    )
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=server.workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "PendingAcceptance"
    assert answer["invitedUserEmailAddress"] == "some.name@somedomain.org"

    # "guestgate outbox list shows each message's id, kind and recipient"; the file is <id>.eml.
    deadline = time.monotonic() + 20
    while True:
        rows = json.loads(server.cli("outbox", "list", "--json").stdout)
        [row] = [r for r in rows if r["recipient"] == "some.name@somedomain.org"]
        if row["status"] == "sent" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert row["kind"] == "invitation"
    assert row["status"] == "sent"
    path = server.workdir / "var" / "mail" / f"{row['id']}.eml"
    assert path.exists(), sorted(p.name for p in path.parent.glob("*"))
    assert row["id"] != answer["id"]  # the README says so: not the guest's id
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "some.name@somedomain.org"
    plain = message.get_body(("plain",))  # type: ignore[attr-defined]
    assert answer["inviteRedeemUrl"] in plain.get_content()
    newest = subprocess.run(
        ["bash", "-c", "ls -t var/mail/*.eml | head -1"],
        cwd=server.workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert newest == f"var/mail/{row['id']}.eml"


def test_log_lines_are_plain_json_without_color_message(server: Server) -> None:
    with server.client() as client:
        assert client.get("/healthz").status_code == 200
    lines = [line for line in server.logs().splitlines() if line.strip()]
    assert lines
    entries = [json.loads(line) for line in lines]
    assert any(e["logger"].startswith("uvicorn") for e in entries)  # uvicorn's start lines
    assert all("color_message" not in e for e in entries)
    assert "\x1b" not in server.logs()
