"""Microsoft 365 mode's guest facts: the guests live in Entra and are read from Graph.

`GET /v1.0/users?$filter=userType eq 'Guest'&$select=…,signInActivity&$top=999`, paged by
`@odata.nextLink`; a guest's sponsors from `GET /v1.0/users/{id}/sponsors`, only when a rule
counts them. signInActivity needs AuditLog.Read.All besides User.Read.All. What Entra does not
hold stays in guestgate's database, keyed by the Entra user id: sponsors' keeps
(lifecycle_attestations) and the invitations guestgate made (graph_invitations). Every Graph
call finishes before the short read transaction that adds those; the client retries 429 after
Retry-After (adapters/graph.py), as every other Graph call of this mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from guestgate.domain.lifecycle_eval import GuestFacts, KeptAndInvited
from guestgate.domain.users import GUEST, PENDING
from guestgate.errors import GraphRefused, UpstreamFailed, UpstreamUnavailable
from guestgate.services.graph_directory import AppTokens, GraphApi
from guestgate.services.lifecycle_ports import LifecycleUnitOfWork

SELECT = (
    "id,displayName,mail,userPrincipalName,userType,createdDateTime,externalUserState,"
    "externalUserStateChangeDateTime,accountEnabled,signInActivity"
)
GUESTS = f"userType eq '{GUEST}'"
TOP = 999  # Graph's largest page of users


def _when(value: Any) -> datetime | None:
    """A Graph date and time (`2026-12-03T08:00:00Z`, fractions optional), None if absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def facts_of(
    found: dict[str, Any], local: KeptAndInvited | None, sponsors: tuple[str, ...]
) -> GuestFacts:
    """One Graph user as the rules read it. The latest invitation is the later of the one
    guestgate made and, while the guest has not redeemed, Entra's state change (an invitation
    sets PendingAcceptance)."""
    pending = found.get("externalUserState") == PENDING
    created = _when(found.get("createdDateTime"))
    invited = [local.invited_at] if local is not None and local.invited_at else []
    changed = _when(found.get("externalUserStateChangeDateTime"))
    if pending and changed is not None:
        invited.append(changed)
    activity = found.get("signInActivity")
    last = (
        _when(activity.get("lastSuccessfulSignInDateTime")) if isinstance(activity, dict) else None
    )
    return GuestFacts(
        user_id=str(found.get("id") or ""),
        display_name=str(found.get("displayName") or ""),
        mail=str(found.get("mail") or found.get("userPrincipalName") or ""),
        created_at=created or changed or datetime(1970, 1, 1, tzinfo=UTC),
        pending=pending,
        invited_at=max(invited) if invited else None,
        last_sign_in=last,
        sponsors=sponsors,
        kept_at=local.kept_at if local is not None else None,
        enabled=found.get("accountEnabled") is not False,
    )


class GraphGuestFacts:
    def __init__(
        self,
        uow: Callable[..., LifecycleUnitOfWork],
        *,
        client: GraphApi,
        app_tokens: AppTokens | None,
        graph_url: str,
        top: int = TOP,
    ) -> None:
        self.uow = uow
        self.top = top
        self.client = client
        self.app_tokens = app_tokens
        self.origin = urlsplit(graph_url)

    async def _token(self) -> str:
        if self.app_tokens is None:
            # Without guestgate's own app registration there is no token to read the tenant
            # with outside a caller's request (the scheduler, the CLI).
            raise UpstreamUnavailable(
                "Lifecycle policies in Microsoft 365 mode read the tenant's guests with"
                " guestgate's own app registration: set GUESTGATE_GRAPH_CLIENT_ID,"
                " GUESTGATE_GRAPH_CLIENT_SECRET and GUESTGATE_GRAPH_TENANT.",
                code="GraphCredentialsMissing",
            )
        return await self.app_tokens.token()

    def _next(self, link: Any) -> tuple[str, dict[str, str]]:
        """The path and query of Graph's next link; it must point back at Graph, which the
        app's token is meant for."""
        parts = urlsplit(link) if isinstance(link, str) else None
        if parts is None or (parts.scheme, parts.netloc) != (
            self.origin.scheme,
            self.origin.netloc,
        ):
            raise UpstreamFailed(
                "Microsoft Graph sent a next link to another address.", code="GraphError"
            )
        return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))

    async def _sponsors(self, token: str, user_id: str) -> tuple[str, ...]:
        answer = await self.client.call(
            "GET",
            f"/v1.0/users/{quote(user_id, safe='')}/sponsors",
            token=token,
            params={"$select": "id"},
        )
        found = (answer or {}).get("value") or []
        return tuple(str(s["id"]) for s in found if isinstance(s, dict) and s.get("id"))

    async def _page(
        self, tenant_id: str, token: str, users: list[dict[str, Any]], sponsors: bool
    ) -> list[GuestFacts]:
        ids = [str(u["id"]) for u in users]
        named = {i: await self._sponsors(token, i) for i in ids} if sponsors else {}
        async with self.uow(write=False) as uow:  # after the page's Graph calls
            local = await uow.lifecycle.kept(tenant_id, ids)
        return [facts_of(u, local.get(str(u["id"])), named.get(str(u["id"]), ())) for u in users]

    async def guests(self, tenant_id: str, *, sponsors: bool = True) -> AsyncIterator[GuestFacts]:
        token = await self._token()
        path = "/v1.0/users"
        params = {"$filter": GUESTS, "$select": SELECT, "$top": str(self.top)}
        while True:
            answer = await self.client.call("GET", path, token=token, params=params) or {}
            users = [
                u
                for u in answer.get("value") or []
                if isinstance(u, dict) and u.get("id") and u.get("userType", GUEST) == GUEST
            ]
            for guest in await self._page(tenant_id, token, users, sponsors):
                yield guest
            link = answer.get("@odata.nextLink")
            if not link:
                return
            path, params = self._next(link)

    async def guest(self, tenant_id: str, user_id: str) -> GuestFacts | None:
        token = await self._token()
        try:
            found = await self.client.call(
                "GET",
                f"/v1.0/users/{quote(user_id, safe='')}",
                token=token,
                params={"$select": SELECT},
            )
        except GraphRefused as exc:
            if exc.graph_status == 404:
                return None
            raise
        if not isinstance(found, dict) or found.get("userType") != GUEST:
            return None
        page = await self._page(tenant_id, token, [found], sponsors=True)
        return page[0]
