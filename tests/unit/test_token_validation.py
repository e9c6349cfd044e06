"""Every rule of bearer-token validation, against an in-memory key set."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from guestgate.adapters.tokens import KeyRing, TokenVerifier
from guestgate.domain.signing import (
    KeySet,
    app_token_claims,
    generate_rsa_key,
    public_key_from_jwk,
    sign,
)
from guestgate.errors import AuthenticationError

PUBLIC_URL = "https://id.test"
TENANT = "3b1cf3a6-8bc5-475c-9b88-c5d9264c8aa0"
AUDIENCES = frozenset({"https://graph.microsoft.com", "api://guestgate"})


def make_keyset(*kids_and_keys: tuple[str, bytes, dict[str, str]]) -> KeySet:
    signer_kid, signer_pem, _ = kids_and_keys[0]
    private = load_pem_private_key(signer_pem, password=None)
    return KeySet(
        signing_kid=signer_kid,
        signing_key=private,  # type: ignore[arg-type]
        public_keys={k: public_key_from_jwk(j) for k, _, j in kids_and_keys},
        jwks={"keys": [j for _, _, j in kids_and_keys]},
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key_a() -> tuple[str, bytes, dict[str, str]]:
    return generate_rsa_key()


@pytest.fixture(scope="module")
def key_b() -> tuple[str, bytes, dict[str, str]]:
    return generate_rsa_key()


@pytest.fixture
def keyset(key_a: Any) -> KeySet:
    return make_keyset(key_a)


@pytest.fixture
def verifier(keyset: KeySet) -> TokenVerifier:
    async def load() -> KeySet:
        return keyset

    return TokenVerifier(KeyRing(load), public_url=PUBLIC_URL, audiences=AUDIENCES)


def claims(**overrides: Any) -> dict[str, Any]:
    base = app_token_claims(
        issuer=f"{PUBLIC_URL}/{TENANT}/v2.0",
        audience="https://graph.microsoft.com",
        tenant_id=TENANT,
        app_id=str(uuid.uuid4()),
        object_id=str(uuid.uuid4()),
        roles=["User.Invite.All"],
        now=time.time(),
        lifetime=3600,
    )
    for key, value in overrides.items():
        if value is ...:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()), b64(signature)]
    )


def sign_raw(keyset: KeySet, payload: dict[str, Any]) -> str:
    """Sign any payload, even one PyJWT refuses to encode."""
    header = {"alg": "RS256", "kid": keyset.signing_kid, "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = keyset.signing_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.anyio
async def test_valid_token_yields_the_caller(verifier: TokenVerifier, keyset: KeySet) -> None:
    token = sign(keyset, claims())
    caller = await verifier.verify(token)
    assert caller.tenant_id == TENANT
    assert caller.roles == frozenset({"User.Invite.All"})


@pytest.mark.anyio
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_is_rejected(verifier: TokenVerifier, keyset: KeySet, alg: str) -> None:
    token = forge({"alg": alg, "kid": keyset.signing_kid}, claims())
    with pytest.raises(AuthenticationError):
        await verifier.verify(token)


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["pem", "der", "jwk", "n"])
async def test_hs256_signed_with_the_public_key_is_rejected(
    verifier: TokenVerifier, keyset: KeySet, encoding: str
) -> None:
    public = keyset.signing_key.public_key()
    secret = {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk": json.dumps(keyset.jwks["keys"][0]).encode(),
        "n": keyset.jwks["keys"][0]["n"].encode(),
    }[encoding]
    header = {"alg": "HS256", "kid": keyset.signing_kid, "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(AuthenticationError):
        await verifier.verify(f"{signing_input}.{b64(signature)}")


@pytest.mark.anyio
@pytest.mark.parametrize("alg", ["RS512", "PS256", "rs256", "ES256"])
async def test_other_algorithms_are_rejected(
    verifier: TokenVerifier, keyset: KeySet, alg: str
) -> None:
    token = sign(keyset, claims())
    header, payload, signature = token.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(header + "=="))
    tampered["alg"] = alg
    with pytest.raises(AuthenticationError):
        await verifier.verify(f"{b64(json.dumps(tampered).encode())}.{payload}.{signature}")


@pytest.mark.anyio
async def test_tampered_signature_and_payload_are_rejected(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    token = sign(keyset, claims())
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    with pytest.raises(AuthenticationError):
        await verifier.verify(f"{header}.{payload}.{b64(bytes(raw))}")
    other = b64(json.dumps(claims(roles=["User.ReadWrite.All"])).encode())
    with pytest.raises(AuthenticationError):
        await verifier.verify(f"{header}.{other}.{signature}")
    with pytest.raises(AuthenticationError):
        await verifier.verify(f"{header}.{payload}.")


@pytest.mark.anyio
async def test_key_outside_our_set_is_rejected_even_with_embedded_jwk_or_jku(
    verifier: TokenVerifier, key_b: Any
) -> None:
    attacker = make_keyset(key_b)
    kid, _, jwk = key_b
    for extra in (
        {},
        {"jwk": jwk},
        {"jku": "http://127.0.0.1:9/keys"},
        {"x5u": "http://127.0.0.1:9/c"},
    ):
        token = jwt.encode(
            claims(), attacker.signing_key, algorithm="RS256", headers={"kid": kid, **extra}
        )
        with pytest.raises(AuthenticationError, match="unknown key"):
            await verifier.verify(token)


@pytest.mark.anyio
async def test_kid_pointing_at_another_key_fails_signature(
    verifier: TokenVerifier, keyset: KeySet, key_b: Any
) -> None:
    attacker = make_keyset(key_b)
    token = jwt.encode(
        claims(), attacker.signing_key, algorithm="RS256", headers={"kid": keyset.signing_kid}
    )
    with pytest.raises(AuthenticationError):
        await verifier.verify(token)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "kid", ["../../../../dev/null", "' OR '1'='1", "\u0000", "k" * 10_000, 5, ["a"], {"a": 1}, None]
)
async def test_hostile_kid_values_are_rejected(
    verifier: TokenVerifier, keyset: KeySet, kid: Any
) -> None:
    with pytest.raises(AuthenticationError):
        await verifier.verify(forge({"alg": "RS256", "kid": kid}, claims(), b"x" * 256))


@pytest.mark.anyio
@pytest.mark.parametrize("crit", [["exp"], ["x-unknown"]])
async def test_crit_headers_are_rejected(
    verifier: TokenVerifier, keyset: KeySet, crit: list[str]
) -> None:
    token = jwt.encode(
        claims(),
        keyset.signing_key,
        algorithm="RS256",
        headers={"kid": keyset.signing_kid, "crit": crit, "x-unknown": 1, "exp": 1},
    )
    with pytest.raises(AuthenticationError):
        await verifier.verify(token)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": f"{PUBLIC_URL}/0f1e2d3c-4b5a-4978-8877-665544332211/v2.0"},
        {"iss": f"{PUBLIC_URL}/"},
        {"iss": f"{PUBLIC_URL}/{TENANT}/v2.0/"},
        {"iss": f"{PUBLIC_URL.upper()}/{TENANT}/v2.0"},
        {"iss": f"https://sts.windows.net/{TENANT}/"},
        {"iss": [f"{PUBLIC_URL}/{TENANT}/v2.0"]},
        {"iss": ...},
        {"aud": "api://guestgate-evil"},
        {"aud": ""},
        {"aud": ["https://graph.microsoft.com"]},
        {"aud": ["other", "https://graph.microsoft.com"]},
        {"aud": ...},
        {"tid": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"},
        {"tid": ...},
        {"tid": 5},
        {"exp": ...},
        {"nbf": ...},
        {"roles": "User.Invite.All"},
        {"roles": [1]},
    ],
    ids=lambda o: ",".join(f"{k}={v!r}"[:40] for k, v in o.items()),
)
async def test_claim_rules(
    verifier: TokenVerifier, keyset: KeySet, overrides: dict[str, Any]
) -> None:
    with pytest.raises(AuthenticationError):
        await verifier.verify(sign_raw(keyset, claims(**overrides)))


@pytest.mark.anyio
@pytest.mark.parametrize("exp", ["abc", -1, True, [], 1e400])
async def test_malformed_exp_is_rejected_not_crashing(
    verifier: TokenVerifier, keyset: KeySet, exp: Any
) -> None:
    with pytest.raises(AuthenticationError):
        await verifier.verify(sign_raw(keyset, claims(exp=exp)))


@pytest.mark.anyio
async def test_expiry_and_not_before_allow_at_most_five_minutes(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    now = int(time.time())
    await verifier.verify(sign(keyset, claims(exp=now - 290, iat=now - 4000, nbf=now - 4000)))
    with pytest.raises(AuthenticationError, match="expired"):
        await verifier.verify(sign(keyset, claims(exp=now - 310, iat=now - 4000, nbf=now - 4000)))
    await verifier.verify(sign(keyset, claims(nbf=now + 60)))
    with pytest.raises(AuthenticationError, match="not valid yet"):
        await verifier.verify(sign(keyset, claims(nbf=now + 310)))


@pytest.mark.anyio
@pytest.mark.parametrize(
    "token", ["", "a.b", "a.b.c.d", "a.b.c.d.e", "..", "@@.@@.@@", "eyJ9.e30.", "x" * 20_000]
)
async def test_malformed_compact_forms_are_rejected(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(AuthenticationError):
        await verifier.verify(token)


@pytest.mark.anyio
async def test_rotated_key_keeps_old_tokens_until_retired(key_a: Any, key_b: Any) -> None:
    current = {"keys": make_keyset(key_a)}
    clock = Clock()

    async def load() -> KeySet:
        return current["keys"]

    ring = KeyRing(load, clock=clock)
    verifier = TokenVerifier(ring, public_url=PUBLIC_URL, audiences=AUDIENCES)
    old_token = sign(current["keys"], claims())
    await verifier.verify(old_token)

    # Rotation: key B signs, key A still verifies.
    current["keys"] = make_keyset(key_b, key_a)
    new_token = sign(current["keys"], claims())
    clock.now += 6  # past the unknown-kid refresh throttle
    assert (await verifier.verify(new_token)).kid == key_b[0]
    assert (await verifier.verify(old_token)).kid == key_a[0]

    # Retirement: A leaves the set; a cached A token stops working at the next refresh.
    current["keys"] = make_keyset(key_b)
    clock.now += 31
    with pytest.raises(AuthenticationError):
        await verifier.verify(old_token)
    await verifier.verify(new_token)


@pytest.mark.anyio
async def test_unknown_kid_reload_is_single_flight_and_throttled(key_a: Any, key_b: Any) -> None:
    clock = Clock()
    loads = 0

    async def load() -> KeySet:
        nonlocal loads
        loads += 1
        return make_keyset(key_a)

    ring = KeyRing(load, clock=clock)
    verifier = TokenVerifier(ring, public_url=PUBLIC_URL, audiences=AUDIENCES)
    stranger = make_keyset(key_b)
    token = sign(stranger, claims())
    await ring.current()
    clock.now += 6
    results = await asyncio.gather(
        *(verifier.verify(token) for _ in range(100)), return_exceptions=True
    )
    assert all(isinstance(r, AuthenticationError) for r in results)
    assert loads == 2  # the first load plus one single-flight reload
    for _ in range(50):
        with pytest.raises(AuthenticationError):
            await verifier.verify(token)
    assert loads == 2


@pytest.mark.anyio
async def test_a_deleted_apps_tokens_stop_at_once_here_and_at_the_next_recheck_elsewhere(
    keyset: KeySet,
) -> None:
    existing: set[str] = set()
    clock = Clock()
    clock.now = time.time()

    async def load() -> KeySet:
        return keyset

    async def app_exists(tenant_id: str, app_id: str) -> bool:
        return tenant_id == TENANT and app_id in existing

    def verifier() -> TokenVerifier:
        return TokenVerifier(
            KeyRing(load),
            public_url=PUBLIC_URL,
            audiences=AUDIENCES,
            app_exists=app_exists,
            recheck_seconds=30,
            clock=clock,
        )

    here, elsewhere = verifier(), verifier()
    token = sign(keyset, claims())
    app_id = jwt.decode(token, options={"verify_signature": False})["appid"]
    with pytest.raises(AuthenticationError):
        await here.verify(token)  # no such app
    existing.add(app_id)
    await here.verify(token)
    await elsewhere.verify(token)
    existing.discard(app_id)
    here.forget_app(app_id)  # the process that deleted the app
    with pytest.raises(AuthenticationError):
        await here.verify(token)
    await elsewhere.verify(token)  # cached, until the recheck
    clock.now += 31
    with pytest.raises(AuthenticationError):
        await elsewhere.verify(token)
