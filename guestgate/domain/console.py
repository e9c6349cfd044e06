"""The admin console's types: its sessions, and the guest list's filter and rows."""

from __future__ import annotations

from dataclasses import dataclass

from guestgate.domain.users import unstorable
from guestgate.errors import ValidationError

SESSION_SECONDS = 8 * 3600
# Deleting guests and adding secrets need a sign-in (a code entered) this recent.
RECENT_SIGN_IN_SECONDS = 600
# The states of the guest list, from the guest's latest invitation.
STATES = ("Pending", "Accepted", "Declined", "Revoked", "Expired")
SORTS = ("invited", "name", "email")
MAX_TEXT = 128
MAX_PENDING_DAYS = 3650


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    session_hash: str
    tenant_id: str
    user_id: str
    created_at: str
    expires_at: str
    ended_at: str | None = None
    signed_in_at: str | None = None  # when a code was last entered (auth_time); else created_at


@dataclass(frozen=True, slots=True)
class GuestFilter:
    """Which guests to list; the filters combine (AND). `within` narrows the list to the
    guests a person requested (by address) or sponsors (by user id), whatever else is asked."""

    state: str | None = None
    domain: str | None = None
    requester: str | None = None
    text: str | None = None
    sort: str = "invited"
    descending: bool = True
    after: tuple[str, str] | None = None  # keyset position: (sort value, user id)
    top: int = 50
    within: tuple[str, str] | None = None  # (requester address, sponsor user id)
    user_id: str | None = None  # one guest (its profile)
    pending_days: int | None = None  # Pending, invited at least this many days ago


@dataclass(frozen=True, slots=True)
class GuestRow:
    user_id: str
    display_name: str
    email: str
    state: str
    invited_at: str
    requester: str | None
    last_sign_in: str | None
    invitation_id: str | None
    sort_value: str
    sponsors: tuple[str, ...] = ()
    account_enabled: bool = True

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].lower()


def check_filter(
    *,
    state: str,
    domain: str,
    requester: str,
    text: str,
    sort: str,
    order: str,
    pending_days: str = "",
) -> GuestFilter:
    """A guest-list filter from the page's query; a bad value is named."""
    for name, value in (("domain", domain), ("requester", requester), ("text", text)):
        if len(value) > MAX_TEXT or unstorable(value):
            raise ValidationError(
                f"The {name} filter must be text of at most {MAX_TEXT} characters."
            )
    if state and state not in STATES:
        raise ValidationError(f"There is no state {state[:32]!r}; use one of {', '.join(STATES)}.")
    if sort and sort not in SORTS:
        raise ValidationError(f"Guests cannot be sorted by {sort[:32]!r}.")
    if order not in ("", "asc", "desc"):
        raise ValidationError("The order is asc or desc.")
    days = None
    if pending_days.strip():
        text_days = pending_days.strip()
        if not (text_days.isascii() and text_days.isdigit() and len(text_days) <= 4):
            raise ValidationError(
                f"Pending longer than is a whole number of days, 0 to {MAX_PENDING_DAYS}."
            )
        days = int(text_days)
        if days > MAX_PENDING_DAYS:
            raise ValidationError(
                f"Pending longer than is a whole number of days, 0 to {MAX_PENDING_DAYS}."
            )
    return GuestFilter(
        state=state or None,
        domain=domain.strip().lower().lstrip("@") or None,
        requester=requester.strip() or None,
        text=text.strip() or None,
        sort=sort or "invited",
        descending=order != "asc",
        pending_days=days,
    )
