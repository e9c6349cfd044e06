"""What the sign-in cases stand on: a member signed in once through the real pages (the
address, the one-time code from the mail folder, the code), so the browser holds a live
session cookie, and an app whose authorization requests that session answers at once."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from bench.harness import Guestgate

CALLBACK = "https://rp.bench.example/signin-oidc"
VERIFIER = "bench-pkce-verifier-" + "v" * 40  # 43 to 128 characters (RFC 7636)
SESSION_COOKIE = "gg_signin"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class SignedIn:
    """A live session of one member and a confidential app it signs in to."""

    cookie: str  # the Cookie header a browser with the session sends
    authorize_path: str  # path and query of an authorization request (PKCE S256)
    token_path: str
    token_form: str  # the authorization_code grant's form, without `code`

    def exchange_form(self, code: str) -> str:
        return f"{self.token_form}&code={quote(code, safe='')}"


def cli(server: Guestgate, *args: str) -> Any:
    """`guestgate ARGS --json` against the server's database; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "guestgate", *args, "--json"],
        env=server.env,
        cwd=server.workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout)


def _form(page: httpx.Response, action: str) -> dict[str, str]:
    found = re.search(
        rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', page.text, re.S
    )
    if found is None:
        raise RuntimeError(f"no form {action}: {page.status_code} {page.text[:500]}")
    return {
        k: unescape(v) for k, v in re.findall(r'name="([a-z_]+)" value="([^"]*)"', found.group(1))
    }


def _mailed_code(mail_dir: Path, address: str, timeout: float = 30) -> str:
    """The one-time code of the newest message to `address` in the mail folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml"), reverse=True) if mail_dir.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address not in str(message.get("To", "")):
                continue
            plain = message.get_body(("plain",))
            if plain is not None and (found := re.search(r"\b(\d{6})\b", plain.get_content())):
                return found.group(1)
        time.sleep(0.1)
    raise RuntimeError(f"no code mailed to {address} in {mail_dir}")


def signed_in(server: Guestgate) -> SignedIn:
    """A new member and app, and the member signed in once through the pages."""
    tenant = server.credentials()["TenantID"]
    address = f"bench.{uuid.uuid4().hex[:10]}@contoso.example"
    cli(server, "user", "create", "--tenant", tenant, "--email", address, "--name", "Bench Member")
    app = cli(
        server,
        "app",
        "create",
        "--tenant",
        tenant,
        "--name",
        "Bench RP",
        "--redirect-uri",
        CALLBACK,
    )
    query = {
        "client_id": app["AppID"],
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid profile offline_access",
        "state": "bench",
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
    }
    authorize_path = f"/{tenant}/oauth2/v2.0/authorize?{urlencode(query)}"
    with httpx.Client(base_url=server.base, follow_redirects=False, timeout=30) as http:
        page = http.get(authorize_path)
        started = http.post(
            "/signin/start", data={**_form(page, "/signin/start"), "email": address}
        )
        if started.status_code != 303:
            raise RuntimeError(f"sign-in start: {started.status_code} {started.text[:500]}")
        code = _mailed_code(Path(server.env["GUESTGATE_MAIL_DIR"]), address)
        page = http.get("/signin/code")
        verified = http.post("/signin/verify", data={**_form(page, "/signin/verify"), "code": code})
        if verified.status_code != 303 or not verified.headers["location"].startswith(CALLBACK):
            raise RuntimeError(f"sign-in verify: {verified.status_code} {verified.text[:500]}")
        session = http.cookies.get(SESSION_COOKIE)
    if not session:
        raise RuntimeError("no session cookie after the sign-in")
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "client_id": app["AppID"],
            "client_secret": app["AppSecret"],
            "redirect_uri": CALLBACK,
            "code_verifier": VERIFIER,
        }
    )
    return SignedIn(
        cookie=f"{SESSION_COOKIE}={session}",
        authorize_path=authorize_path,
        token_path=f"/{tenant}/oauth2/v2.0/token",
        token_form=form,
    )


def codes(server: Guestgate, session: SignedIn, count: int, *, threads: int = 4) -> list[str]:
    """`count` fresh authorization codes, each from an authorization request the session
    answers (a 303 to the app with `code`), made by `threads` keep-alive clients."""
    made: list[str] = []
    lock = threading.Lock()
    failures: list[str] = []

    def work(share: int) -> None:
        with httpx.Client(base_url=server.base, follow_redirects=False, timeout=30) as http:
            for _ in range(share):
                answer = http.get(session.authorize_path, headers={"Cookie": session.cookie})
                code = parse_qs(urlsplit(answer.headers.get("location", "")).query).get("code")
                if answer.status_code != 303 or not code:
                    failures.append(f"{answer.status_code} {answer.text[:300]}")
                    return
                with lock:
                    made.append(code[0])

    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=work, args=(n,)) for n in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise RuntimeError("authorize with the session failed: " + failures[0])
    return made
