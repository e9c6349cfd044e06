"""Reading back tokens guestgate itself signed: ID token hints at logout, userinfo tokens.

The key is chosen by `kid` from our own key ring only, RS256 only, as in adapters/tokens.py.
"""

from __future__ import annotations

from typing import Any

import jwt

from guestgate.adapters.tokens import MAX_TOKEN_BYTES, PublicKeys
from guestgate.errors import AuthenticationError


async def decode_own_token(keys: PublicKeys, token: str, *, verify_exp: bool) -> dict[str, Any]:
    """The claims of a token we signed; `verify_exp=False` accepts an expired one (a hint)."""
    if len(token) > MAX_TOKEN_BYTES:
        raise AuthenticationError("the token is malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise AuthenticationError("the token is malformed") from None
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str) or "crit" in header:
        raise AuthenticationError("the token is not one of ours")
    key = await keys.public_key(kid)
    if key is None:
        raise AuthenticationError("the token was signed with an unknown key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_exp": verify_exp, "require": ["iss", "exp"]},
            leeway=60,
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the token has expired") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise AuthenticationError("the token is invalid") from None
    return claims
