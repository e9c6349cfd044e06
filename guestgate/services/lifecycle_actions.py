"""The scheduler's actions over the directory's own use-cases, the same in both modes:
disable is accountEnabled false (services/user_admin.py), delete is the guest's soft delete
(services/invitations.py, kept 30 days in deleted items), sponsors are the user's."""

from __future__ import annotations

from collections.abc import Sequence

from guestgate.domain.lifecycle_eval import Sponsor
from guestgate.errors import NotFound
from guestgate.services.directory import Actor
from guestgate.services.invitations import InvitationService
from guestgate.services.user_admin import UserAdmin

ACTOR = "lifecycle policy"  # who the audit trail names for the scheduler's changes


class DirectoryLifecycleActions:
    def __init__(self, *, users: UserAdmin, invitations: InvitationService) -> None:
        self.users = users
        self.invitations = invitations

    def _actor(self, tenant_id: str) -> Actor:
        return Actor(tenant_id=tenant_id, app_id=None, user=ACTOR)

    async def disable(self, tenant_id: str, user_id: str) -> bool:
        try:
            await self.users.set_account_enabled(self._actor(tenant_id), user_id, False)
        except NotFound:
            return False  # deleted meanwhile
        return True

    async def delete(self, tenant_id: str, user_id: str) -> bool:
        try:
            await self.invitations.delete_user(self._actor(tenant_id), user_id)
        except NotFound:
            return False  # deleted already (a second run after a crash)
        return True

    async def sponsors_of(self, tenant_id: str, user_id: str) -> Sequence[Sponsor]:
        try:
            found = await self.users.sponsors(self._actor(tenant_id), user_id)
        except NotFound:
            return []
        return [Sponsor(u.id, u.display_name, u.mail) for u in found]
