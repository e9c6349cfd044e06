"""The directory port: where guests live, behind one interface for both modes.

`LocalDirectory` (services/local_directory.py) keeps guests in guestgate's own database;
`GraphDirectory` (services/graph_directory.py) keeps them in a Microsoft 365 tenant through
Microsoft Graph. Neither decides policy: `InvitationService` (services/invitations.py) calls
the gate in services/governance.py first, and each directory hands every change it makes to
the `Record` callback it is given, inside the directory's own write transaction, so audit,
requester notifications and events are written once, the same way, in both modes. The gate
is run by the directory too, through `Gate`, because where it reads differs by mode: local
mode reads the policy in the invitation's own write transaction (no transaction of its own);
Microsoft 365 mode reads it in a short read and asks Graph about the requester afterwards,
before its own network call, so no transaction waits on the network.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from guestgate.domain.emails import EmailAddress
from guestgate.domain.invitation_policy import InvitationPolicy
from guestgate.domain.invitations import InviteRequest
from guestgate.domain.views import InvitationPage, InvitationQuery, InvitationView
from guestgate.errors import NotFound
from guestgate.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: the calling app (None from the CLI) and the request, for the audit trail.

    `permissions` are the app's, when guestgate checks them (None: from the CLI, or a token
    that graph mode forwards to Microsoft Graph, which then decides). `credential` is the
    caller's own bearer token, which graph mode forwards when guestgate has no app
    registration of its own in the tenant.
    """

    tenant_id: str
    app_id: str | None
    request_id: str | None = None
    tenant_name: str | None = None
    permissions: frozenset[str] | None = None
    credential: str | None = field(default=None, repr=False)
    user: str | None = None  # the signed-in person (the admin console), named in the audit


def invitation_not_found(ref: str) -> NotFound:
    """The 404 of every `/api/invitations/{id}` route, naming the ids they take."""
    return NotFound(
        f"There is no invitation or guest {ref[:64]} in this organization. The id may be the"
        " invitation's (invitationId) or the guest's user id (the id of the 201 answer).",
        code="InvitationNotFound",
    )


@dataclass(frozen=True, slots=True)
class Invited:
    """An invitation was made (`created`: with a new guest) for `request`."""

    view: InvitationView
    request: InviteRequest
    created: bool
    organization: str  # the inviting organization's name, for the requester's notification
    # The organization's own domains where the directory knows them but guestgate's database
    # does not (Microsoft 365 mode: the tenant's verified domains, read from Graph).
    organization_domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Resent:
    view: InvitationView


@dataclass(frozen=True, slots=True)
class Revoked:
    view: InvitationView


@dataclass(frozen=True, slots=True)
class UserDeleted:
    user_id: str
    email: str


Change = Invited | Resent | Revoked | UserDeleted
# Writes what governance keeps of a change (audit, notifications, events) in the directory's
# transaction; answers whether it queued mail, so the caller can wake the mail worker.
Record = Callable[[UnitOfWork, Actor, Change, datetime], Awaitable[bool]]


# Whether an address is a member of the tenant (not a guest): asked of the directory.
IsMember = Callable[[EmailAddress], Awaitable[bool]]


class Gate(Protocol):
    """The invitation gate (services/governance.py), in its two steps."""

    async def policy(self, uow: UnitOfWork, actor: Actor) -> InvitationPolicy:
        """The tenant's invitation policy, read in `uow`."""
        ...

    async def check(
        self, actor: Actor, request: InviteRequest, policy: InvitationPolicy, is_member: IsMember
    ) -> None:
        """Raises to refuse the invitation; `is_member` is asked only when a rule needs it."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """A change's answer, and whether mail was queued by it."""

    view: InvitationView
    mailed: bool


class Directory(Protocol):
    """The invitation use-cases as a directory carries them out."""

    name: str  # "local" or "graph": recorded in the audit trail
    # Whether guestgate is also the tenant's identity provider: it then serves sign-in, the
    # redemption pages and the Graph-compatible surface itself (local mode).
    is_identity_provider: bool

    async def invite(
        self, actor: Actor, request: InviteRequest, *, gate: Gate, record: Record
    ) -> Outcome:
        """Invite one address; a fresh redeem link on every call. `gate` is run first, and
        a refusal stores and sends nothing."""
        ...

    async def get(self, actor: Actor, invitation_id: str) -> InvitationView: ...

    async def list(self, actor: Actor, query: InvitationQuery) -> InvitationPage: ...

    async def resend(self, actor: Actor, invitation_id: str, *, record: Record) -> Outcome:
        """A new link and the email again, while the invitation is pending."""
        ...

    async def revoke(self, actor: Actor, invitation_id: str, *, record: Record) -> Outcome:
        """The invitation's link stops working."""
        ...

    async def delete_user(self, actor: Actor, ref: str, *, record: Record) -> None:
        """Delete an invited user by id or userPrincipalName; every link of theirs stops."""
        ...
