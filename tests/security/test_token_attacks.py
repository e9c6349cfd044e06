"""Token and client attacks against a running guestgate.

Forged tokens are signed with guestgate's real signing key where the attack is in the claims
(the test owns the server's secret key, so it can open the sealed key as the server does), and
with an attacker's key where the attack is in the key material.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.signing import KeySet
from guestgate.domain.timestamps import utcnow
from guestgate.services.keys import load_key_set
from tests.e2e.server import Caller, Server
from tests.security.conftest import Unchanged

pytestmark = pytest.mark.e2e


class Listener:
    """An HTTP server on loopback that counts every request it gets (it must get none)."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def server_keys(server: Server) -> KeySet:
    async def load() -> KeySet:
        db = connect(server.database_url, pool_size=1)
        try:
            return await load_key_set(
                SqlUnitOfWork(db, write=False),
                sealer=Sealer(base64.urlsafe_b64decode(server.secret_key)),
                now=utcnow(),
            )
        finally:
            await db.close()

    return asyncio.run(load())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


ATTACKER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def attacker_jwk(kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(ATTACKER.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}


def flip(segment: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return b64(bytes(raw))


def forged_tokens(server: Server, caller: Caller, listener: Listener) -> dict[str, str]:
    keys = server_keys(server)
    assert keys.signing_key is not None
    good = claims_of(caller.token)
    kid = keys.signing_kid
    now = int(time.time())

    def ours(**changes: Any) -> str:
        """Signed by hand: PyJWT would refuse to encode some of these claims."""
        claims = {**good, "jti": str(uuid.uuid4()), **changes}
        claims = {k: v for k, v in claims.items() if v is not None}
        signing_input = ".".join(
            b64(json.dumps(part).encode())
            for part in ({"alg": "RS256", "typ": "JWT", "kid": kid}, claims)
        )
        assert keys.signing_key is not None
        signed = keys.signing_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64(signed)}"

    def theirs(headers: dict[str, Any]) -> str:
        return jwt.encode(good, ATTACKER, algorithm="RS256", headers=headers)

    public_pem = keys.public_keys[kid].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header, payload, signature = caller.token.split(".")
    hs_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': kid}).encode())}.{payload}"
    hs256 = hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest()
    other_tenant = str(uuid.uuid4())
    base = server.base_url
    return {
        "alg none": f"{b64(json.dumps({'alg': 'none'}).encode())}.{payload}.",
        "alg NONE": f"{b64(json.dumps({'alg': 'NONE', 'kid': kid}).encode())}.{payload}.",
        "HS256 with the public key as secret": f"{hs_input}.{b64(hs256)}",
        "kid of our key, attacker's signature": theirs({"kid": kid}),
        "jku to attacker keys": theirs({"kid": "evil", "jku": f"{listener.url}/jwks"}),
        "x5u to attacker cert": theirs({"kid": "evil", "x5u": f"{listener.url}/cert"}),
        "embedded jwk": theirs({"kid": "evil", "jwk": attacker_jwk("evil")}),
        "embedded jwk with our kid": theirs({"kid": kid, "jwk": attacker_jwk(kid)}),
        "crit exp": jwt.encode(good, keys.signing_key, "RS256", {"kid": kid, "crit": ["exp"]}),
        "crit unknown": jwt.encode(
            good, keys.signing_key, "RS256", {"kid": kid, "crit": ["x-unknown"]}
        ),
        "b64 false": jwt.encode(good, keys.signing_key, "RS256", {"kid": kid, "b64": False}),
        "aud of another app": ours(aud=str(uuid.uuid4())),
        "aud array with ours": ours(aud=[good["aud"], "api://other"]),
        "aud prefix": ours(aud=good["aud"] + ".evil"),
        "aud missing": ours(aud=None),
        "issuer prefix": ours(iss=f"{base}/"),
        "issuer trailing slash": ours(iss=good["iss"] + "/"),
        "issuer upper case": ours(iss=good["iss"].upper()),
        "issuer of another tenant": ours(iss=f"{base}/{other_tenant}/v2.0"),
        "issuer as array": ours(iss=[good["iss"]]),
        "tid of another tenant": ours(tid=other_tenant, iss=f"{base}/{other_tenant}/v2.0"),
        "tid missing": ours(tid=None),
        "expired beyond leeway": ours(exp=now - 400, nbf=now - 4000, iat=now - 4000),
        "exp missing": ours(exp=None),
        "exp not a number": ours(exp="abc"),
        "exp huge": ours(exp=10**400),
        "nbf beyond leeway": ours(nbf=now + 400),
        "roles as string": ours(roles="User.Invite.All"),
        "stripped signature": f"{header}.{payload}.",
        "flipped signature bit": f"{header}.{payload}.{flip(signature)}",
        "padding appended": f"{header}.{payload}.{signature}==",
        "five segments": f"{header}.{payload}.{signature}.x.y",
        "oversized": f"{header}.{payload}.{'A' * 600_000}",
    }


def test_forged_tokens_are_refused_and_fetch_nothing(
    server: Server, caller: Caller, listener: Listener, unchanged: Unchanged
) -> None:
    tokens = forged_tokens(server, caller, listener)
    with server.client() as client:
        for name, token in tokens.items():
            for method, path, body in (
                ("POST", "/api/InviteGuest", {"invitedUserEmailAddress": "forged@example.com"}),
                ("GET", "/v1.0/users", None),
            ):
                answer = client.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {token}"}
                )
                assert answer.status_code in (401, 431), (name, answer.status_code, answer.text)
                if answer.status_code == 401:
                    assert answer.headers["www-authenticate"].startswith("Bearer"), name
                    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
                    assert "Traceback" not in answer.text
    assert listener.hits == []


