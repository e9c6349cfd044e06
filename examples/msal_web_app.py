"""A small web app that signs its users in through guestgate with MSAL Python.

Only the standard library and `msal`. Configure it with environment variables and run it:

    GUESTGATE_AUTHORITY=https://127.0.0.1:8365/<TenantID> \\
    APP_CLIENT_ID=<AppID> APP_CLIENT_SECRET=<AppSecret> \\
    APP_REDIRECT_URI=http://localhost:5000/signin-oidc \\
    python examples/msal_web_app.py

Register the redirect URI first: `guestgate app create --tenant <tenant> --name "Sample"
--redirect-uri http://localhost:5000/signin-oidc`. `APP_CA_FILE` names a CA bundle to trust
(guestgate's dev certificate, say); `APP_SCOPES` adds API scopes (space-separated).

The flow MSAL keeps between the redirect and the answer lives in memory, keyed by its
`state` (guestgate's form post to the redirect URI is cross-site, so a SameSite cookie would
not come with it); the signed-in user is kept under a random cookie set once the answer is
in. Enough for a sample, not for several processes.
"""

from __future__ import annotations

import html
import os
import secrets
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msal
import requests

COOKIE = "sample_session"
FLOWS: dict[str, dict[str, Any]] = {}  # state → MSAL's auth code flow, until it is answered
USERS: dict[str, dict[str, Any]] = {}  # cookie → the signed-in user's ID token claims


def make_app() -> msal.ConfidentialClientApplication:
    http = requests.Session()
    http.trust_env = False
    http.verify = os.environ.get("APP_CA_FILE") or True
    return msal.ConfidentialClientApplication(
        os.environ["APP_CLIENT_ID"],
        client_credential=os.environ["APP_CLIENT_SECRET"],
        authority=os.environ["GUESTGATE_AUTHORITY"],
        instance_discovery=False,  # guestgate is not one of Microsoft's clouds
        http_client=http,
    )


APP = make_app()
REDIRECT_URI = os.environ["APP_REDIRECT_URI"]
SCOPES = os.environ.get("APP_SCOPES", "").split()


class Handler(BaseHTTPRequestHandler):
    def _session(self) -> str | None:
        jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
        return jar[COOKIE].value if COOKIE in jar else None

    def _page(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = f"<!DOCTYPE html><html lang='en'><title>Sample app</title><main>{body}</main>"
        self.send_response(status)
        for name, value in {"Content-Type": "text/html; charset=utf-8", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data.encode())))
        self.end_headers()
        self.wfile.write(data.encode())

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        session = self._session()
        if path == "/" and session in USERS:
            claims = USERS[session]
            name = html.escape(str(claims.get("name") or claims.get("preferred_username")))
            self._page(200, f"<h1>Hello, {name}</h1><p><a href='/logout'>Sign out</a></p>")
        elif path in ("/", "/login"):
            flow = APP.initiate_auth_code_flow(
                SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post"
            )
            FLOWS[flow["state"]] = flow
            self._page(302, "", {"Location": flow["auth_uri"]})
        elif path == "/logout":
            USERS.pop(session or "", None)
            authority = os.environ["GUESTGATE_AUTHORITY"]
            self._page(302, "", {"Location": f"{authority}/oauth2/v2.0/logout"})
        else:
            self._page(404, "<h1>Not found</h1>")

    def do_POST(self) -> None:
        if urlsplit(self.path).path != urlsplit(REDIRECT_URI).path:
            self._page(404, "<h1>Not found</h1>")
            return
        length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
        answer = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        flow = FLOWS.pop(answer.get("state", ""), None)
        if flow is None:
            self._page(400, "<h1>This sign-in has expired</h1><p><a href='/'>Start again</a></p>")
            return
        try:
            result = APP.acquire_token_by_auth_code_flow(flow, answer)
        except ValueError as exc:  # MSAL refuses a mismatched state
            self._page(400, f"<h1>Sign-in failed</h1><p>{html.escape(str(exc))}</p>")
            return
        if "id_token_claims" not in result:
            error = html.escape(str(result.get("error_description") or result.get("error")))
            self._page(400, f"<h1>Sign-in failed</h1><p>{error}</p>")
            return
        session = secrets.token_urlsafe(24)
        USERS[session] = result["id_token_claims"]
        cookie = f"{COOKIE}={session}; HttpOnly; Path=/; SameSite=Lax"
        self._page(303, "", {"Location": "/", "Set-Cookie": cookie})

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    port = int(os.environ.get("APP_PORT") or urlsplit(REDIRECT_URI).port or 5000)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"sample app on http://localhost:{port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
