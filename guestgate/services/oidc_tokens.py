"""The token endpoint's user grants: authorization_code (with PKCE) and refresh_token.

Codes are single use: a second redemption is refused and revokes the refresh tokens the
first one started (RFC 6749 §4.1.2). Refresh tokens rotate on every use; presenting a
retired one revokes its whole family (RFC 9700 §4.14.2). A user who may no longer sign in
(revoked, reset to pending, deleted) gets no token from either grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from guestgate.domain import oidc
from guestgate.domain.apps import App
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.roles import directory_role_ids
from guestgate.domain.signin import RefreshToken
from guestgate.domain.signing import KeySet, sign
from guestgate.domain.timestamps import iso, parse_iso
from guestgate.domain.users import MEMBER, User
from guestgate.errors import OAuthError
from guestgate.services.oidc_clients import Client, authenticate
from guestgate.services.ports import UnitOfWork
from guestgate.services.tokens import resolve_tenant

_DUMMY_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class Signer:
    """What minting user tokens needs from the process."""

    keys: KeySet
    public_url: str
    subject_key: bytes  # keys the pairwise `sub`
    hash_key: bytes  # keys the client-secret hashes
    lifetime: int


@dataclass(frozen=True, slots=True)
class UserTokens:
    """The token response: the fields MSAL reads."""

    access_token: str
    expires_in: int
    scope: str
    id_token: str | None
    refresh_token: str | None
    client_info: str | None


def invalid_grant(aadsts: int, description: str) -> OAuthError:
    return OAuthError("invalid_grant", aadsts, description)


@dataclass(frozen=True, slots=True)
class _Unsigned:
    """Tokens decided inside the transaction and signed after it: RSA signing takes most
    of a token request's CPU, and no write transaction should wait on it."""

    access: dict[str, Any]
    id_token: dict[str, Any] | None
    expires_in: int
    scope: str
    refresh_token: str | None
    client_info: str | None

    def signed(self, keys: KeySet) -> UserTokens:
        return UserTokens(
            access_token=sign(keys, self.access),
            expires_in=self.expires_in,
            scope=self.scope,
            id_token=None if self.id_token is None else sign(keys, self.id_token),
            refresh_token=self.refresh_token,
            client_info=self.client_info,
        )


async def _mint(
    uow: UnitOfWork,
    *,
    app: App,
    user: User,
    sid: str,
    scope: str,
    auth_time: str,
    nonce: str | None,
    family_id: str,
    client_info: bool,
    signer: Signer,
    now: datetime,
    rng: Randomness,
) -> _Unsigned:
    oidc_scopes, resource_scopes = oidc.split_scopes(scope)
    issuer = f"{signer.public_url}/{user.tenant_id}/v2.0"
    stamp = int(now.timestamp())
    audience_app = app
    audience, scp = app.id, " ".join(oidc_scopes)
    if resource_scopes:
        resource = oidc.resource_of(resource_scopes[0])
        assert resource is not None  # checked when the scope was accepted
        found = await uow.apps.get_by_app_id_uri(user.tenant_id, resource[0])
        assert found is not None
        audience_app, audience = found, resource[0]
        scp = " ".join(name for _, name in filter(None, map(oidc.resource_of, resource_scopes)))

    def subject(of: App) -> str:
        return oidc.pairwise_subject(
            signer.subject_key, tenant_id=user.tenant_id, app_id=of.id, user_id=user.id
        )

    access = oidc.user_access_token_claims(
        issuer=issuer,
        audience=audience,
        app=app,
        user=user,
        subject=subject(audience_app),
        scp=scp,
        sid=sid,
        now=stamp,
        lifetime=signer.lifetime,
        uti=rng.token(16),
    )
    id_token = None
    if "openid" in oidc_scopes:
        wids = None
        if user.user_type == MEMBER:
            wids = directory_role_ids(frozenset(await uow.roles.of_user(user.tenant_id, user.id)))
        id_token = oidc.id_token_claims(
            issuer=issuer,
            app_id=app.id,
            user=user,
            subject=subject(app),
            scopes=oidc_scopes,
            nonce=nonce,
            auth_time=int(parse_iso(auth_time).timestamp()),
            sid=sid,
            guest_idp=f"{signer.public_url}/guest-otp",
            now=stamp,
            lifetime=signer.lifetime,
            uti=rng.token(16),
            wids=wids,
        )
    refresh = None
    if "offline_access" in oidc_scopes:
        refresh = rng.token(32)
        await uow.signin.add_refresh_token(
            oidc.token_hash(refresh),
            RefreshToken(
                family_id=family_id,
                app_id=app.id,
                user_id=user.id,
                sid=sid,
                scope=scope,
                auth_time=auth_time,
                created_at=iso(now),
                expires_at=iso(now + timedelta(seconds=oidc.REFRESH_LIFETIME_SECONDS)),
            ),
        )
    return _Unsigned(
        access=access,
        id_token=id_token,
        expires_in=signer.lifetime,
        scope=scope,
        refresh_token=refresh,
        client_info=oidc.client_info(user.id, user.tenant_id) if client_info else None,
    )


