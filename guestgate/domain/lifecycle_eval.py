"""What a lifecycle policy does to each guest, and when: a pure function of the guest's facts,
the policy and the time (passed in).

Every rule has a clock: the moment it starts counting from (the invitation, the last
sign-in, the last attestation, …), and a sponsor's keep moves every clock to the keep. A
guest is non-compliant from the first day a rule's threshold has passed; the enforcement
action falls due after the grace period (the rule's own, else the policy's); notices go out
on the schedule's days after non-compliance, before the action. The scheduler
(services/lifecycle_scheduler.py) and the dry run (`impact`) both read `timeline`, so a dry
run for a day is what the scheduler does on that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from guestgate.domain.lifecycle import (
    ATTESTATION,
    DELETE_ONLY,
    DISABLE_ONLY,
    INACTIVITY,
    REDEMPTION,
    SPONSORS,
    LifecyclePolicy,
    Rule,
)

NOTIFY = "notify"
DISABLE = "disable"
DELETE = "delete"
STEPS = (NOTIFY, DISABLE, DELETE)
# Graph's lifecyclePolicyImpactActionType for each step.
IMPACT_ACTION = {
    NOTIFY: "attestationNeededNotificationSent",
    DISABLE: "disabledDueToAttestationNonCompliance",
    DELETE: "deletedDueToAttestationNonCompliance",
}
MAX_IMPACT_WINDOW = timedelta(days=30)
DEFAULT_IMPACT_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class GuestFacts:
    """What the evaluation reads of one guest (adapters/sql/lifecycle.py gathers it)."""

    user_id: str
    display_name: str
    mail: str
    created_at: datetime
    pending: bool  # has not redeemed yet
    invited_at: datetime | None  # the latest invitation
    last_sign_in: datetime | None
    sponsors: tuple[str, ...] = ()
    kept_at: datetime | None = None  # the last keep of a sponsor
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class KeptAndInvited:
    """What guestgate's own database knows of a guest that lives in Entra: the last keep of a
    sponsor, and the latest invitation guestgate made for it."""

    kept_at: datetime | None
    invited_at: datetime | None


@dataclass(frozen=True, slots=True)
class Timeline:
    """One non-compliant guest's course under one policy version."""

    user_id: str
    rule: str  # the rule that acts first
    noncompliant_on: date
    notices: tuple[date, ...]
    disable_on: date | None
    delete_on: date | None

    def steps(self) -> list[tuple[str, date]]:
        """Every step with its due day, in the order they fall due."""
        out = [(NOTIFY, day) for day in self.notices]
        if self.disable_on is not None:
            out.append((DISABLE, self.disable_on))
        if self.delete_on is not None:
            out.append((DELETE, self.delete_on))
        return sorted(out, key=lambda s: (s[1], STEPS.index(s[0])))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _later(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def rule_start(rule: Rule, guest: GuestFacts, *, effective: datetime) -> date | None:
    """The first day `guest` breaks `rule`, or None if the rule does not apply."""
    keep = guest.kept_at
    if rule.kind == REDEMPTION:
        if not guest.pending:
            return None
        base = _later(guest.invited_at or guest.created_at, keep)
        return (base + timedelta(days=rule.value)).date()
    if rule.kind == INACTIVITY:
        if guest.pending:
            return None  # not redeemed: the redemption rule's case
        base = _later(guest.last_sign_in or guest.created_at, keep)
        return (base + timedelta(days=rule.value)).date()
    if rule.kind == ATTESTATION:
        return (_later(guest.created_at, keep) + timedelta(days=rule.value)).date()
    if rule.kind == SPONSORS:
        if len(guest.sponsors) >= rule.value:
            return None
        # When the last sponsor went is not known: counted from the policy version (or the
        # guest's creation, or a keep, whichever is later).
        return _later(guest.created_at, effective, keep).date()
    return None


def timeline(policy: LifecyclePolicy, guest: GuestFacts, *, effective: datetime) -> Timeline | None:
    """The guest's course under `policy` (in force since `effective`), or None if compliant."""
    best: tuple[date, date, Rule] | None = None
    for rule in policy.rules:
        if not rule.enabled:
            continue
        start = rule_start(rule, guest, effective=effective)
        if start is None:
            continue
        grace = policy.grace_days if rule.grace_days is None else rule.grace_days
        due = start + timedelta(days=grace)
        if best is None or due < best[1]:
            best = (start, due, rule)
    if best is None:
        return None
    start, due, rule = best
    notices = tuple(
        sorted(
            {start + timedelta(days=d) for d in policy.offsets if start + timedelta(days=d) < due}
        )
    )
    if policy.action == DISABLE_ONLY:
        disable, delete = due, None
    elif policy.action == DELETE_ONLY:
        disable, delete = None, due
    else:
        disable, delete = due, due + timedelta(days=policy.deletion_grace_days)
    return Timeline(guest.user_id, rule.kind, start, notices, disable, delete)


@dataclass(frozen=True, slots=True)
class DueStep:
    user_id: str
    step: str
    due_on: date


def due_steps(
    policy: LifecyclePolicy,
    guests: Iterable[GuestFacts],
    *,
    effective: datetime,
    today: date,
) -> list[DueStep]:
    """The steps due on or before `today` (the scheduler's work list, before it drops those
    already done)."""
    out: list[DueStep] = []
    for guest in guests:
        line = timeline(policy, guest, effective=effective)
        if line is None:
            continue
        out.extend(DueStep(guest.user_id, s, d) for s, d in line.steps() if d <= today)
    return out


def impact(
    policy: LifecyclePolicy,
    guests: Iterable[GuestFacts],
    *,
    effective: datetime,
    start: date,
    end: date,
) -> list[tuple[GuestFacts, list[tuple[str, date]]]]:
    """The dry run: each guest with the steps that fall due from `start` to `end` (both days
    included), in the order they fall due; guests with none are left out."""
    out: list[tuple[GuestFacts, list[tuple[str, date]]]] = []
    for guest in guests:
        line = timeline(policy, guest, effective=effective)
        if line is None:
            continue
        steps = [(s, d) for s, d in line.steps() if start <= d <= end]
        if steps:
            out.append((guest, steps))
    return out


def acts_at_once(
    policy: LifecyclePolicy,
    guests: Sequence[GuestFacts],
    *,
    effective: datetime,
    today: date,
    done: Set[tuple[str, str]] = frozenset(),
) -> list[DueStep]:
    """The disables and deletes a new version would do at its first run (due today or
    earlier): what a change must be confirmed for. `done` holds (user, step) already done."""
    if not policy.enabled:
        return []
    return [
        step
        for step in due_steps(policy, guests, effective=effective, today=today)
        if step.step != NOTIFY and (step.user_id, step.step) not in done
    ]


@dataclass(frozen=True, slots=True)
class StepKey:
    """What makes a step unique: it runs once, whatever number of workers look at it."""

    policy_id: str
    version: int
    user_id: str
    step: str
    due_on: str  # YYYY-MM-DD


@dataclass(frozen=True, slots=True)
class StepRow:
    key: StepKey
    status: str  # claimed, done
    claimed_at: str
    done_at: str | None


@dataclass(frozen=True, slots=True)
class Sponsor:
    id: str
    display_name: str
    mail: str
