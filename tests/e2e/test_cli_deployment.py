"""The CLI agrees with the server: links with the server's URL, and never a database of its own.

The server runs in its own directory with a key file, as `make run` does; the commands run
from a shell of their own in another directory, with nothing but the database URL set.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.e2e.server import GUESTGATE, Caller, Server

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://guests.fabrikam.example"


def shell(**variables: str) -> dict[str, str]:
    """A user's shell: none of the server's GUESTGATE_* variables, only what is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTGATE_")}
    return {**env, **variables}


def guestgate(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GUESTGATE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def server_with_key_file(workdir: Path, database_url: str, *flags: str) -> Server:
    # An empty GUESTGATE_SECRET_KEY: the server creates and uses ./var/secret.key.
    return Server(
        workdir=workdir,
        database_url=database_url,
        flags=list(flags),
        extra_env={"GUESTGATE_SECRET_KEY": ""},
    ).start()


def invitation_mail(server: Server, outbox_id: str) -> email.message.EmailMessage:
    path = server.workdir / "var" / "mail" / f"{outbox_id}.eml"
    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, sorted(p.name for p in path.parent.glob("*"))
        time.sleep(0.1)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_invite_send_from_another_shell_mails_and_stores_the_servers_links(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "server").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/server/var/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    server = server_with_key_file(tmp_path / "server", url, "--public-url", PUBLIC_URL)
    try:
        caller = Caller.demo(server)
        env = shell(GUESTGATE_DATABASE_URL=url)
        sent = guestgate(
            elsewhere, env, "invite", "ada@fabrikam.example", "--tenant", "contoso.example",
            "--send", "--json",
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        assert sent.stderr == ""
        invited = json.loads(sent.stdout)
        assert invited["inviteRedeemUrl"].startswith(f"{PUBLIC_URL}/redeem/?tenant=")

        stored = caller.request("GET", f"/api/invitations/{invited['invitationId']}").json()
        assert stored["inviteRedirectUrl"] == f"{PUBLIC_URL}/welcome?tenant={caller.tenant}"
        outbox = json.loads(guestgate(elsewhere, env, "outbox", "list", "--json").stdout)
        [row] = [r for r in outbox if r["recipient"] == "ada@fabrikam.example"]
        plain = invitation_mail(server, row["id"]).get_body(("plain",))
        assert plain is not None
        assert invited["inviteRedeemUrl"] in plain.get_content()

        # An explicit public URL in the shell still wins, with a warning naming both.
        other = guestgate(
            elsewhere, {**env, "GUESTGATE_PUBLIC_URL": "https://other.example"},
            "invite", "bo@fabrikam.example", "--tenant", "contoso.example", "--json",
        )  # fmt: skip
        assert other.returncode == 0, other.stderr
        assert json.loads(other.stdout)["inviteRedeemUrl"].startswith("https://other.example/")
        assert other.stderr.startswith("guestgate: warning: the public URL https://other.example")
        assert PUBLIC_URL in other.stderr
    finally:
        server.stop()
    assert sorted(p.name for p in elsewhere.iterdir()) == []


def test_invite_from_a_shell_follows_the_port_serve_listens_on(tmp_path: Path) -> None:
    """No public URL anywhere: the server's follows its port, and so do the CLI's links."""
    (tmp_path / "server").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite:///{tmp_path}/server/var/guestgate.db"
    server = Server(
        workdir=tmp_path / "server",
        database_url=url,
        extra_env={"GUESTGATE_SECRET_KEY": "", "GUESTGATE_PUBLIC_URL": ""},
    ).start()
    try:
        assert server.port != 8365
        sent = guestgate(
            elsewhere, shell(GUESTGATE_DATABASE_URL=url),
            "invite", "ada@fabrikam.example", "--tenant", "contoso.example", "--send", "--json",
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        link = json.loads(sent.stdout)["inviteRedeemUrl"]
        assert link.startswith(f"http://127.0.0.1:{server.port}/redeem/?tenant=")
        with server.client() as browser:
            assert browser.get(link.removeprefix(server.base_url)).status_code == 200
    finally:
        server.stop()
    assert sorted(p.name for p in elsewhere.iterdir()) == []


def test_a_command_from_another_directory_creates_nothing_and_names_the_database(
    tmp_path: Path,
) -> None:
    (tmp_path / "server").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The default database URL, relative: the server's is in its own directory.
    server = server_with_key_file(tmp_path / "server", "sqlite:///./var/guestgate.db")
    try:
        for command in (
            ["tenant", "list"],
            ["invite", "ada@contoso.example", "--tenant", "contoso.example", "--send"],
            ["app", "list", "--tenant", "contoso.example"],
            ["keys", "rotate"],
            ["outbox", "list"],
            ["worker"],
        ):
            refused = guestgate(elsewhere, shell(), *command)
            assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
            assert refused.stderr == (
                "guestgate: configuration error: no guestgate database at"
                f" sqlite:///./var/guestgate.db ({elsewhere}/var/guestgate.db); point this"
                " command at the server's database with --database-url or"
                " GUESTGATE_DATABASE_URL (`guestgate serve` and `guestgate db upgrade` create"
                " a new one)\n"
            )
        assert sorted(p.name for p in elsewhere.iterdir()) == []

        # Pointed at the server's database, it finds the server's key file from there.
        database = f"sqlite:///{tmp_path}/server/var/guestgate.db"
        flag = ["--database-url", database]
        listed = guestgate(elsewhere, shell(), *flag, "tenant", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [t["name"] for t in json.loads(listed.stdout)] == ["Contoso"]
        missing = guestgate(elsewhere, shell(), *flag, "app", "list", "--tenant", "nowhere.test")
        assert missing.returncode == 1
        assert missing.stderr == (
            f"guestgate: TenantNotFound: no tenant 'nowhere.test' (database {database})\n"
        )
        # Another key than the server's would hash secrets that never verify: refused.
        wrong_key = shell(GUESTGATE_SECRET_KEY="A" * 43)
        refused = guestgate(elsewhere, wrong_key, *flag, "tenant", "list")
        assert refused.returncode == 2
        assert "the secret key from GUESTGATE_SECRET_KEY is not the server's key" in refused.stderr
    finally:
        server.stop()
    assert sorted(p.name for p in elsewhere.iterdir()) == []


@pytest.mark.postgres
def test_postgres_databases_that_are_missing_or_empty_are_named_and_left_alone(
    tmp_path: Path, postgres_url_factory: Callable[[], str]
) -> None:
    empty = postgres_url_factory()
    refused = guestgate(tmp_path, shell(GUESTGATE_DATABASE_URL=empty), "tenant", "list")
    assert refused.returncode == 2
    assert f"no guestgate database at {empty};" in refused.stderr
    with psycopg.connect(empty) as conn:
        tables = conn.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)  # no schema was created in it

    host, _, name = empty.rpartition("/")
    with_password = host.replace("postgres@", "postgres:hunter2@") + f"/{name}_missing"
    absent = guestgate(tmp_path, shell(GUESTGATE_DATABASE_URL=with_password), "tenant", "list")
    assert absent.returncode == 2
    shown = with_password.replace(":hunter2@", ":***@")
    assert f"cannot open the database {shown}: " in absent.stderr
    assert "hunter2" not in absent.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
