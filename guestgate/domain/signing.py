"""Signing-key material and app tokens: RS256 keys, their JWKs, and the claims we sign.

Pure computation (no I/O): generating a key, turning a JWK back into a public key, and
signing a token's claims with the current key set. Validation lives with the verifier
(adapters/tokens.py), which is narrower than the JOSE specs allow.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def generate_rsa_key() -> tuple[str, bytes, dict[str, str]]:
    """A new RSA-2048 signing key (Microsoft's size): kid, PKCS#8 PEM, public JWK."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.public_key().public_numbers()
    n, e = _b64_int(numbers.n), _b64_int(numbers.e)
    # RFC 7638 thumbprint as kid: stable, derived from the key, no meaning to guess.
    thumbprint = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"))
    kid = _b64(hashlib.sha256(thumbprint.encode()).digest())
    jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e}
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return kid, pem, jwk


def public_key_from_jwk(jwk: dict[str, str]) -> RSAPublicKey:
    def num(field: str) -> int:
        raw = jwk[field]
        return int.from_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), "big")

    return rsa.RSAPublicNumbers(num("e"), num("n")).public_key()


@dataclass(frozen=True, slots=True)
class KeySet:
    """What one process knows of the signing keys at one moment."""

    signing_kid: str
    signing_key: RSAPrivateKey | None  # None for a key set we only verify with (a JWKS)
    public_keys: dict[str, RSAPublicKey]
    jwks: dict[str, Any]


def sign(keys: KeySet, claims: dict[str, Any]) -> str:
    assert keys.signing_key is not None
    return jwt.encode(
        claims, keys.signing_key, algorithm="RS256", headers={"kid": keys.signing_kid, "typ": "JWT"}
    )


def app_token_claims(
    *,
    issuer: str,
    audience: str,
    tenant_id: str,
    app_id: str,
    object_id: str,
    roles: Sequence[str],
    now: float,
    lifetime: int,
) -> dict[str, Any]:
    """Claims of an Entra v2 app-only access token."""
    issued = int(now)
    return {
        "aud": audience,
        "iss": issuer,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "azp": app_id,
        "azpacr": "1",
        "appid": app_id,
        "appidacr": "1",
        "idp": issuer,
        "idtyp": "app",
        "oid": object_id,
        "sub": object_id,
        "tid": tenant_id,
        "roles": list(roles),
        "ver": "2.0",
        "jti": str(uuid.uuid4()),
        "uti": _b64(uuid.uuid4().bytes),
    }
