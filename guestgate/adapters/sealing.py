"""Keys derived from the server secret: one for client-secret hashes, one to seal private keys."""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from guestgate.errors import ConfigError


def derive(secret_key: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret_key
    )


class Sealer:
    """AES-256-GCM for data at rest (signing keys), so a database dump holds no usable key."""

    def __init__(self, secret_key: bytes) -> None:
        self._aead = AESGCM(derive(secret_key, "guestgate signing-key seal v1"))

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = secrets.token_bytes(12)
        blob = nonce + self._aead.encrypt(nonce, plaintext, context.encode())
        return base64.urlsafe_b64encode(blob).decode()

    def open(self, sealed: str, context: str) -> bytes:
        blob = base64.urlsafe_b64decode(sealed)
        try:
            return self._aead.decrypt(blob[:12], blob[12:], context.encode())
        except InvalidTag:
            raise ConfigError(
                "a signing key cannot be decrypted: GUESTGATE_SECRET_KEY differs from the key"
                " the database was created with"
            ) from None


def secret_hash_key(secret_key: bytes) -> bytes:
    return derive(secret_key, "guestgate client-secret hash v1")
