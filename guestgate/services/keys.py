"""Token-signing key use-cases: create, rotate, list, and load the current key set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from guestgate.domain.keys import SigningKey, retirement_time
from guestgate.domain.signing import KeySet, generate_rsa_key, public_key_from_jwk
from guestgate.domain.timestamps import iso
from guestgate.errors import ConfigError
from guestgate.services.ports import Sealer, UnitOfWork

KeyGenerator = Callable[[], tuple[str, bytes, dict[str, str]]]


def _live(keys: Sequence[SigningKey], now: datetime) -> list[SigningKey]:
    moment = iso(now)
    return [k for k in keys if k.retire_at is None or k.retire_at > moment]


async def rotate_keys(
    uow: UnitOfWork,
    *,
    sealer: Sealer,
    now: datetime,
    token_lifetime: int,
    leeway: int,
    retire_previous_now: bool = False,
    generate: KeyGenerator = generate_rsa_key,
) -> SigningKey:
    """Create a new signing key; older keys verify until their last token has expired."""
    kid, pem, jwk = generate()
    key = SigningKey(kid=kid, public_jwk=jwk, created_at=iso(now), retire_at=None)
    retire_at = iso(
        now
        if retire_previous_now
        else retirement_time(now, token_lifetime=token_lifetime, leeway=leeway)
    )
    async with uow:
        for previous in _live(await uow.keys.list(), now):
            await uow.keys.set_retire_at(previous.kid, retire_at)
        await uow.keys.add(key, sealer.seal(pem, kid))
        await uow.commit()
    return key


async def ensure_signing_key(
    uow: UnitOfWork, *, sealer: Sealer, now: datetime, generate: KeyGenerator = generate_rsa_key
) -> bool:
    """Create the first signing key if there is no live one. Returns True when it did."""
    async with uow:
        if _live(await uow.keys.list(), now):
            return False
        kid, pem, jwk = generate()
        await uow.keys.add(
            SigningKey(kid=kid, public_jwk=jwk, created_at=iso(now), retire_at=None),
            sealer.seal(pem, kid),
        )
        await uow.commit()
    return True


async def list_keys(uow: UnitOfWork) -> Sequence[SigningKey]:
    """Every signing key, newest first."""
    async with uow:
        return await uow.keys.list()


async def load_key_set(uow: UnitOfWork, *, sealer: Sealer, now: datetime) -> KeySet:
    """The live keys: the newest signs, every live key verifies and is published in JWKS."""
    async with uow:
        live = _live(await uow.keys.list(), now)
        if not live:
            raise ConfigError("there is no signing key: run `guestgate keys rotate`")
        newest = max(live, key=lambda k: (k.created_at, k.kid))
        sealed = await uow.keys.sealed_private_key(newest.kid)
    assert sealed is not None
    private = load_pem_private_key(sealer.open(sealed, newest.kid), password=None)
    if not isinstance(private, RSAPrivateKey):
        raise ConfigError(f"signing key {newest.kid} is not an RSA key")
    return KeySet(
        signing_kid=newest.kid,
        signing_key=private,
        public_keys={k.kid: public_key_from_jwk(k.public_jwk) for k in live},
        jwks={"keys": [k.public_jwk for k in live]},
    )
