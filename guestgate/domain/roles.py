"""Console roles: who may see and do what in /admin, with Entra's role names.

A role is assigned to a member of the tenant (`guestgate role assign`). Global and User
administrators may do everything; a Reader sees everything and changes nothing; a Guest
inviter invites and sees the guests it invited; a Sponsor sees only the guests it sponsors
or requested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from guestgate.errors import ValidationError

GLOBAL_ADMINISTRATOR = "Global administrator"
USER_ADMINISTRATOR = "User administrator"
GUEST_INVITER = "Guest inviter"
SPONSOR = "Sponsor"
READER = "Reader"
ROLES = (GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, GUEST_INVITER, SPONSOR, READER)
_BY_KEY = {r.lower().replace(" ", ""): r for r in ROLES}
# Entra's directory role template ids (the `wids` claim) of the console roles that are
# directory roles; Sponsor is guestgate's own. guestgate's ID tokens carry them for members
# holding these roles, as Entra's do, and the console reads them in Microsoft 365 mode.
DIRECTORY_ROLE_IDS = {
    GLOBAL_ADMINISTRATOR: "62e90394-69f5-4237-9190-012177145e10",
    USER_ADMINISTRATOR: "fe930be7-5e62-47f5-a3b1-9e5c1e2b3bdc",
    GUEST_INVITER: "95e79109-95c0-4d8e-aee3-d01accf2d47b",
    READER: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",  # Global Reader
}
ROLE_OF_DIRECTORY_ROLE = {v: k for k, v in DIRECTORY_ROLE_IDS.items()}


def directory_role_ids(roles: frozenset[str] | set[str]) -> list[str]:
    """The `wids` of these console roles, in a stable order."""
    return sorted(DIRECTORY_ROLE_IDS[r] for r in roles if r in DIRECTORY_ROLE_IDS)


def roles_of_directory_roles(wids: object) -> frozenset[str]:
    """The console roles a `wids` claim grants (unknown template ids grant none)."""
    if not isinstance(wids, list):
        return frozenset()
    return frozenset(
        ROLE_OF_DIRECTORY_ROLE[w]
        for w in wids[:256]
        if isinstance(w, str) and w in ROLE_OF_DIRECTORY_ROLE
    )


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    tenant_id: str
    user_id: str
    role: str
    assigned_at: str


@dataclass(frozen=True, slots=True)
class Access:
    """What a signed-in person's roles let them do in the console."""

    roles: frozenset[str]

    @property
    def sees_all(self) -> bool:
        return bool(self.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, READER})

    @property
    def may_invite(self) -> bool:
        return bool(self.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, GUEST_INVITER})

    @property
    def may_manage(self) -> bool:
        """Resend and revoke: administrators on every guest, the others on those they see."""
        return bool(self.roles - {READER})

    @property
    def may_see_events(self) -> bool:
        """The Webhooks and Activity pages: administrators, and readers (read only)."""
        return bool(self.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, READER})

    @property
    def may_manage_webhooks(self) -> bool:
        """Webhook endpoints receive every guest change: administrators only."""
        return bool(self.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR})

    @property
    def is_sponsor(self) -> bool:
        return SPONSOR in self.roles

    def may_change(self, *, sponsored: bool, requested: bool) -> bool:
        """Whether this person may resend or revoke this guest's invitation: administrators
        any guest's, Guest inviters and Sponsors only their own (a Reader's role adds none)."""
        if self.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR}:
            return True
        return (requested and bool(self.roles & {GUEST_INVITER, SPONSOR})) or (
            sponsored and self.is_sponsor
        )

    def may_see(self, *, sponsored: bool, requested: bool) -> bool:
        """Whether this person may open a guest they sponsor (`sponsored`) or requested."""
        if self.sees_all:
            return True
        return (requested and bool(self.roles & {GUEST_INVITER, SPONSOR})) or (
            sponsored and self.is_sponsor
        )


def parse_role(text: str) -> str:
    """A role by its name, in any case and spacing ("guest inviter", "GuestInviter")."""
    found = _BY_KEY.get(text.strip().lower().replace(" ", "").replace("-", ""))
    if found is None:
        raise ValidationError(
            f"There is no role {text[:64]!r}; the roles are: {', '.join(ROLES)}.",
            code="UnknownRole",
        )
    return found


class ConsolePerson(Protocol):
    """Who is signed in to either console, as the pages both share read them: local mode's
    services/console.py `Person` and Microsoft 365 mode's `M365Person`."""

    @property
    def access(self) -> Access: ...

    @property
    def email(self) -> str: ...

    @property
    def tenant_id(self) -> str: ...

    @property
    def user_id(self) -> str:
        """The person's object id in the directory."""
        ...
