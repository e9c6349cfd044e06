"""Microsoft 365 mode's sponsors, accountEnabled, display names and deleted items, over
Microsoft Graph.

Graph is the directory: `GET|POST /users/{id}/sponsors[/$ref]`, `DELETE
/users/{id}/sponsors/{sponsorId}/$ref`, `PATCH /users/{id}` with `accountEnabled` or
`displayName`, and
`/directory/deletedItems`. Every call to Graph finishes before the short transaction that
writes the audit row, as in services/graph_directory.py: no transaction waits on the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from guestgate.domain.tenants import is_guid
from guestgate.domain.users import GUEST, DeletedUser, User, fold
from guestgate.errors import GraphRefused
from guestgate.services.directory import Actor
from guestgate.services.graph_directory import AppTokens, GraphApi
from guestgate.services.ports import UnitOfWork
from guestgate.services.user_admin import (
    AccountEnabledSet,
    DisplayNameSet,
    SponsorAdded,
    SponsorRemoved,
    UserChange,
    UserPurged,
    UserRecord,
    UserRestored,
)

FIELDS = (
    "id,displayName,mail,userPrincipalName,userType,externalUserState,"
    "externalUserStateChangeDateTime,creationType,createdDateTime,accountEnabled"
)
DELETED = "/v1.0/directory/deletedItems"


def _path(ref: str) -> str:
    """A user id or userPrincipalName as one path segment (a UPN holds '#')."""
    return quote(ref, safe="@")


def user_of(found: dict[str, Any], tenant_id: str) -> User:
    mail = str(found.get("mail") or "")
    return User(
        id=str(found.get("id") or ""),
        tenant_id=tenant_id,
        user_type=str(found.get("userType") or GUEST),
        display_name=str(found.get("displayName") or ""),
        mail=mail,
        email_key=fold(mail),
        user_principal_name=str(found.get("userPrincipalName") or ""),
        external_user_state=found.get("externalUserState"),
        external_user_state_changed_at=found.get("externalUserStateChangeDateTime"),
        creation_type=found.get("creationType"),
        created_at=str(found.get("createdDateTime") or ""),
        account_enabled=found.get("accountEnabled") is not False,
    )


def _deleted(found: dict[str, Any], tenant_id: str) -> DeletedUser:
    return DeletedUser(
        user=user_of(found, tenant_id),
        sponsors=(),
        deleted_at=str(found.get("deletedDateTime") or ""),
    )


class GraphUserAdmin:
    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        *,
        client: GraphApi,
        app_tokens: AppTokens | None,
        now: Callable[[], datetime],
    ) -> None:
        self.uow = uow
        self.client = client
        self.app_tokens = app_tokens
        self.now = now

    async def _token(self, actor: Actor) -> str:
        if self.app_tokens is not None:
            return await self.app_tokens.token()
        assert actor.credential is not None, "graph mode without an app needs the caller's token"
        return actor.credential

    async def _record(self, actor: Actor, record: UserRecord, change: UserChange) -> None:
        now = self.now()
        async with self.uow() as uow:
            await record(uow, actor, change, now)
            await uow.commit()

    async def _user(self, token: str, ref: str) -> dict[str, Any]:
        return dict(
            await self.client.call(
                "GET", f"/v1.0/users/{_path(ref)}", token=token, params={"$select": FIELDS}
            )
        )

    async def sponsors(self, actor: Actor, ref: str) -> Sequence[User]:
        answer = await self.client.call(
            "GET", f"/v1.0/users/{_path(ref)}/sponsors", token=await self._token(actor)
        )
        found = (answer or {}).get("value") or []
        return [user_of(s, actor.tenant_id) for s in found if isinstance(s, dict)]

    async def find(self, actor: Actor, ref: str) -> User | None:
        token = await self._token(actor)
        if "@" in ref and not is_guid(ref):
            # An address: Graph's mail filter first (a member's sign-in name may differ).
            literal = ref.replace("'", "''")
            answer = await self.client.call(
                "GET",
                "/v1.0/users",
                token=token,
                params={"$filter": f"mail eq '{literal}'", "$select": FIELDS, "$top": "1"},
            )
            found = [u for u in (answer or {}).get("value") or [] if isinstance(u, dict)]
            if found:
                return user_of(found[0], actor.tenant_id)
        try:
            return user_of(await self._user(token, ref), actor.tenant_id)
        except GraphRefused as exc:
            if exc.graph_status in (400, 404):
                return None
            raise

    async def add_sponsor(
        self, actor: Actor, ref: str, sponsor_id: str, *, record: UserRecord
    ) -> None:
        token = await self._token(actor)
        user = await self._user(token, ref)
        await self.client.call(
            "POST",
            f"/v1.0/users/{_path(ref)}/sponsors/$ref",
            token=token,
            json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{sponsor_id}"},
        )
        await self._record(actor, record, SponsorAdded(str(user.get("id")), sponsor_id))

    async def remove_sponsor(
        self, actor: Actor, ref: str, sponsor_id: str, *, record: UserRecord
    ) -> None:
        token = await self._token(actor)
        user = await self._user(token, ref)
        await self.client.call(
            "DELETE", f"/v1.0/users/{_path(ref)}/sponsors/{sponsor_id}/$ref", token=token
        )
        await self._record(actor, record, SponsorRemoved(str(user.get("id")), sponsor_id))

    async def set_account_enabled(
        self, actor: Actor, ref: str, enabled: bool, *, record: UserRecord
    ) -> None:
        token = await self._token(actor)
        user = await self._user(token, ref)
        if (user.get("accountEnabled") is not False) == enabled:
            return
        await self.client.call(
            "PATCH", f"/v1.0/users/{_path(ref)}", token=token, json={"accountEnabled": enabled}
        )
        await self._record(actor, record, AccountEnabledSet(str(user.get("id")), enabled))

    async def set_display_name(
        self, actor: Actor, ref: str, name: str, *, record: UserRecord
    ) -> None:
        token = await self._token(actor)
        user = await self._user(token, ref)
        before = str(user.get("displayName") or "")
        if before == name:
            return
        await self.client.call(
            "PATCH", f"/v1.0/users/{_path(ref)}", token=token, json={"displayName": name}
        )
        await self._record(actor, record, DisplayNameSet(str(user.get("id")), before, name))

    async def deleted(
        self, actor: Actor, *, after: tuple[str, str] | None, top: int
    ) -> Sequence[DeletedUser]:
        # Graph pages deleted items with its own skiptoken; this reads one page of up to 999
        # and pages it here, newest first, as local mode does.
        answer = await self.client.call(
            "GET",
            f"{DELETED}/microsoft.graph.user",
            token=await self._token(actor),
            params={"$top": "999"},
        )
        found = [
            _deleted(d, actor.tenant_id)
            for d in (answer or {}).get("value") or []
            if isinstance(d, dict)
        ]
        found.sort(key=lambda d: (d.deleted_at, d.user.id), reverse=True)
        if after is not None:
            found = [d for d in found if (d.deleted_at, d.user.id) < after]
        return found[: top + 1]

    async def get_deleted(self, actor: Actor, user_id: str) -> DeletedUser:
        answer = await self.client.call(
            "GET", f"{DELETED}/{user_id}", token=await self._token(actor)
        )
        return _deleted(dict(answer or {}), actor.tenant_id)

    async def restore(self, actor: Actor, user_id: str, *, record: UserRecord) -> User:
        answer = await self.client.call(
            "POST",
            f"{DELETED}/{user_id}/restore",
            token=await self._token(actor),
            safe_to_repeat=False,
        )
        user = user_of(dict(answer or {}), actor.tenant_id)
        await self._record(actor, record, UserRestored(user_id, user.email_key))
        return user

    async def purge(self, actor: Actor, user_id: str, *, record: UserRecord) -> None:
        token = await self._token(actor)
        found = await self.get_deleted(actor, user_id)
        await self.client.call("DELETE", f"{DELETED}/{user_id}", token=token)
        await self._record(actor, record, UserPurged(user_id, found.user.email_key, False))
