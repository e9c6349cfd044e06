"""Console roles: who may see and do what in /admin, with Entra's role names.

A role is assigned to a member of the tenant (`guestgate role assign`). Global and User
administrators may do everything; a Reader sees everything and changes nothing; a Guest
inviter invites and sees the guests it invited; a Sponsor sees only the guests it sponsors
or requested.
"""

from __future__ import annotations

from dataclasses import dataclass

from guestgate.errors import ValidationError

GLOBAL_ADMINISTRATOR = "Global administrator"
USER_ADMINISTRATOR = "User administrator"
GUEST_INVITER = "Guest inviter"
SPONSOR = "Sponsor"
READER = "Reader"
ROLES = (GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, GUEST_INVITER, SPONSOR, READER)
_BY_KEY = {r.lower().replace(" ", ""): r for r in ROLES}


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
