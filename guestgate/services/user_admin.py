"""A user's sponsors, its accountEnabled and display name, and deleted users: the use-cases
and their port.

`UserDirectory` is carried out by local mode (services/local_user_admin.py, guestgate's
database) and by Microsoft 365 mode (services/graph_user_admin.py, Microsoft Graph's
`/users/{id}/sponsors`, `PATCH /users/{id}` and `/directory/deletedItems`). Each write hands
what changed to `record_user_change` inside the directory's own write transaction, as the
invitation use-cases hand theirs to governance (services/directory.py), so the audit trail
and the events (user.disabled, user.enabled, user.restored) are the same in both modes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from guestgate.domain import events as event_types
from guestgate.domain.invitations import MAX_DISPLAY_NAME
from guestgate.domain.tenants import is_guid
from guestgate.domain.text import check_text
from guestgate.domain.timestamps import iso
from guestgate.domain.users import DeletedUser, User
from guestgate.errors import ValidationError
from guestgate.services import events
from guestgate.services.directory import Actor
from guestgate.services.ports import UnitOfWork

RETENTION_DAYS = 30  # Entra keeps deleted users for 30 days


@dataclass(frozen=True, slots=True)
class SponsorAdded:
    user_id: str
    sponsor_id: str


@dataclass(frozen=True, slots=True)
class SponsorRemoved:
    user_id: str
    sponsor_id: str


@dataclass(frozen=True, slots=True)
class AccountEnabledSet:
    user_id: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class DisplayNameSet:
    user_id: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class UserRestored:
    user_id: str
    email: str


@dataclass(frozen=True, slots=True)
class UserPurged:
    user_id: str
    email: str
    expired: bool  # purged by the worker after the retention, not on request


UserChange = (
    SponsorAdded | SponsorRemoved | AccountEnabledSet | DisplayNameSet | UserRestored | UserPurged
)
UserRecord = Callable[[UnitOfWork, Actor, UserChange, datetime], Awaitable[None]]


def object_id(value: str, *, what: str = "object") -> str:
    """A directory object id as Graph takes it: a GUID, or 400 Request_BadRequest."""
    if not is_guid(value):
        raise ValidationError(
            f"Invalid {what} identifier '{value[:64]}'.", code="Request_BadRequest"
        )
    return value.lower()


def check_display_name(text: str) -> str:
    """A display name as a user takes it: printable text, at most 256 characters; 400."""
    return check_text(
        text, field="The display name", code="InvalidDisplayName", max_length=MAX_DISPLAY_NAME
    ).strip()


class UserDirectory(Protocol):
    """Sponsors, accountEnabled and deleted items, as a directory carries them out."""

    async def sponsors(self, actor: Actor, ref: str) -> Sequence[User]: ...

    async def find(self, actor: Actor, ref: str) -> User | None:
        """A user by object id, userPrincipalName or address; None when there is none."""
        ...

    async def add_sponsor(
        self, actor: Actor, ref: str, sponsor_id: str, *, record: UserRecord
    ) -> None: ...

    async def remove_sponsor(
        self, actor: Actor, ref: str, sponsor_id: str, *, record: UserRecord
    ) -> None: ...

    async def set_account_enabled(
        self, actor: Actor, ref: str, enabled: bool, *, record: UserRecord
    ) -> None: ...

    async def set_display_name(
        self, actor: Actor, ref: str, name: str, *, record: UserRecord
    ) -> None: ...

    async def deleted(
        self, actor: Actor, *, after: tuple[str, str] | None, top: int
    ) -> Sequence[DeletedUser]:
        """Newest first, `top` + 1 at most (one more tells there is a next page)."""
        ...

    async def get_deleted(self, actor: Actor, user_id: str) -> DeletedUser: ...

    async def restore(self, actor: Actor, user_id: str, *, record: UserRecord) -> User: ...

    async def purge(self, actor: Actor, user_id: str, *, record: UserRecord) -> None: ...


_ACTIONS = {
    SponsorAdded: "user.sponsor.add",
    SponsorRemoved: "user.sponsor.remove",
    UserRestored: "user.restore",
    UserPurged: "user.purge",
}


def _event(change: UserChange) -> str | None:
    """The event a change owes webhooks and the feed (sponsor changes and purges owe none)."""
    match change:
        case AccountEnabledSet(enabled=enabled):
            return event_types.USER_ENABLED if enabled else event_types.USER_DISABLED
        case UserRestored():
            return event_types.USER_RESTORED
    return None


def user_record(directory: str) -> UserRecord:
    """The audit row of each change, naming the directory (local or graph) that made it, and
    its event, in the same transaction; the event's data is user.deleted's: the user's id and
    the actor."""

    async def record(uow: UnitOfWork, actor: Actor, change: UserChange, now: datetime) -> None:
        details: dict[str, Any] = {"directory": directory}
        match change:
            case AccountEnabledSet(enabled=enabled):
                action = "user.enable" if enabled else "user.disable"
            case DisplayNameSet(before=before, after=after):
                action = "user.update"
                details["displayName"] = {"from": before, "to": after}
            case SponsorAdded(sponsor_id=sponsor) | SponsorRemoved(sponsor_id=sponsor):
                action = _ACTIONS[type(change)]
                details["sponsorId"] = sponsor
            case UserRestored(email=email) | UserPurged(email=email):
                action = _ACTIONS[type(change)]
                details["email"] = email
                if isinstance(change, UserPurged) and change.expired:
                    details["reason"] = "retention"
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id or None,
            actor=actor.user,
            action=action,
            target=change.user_id,
            request_id=actor.request_id,
            created_at=iso(now),
            details=details,
        )
        event_type = _event(change)
        if event_type is not None:
            data = {"userId": change.user_id}
            data |= event_types.actor_data(actor.app_id or None, actor.request_id)
            await events.emit(
                uow, tenant_id=actor.tenant_id, event_type=event_type, data=data, now=now
            )

    return record


class UserAdmin:
    """What the Graph surface, the console and the CLI call, the same in both modes."""

    def __init__(self, directory: UserDirectory, *, name: str) -> None:
        self.directory = directory
        self.record = user_record(name)

    async def sponsors(self, actor: Actor, ref: str) -> Sequence[User]:
        """The user's sponsors, in the order they were added."""
        return await self.directory.sponsors(actor, ref)

    async def find(self, actor: Actor, ref: str) -> User | None:
        """A user by object id, userPrincipalName or address (as a person names a sponsor)."""
        return await self.directory.find(actor, ref.strip())

    async def add_sponsor(self, actor: Actor, ref: str, sponsor_id: str) -> None:
        """One more sponsor (at most five)."""
        await self.directory.add_sponsor(
            actor, ref, object_id(sponsor_id, what="sponsor"), record=self.record
        )

    async def remove_sponsor(self, actor: Actor, ref: str, sponsor_id: str) -> None:
        await self.directory.remove_sponsor(
            actor, ref, object_id(sponsor_id, what="sponsor"), record=self.record
        )

    async def set_account_enabled(self, actor: Actor, ref: str, enabled: bool) -> None:
        """Disable (no redemption, no sign-in, refresh tokens end) or enable again."""
        await self.directory.set_account_enabled(actor, ref, enabled, record=self.record)

    async def set_display_name(self, actor: Actor, ref: str, name: str) -> str:
        """A new display name (Graph's `PATCH /users/{id}` with displayName), audited as
        user.update with the old and new name; the name as stored."""
        checked = check_display_name(name)
        await self.directory.set_display_name(actor, ref, checked, record=self.record)
        return checked

    async def deleted(
        self, actor: Actor, *, after: tuple[str, str] | None = None, top: int = 100
    ) -> Sequence[DeletedUser]:
        return await self.directory.deleted(actor, after=after, top=top)

    async def get_deleted(self, actor: Actor, user_id: str) -> DeletedUser:
        return await self.directory.get_deleted(actor, object_id(user_id))

    async def restore(self, actor: Actor, user_id: str) -> User:
        """Bring a deleted user back with its id, sponsors and state."""
        return await self.directory.restore(actor, object_id(user_id), record=self.record)

    async def purge(self, actor: Actor, user_id: str) -> None:
        """Delete a deleted user for good."""
        await self.directory.purge(actor, object_id(user_id), record=self.record)