def test_near_the_leeway_is_accepted(server: Server, caller: Caller) -> None:
    """The counterpart of the refusals above: the same forging, inside the limits, works."""
    keys = server_keys(server)
    now = int(time.time())
    good = claims_of(caller.token)
    for changes in ({"exp": now - 200}, {"nbf": now + 60}):
        token = jwt.encode(
            {**good, "jti": str(uuid.uuid4()), **changes},
            keys.signing_key,
            algorithm="RS256",
            headers={"kid": keys.signing_kid},
        )
        answer = caller.request(
            "GET", "/v1.0/organization", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, (changes, answer.text)


def test_guessing_secrets_is_throttled_per_client_and_address(server: Server) -> None:
    """Ten wrong secrets from one address, then 429 for that client there; not elsewhere."""
    app = server.create_app("contoso.example", "target", "User.Invite.All")
    url = f"/{app['TenantID']}/oauth2/v2.0/token"

    def form(secret: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": app["AppID"],
            "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default",
        }

    with server.client() as attacker:
        statuses = [attacker.post(url, data=form(f"guess-{i}")).status_code for i in range(10)]
        assert statuses == [401] * 10
        throttled = attacker.post(url, data=form("guess-11"))
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        assert throttled.json()["error"] == "temporarily_unavailable"
        assert throttled.json()["error_codes"] == [90055]
        # Even the right secret waits: the throttle answers before any secret is checked.
        assert attacker.post(url, data=form(app["AppSecret"])).status_code == 429
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=server.base_url, transport=transport, trust_env=False) as owner:
        assert owner.post(url, data=form(app["AppSecret"])).status_code == 200
    logs = server.logs()
    assert app["AppSecret"] not in logs
    assert "guess-1" not in logs


def test_removed_secret_issues_no_tokens_and_retiring_keys_ends_old_ones(
    server: Server,
) -> None:
    """The policy (as Entra's): removing a secret stops new tokens at once; tokens already
    issued stay valid until they expire (at most GUESTGATE token lifetime, 1 h). To end them
    early, rotate the signing keys with --retire-previous."""
    created = server.create_app("contoso.example", "leaky", "User.Invite.All")
    leaked = Caller(server, created["TenantID"], created["AppID"], created["AppSecret"])
    secrets_listed = json.loads(
        server.cli(
            "app",
            "secret",
            "list",
            "--tenant",
            created["TenantID"],
            "--app",
            created["AppID"],
            "--json",
        ).stdout
    )
    secret_id = secrets_listed[0]["id"]
    server.cli(
        "app",
        "secret",
        "remove",
        "--tenant",
        created["TenantID"],
        "--app",
        created["AppID"],
        secret_id,
    )
    with server.client() as client:
        refused = client.post(
            f"/{created['TenantID']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": created["AppID"],
                "client_secret": created["AppSecret"],
                "scope": "https://graph.microsoft.com/.default",
            },
        )
    assert refused.status_code == 401
    assert leaked.request("GET", "/v1.0/organization").status_code == 200
    server.cli("keys", "rotate", "--retire-previous")
    deadline = time.monotonic() + 20  # the server reloads its keys every 2 s here
    while time.monotonic() < deadline:
        if leaked.request("GET", "/v1.0/organization").status_code == 401:
            break
        time.sleep(1)
    assert leaked.request("GET", "/v1.0/organization").status_code == 401