async def redeem_code(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    client: Client,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
    client_info: bool,
    signer: Signer,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> UserTokens:
    """grant_type=authorization_code: the code, bound to its app, redirect URI and challenge."""
    refused: OAuthError | None = None
    async with uow:
        tenant = await resolve_tenant(uow, tenant_ref)
        app = await authenticate(uow, tenant, client, signer.hash_key, now)
        code_hash = oidc.token_hash(code)
        stored = await uow.signin.get_code(code_hash)
        family_id = rng.uuid()
        if stored is None or stored.app_id != app.id:
            raise invalid_grant(70000, "The provided authorization code is invalid.")
        if not await uow.signin.use_code(code_hash, family_id=family_id, now=iso(now)):
            # A replayed code: whatever its first redemption issued is revoked.
            if stored.family_id is not None:
                await uow.signin.revoke_family(stored.family_id, iso(now))
            await uow.commit()
            refused = invalid_grant(
                54005, "The authorization code was already redeemed; its tokens are revoked."
            )
        elif stored.expires_at <= iso(now):
            refused = invalid_grant(70008, "The provided authorization code has expired.")
        elif stored.redirect_uri != redirect_uri:
            refused = invalid_grant(
                50148, "The redirect_uri does not match the one the code was issued to."
            )
        elif stored.code_challenge is None and code_verifier is not None:
            # PKCE downgrade (RFC 9700 §2.1.1): a verifier for a code issued without challenge.
            refused = invalid_grant(
                50148, "A code_verifier was sent, but the authorization had no code_challenge."
            )
        elif stored.code_challenge is not None and (
            code_verifier is None or not oidc.pkce_matches(stored.code_challenge, code_verifier)
        ):
            refused = invalid_grant(
                501481, "The code_verifier does not match the code_challenge of the request."
            )
        if refused is not None:
            await uow.commit()  # the code is used up either way
        else:
            user = await uow.users.get(tenant.id, stored.user_id)
            if user is None or not oidc.may_sign_in(user):
                refused = invalid_grant(50057, "The user account is disabled or was removed.")
                await uow.commit()
            else:
                tokens = await _mint(
                    uow,
                    app=app,
                    user=user,
                    sid=stored.sid,
                    scope=stored.scope,
                    auth_time=stored.auth_time,
                    nonce=stored.nonce,
                    family_id=family_id,
                    client_info=client_info,
                    signer=signer,
                    now=now,
                    rng=rng,
                )
                await uow.commit()
    if refused is not None:
        raise refused
    return tokens.signed(signer.keys)


def _narrowed(granted: str, requested: str | None) -> str:
    """The refresh's scope: what was granted, or the subset the client asks for."""
    if not requested or not requested.split():
        return granted
    have = granted.split()
    extra = [s for s in requested.split() if s not in have]
    if extra:
        raise OAuthError(
            "invalid_scope", 70011, f"The scope '{extra[0]}' was not granted to this session."
        )
    return " ".join(s for s in have if s in requested.split() or s in oidc.OIDC_SCOPES)


async def refresh(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    client: Client,
    refresh_token: str,
    scope: str | None,
    client_info: bool,
    signer: Signer,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> UserTokens:
    """grant_type=refresh_token: rotate the token (atomically) and mint new tokens."""
    refused: OAuthError | None = None
    async with uow:
        tenant = await resolve_tenant(uow, tenant_ref)
        app = await authenticate(uow, tenant, client, signer.hash_key, now)
        token_hash = oidc.token_hash(refresh_token)
        stored = await uow.signin.get_refresh_token(token_hash)
        if stored is None or stored.app_id != app.id:
            raise invalid_grant(9002313, "The refresh token is invalid.")
        if not await uow.signin.rotate_refresh_token(token_hash, iso(now)):
            # Reuse of a rotated token: the thief and the owner look alike; end the family.
            await uow.signin.revoke_family(stored.family_id, iso(now))
            await uow.commit()
            refused = invalid_grant(
                70043, "The refresh token was already used or revoked; its family is revoked."
            )
        elif stored.expires_at <= iso(now):
            refused = invalid_grant(700082, "The refresh token has expired.")
            await uow.commit()
        else:
            user = await uow.users.get(tenant.id, stored.user_id)
            if user is None or not oidc.may_sign_in(user):
                await uow.signin.revoke_family(stored.family_id, iso(now))
                refused = invalid_grant(50057, "The user account is disabled or was removed.")
                await uow.commit()
            else:
                tokens = await _mint(
                    uow,
                    app=app,
                    user=user,
                    sid=stored.sid,
                    scope=_narrowed(stored.scope, scope),
                    auth_time=stored.auth_time,
                    nonce=None,
                    family_id=stored.family_id,
                    client_info=client_info,
                    signer=signer,
                    now=now,
                    rng=rng,
                )
                await uow.commit()
    if refused is not None:
        raise refused
    return tokens.signed(signer.keys)
