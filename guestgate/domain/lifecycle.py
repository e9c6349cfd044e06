"""Guest lifecycle policies in the shape of Graph's `guestLifecyclePolicy`: pure rules.

A policy holds up to 10 rules, combined with AND (a guest who breaks any enabled rule is
non-compliant), a grace period, an enforcement action and a notification schedule.
`parse_policy` turns Graph's JSON into a `LifecyclePolicy`, checking every field with
Entra's limits where it has them and naming the field in the error; `policy_json` turns it
back. The evaluation (what happens to whom, and when) is domain/lifecycle_eval.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from guestgate.errors import ValidationError

NS = "#microsoft.graph.identityGovernance."
POLICY_TYPE = f"{NS}guestLifecyclePolicy"
SETTINGS_TYPE = f"{NS}lifecyclePolicyNotificationSettings"
REDEMPTION = "invitationRedemptionRule"
INACTIVITY = "inactivityRule"
ATTESTATION = "periodicAttestationRule"
SPONSORS = "sponsorPresenceRule"
DISABLE_ONLY = "disableOnlyEnforcementAction"
DELETE_ONLY = "deleteOnlyEnforcementAction"
DISABLE_THEN_DELETE = "disableThenDeleteEnforcementAction"
ACTIONS = (DISABLE_ONLY, DELETE_ONLY, DISABLE_THEN_DELETE)

# Each rule's own property, its range, and the `ruleType` the create response echoes.
RULES: dict[str, tuple[str, int, int, str]] = {
    REDEMPTION: ("invitationRedemptionThresholdInDays", 1, 30, "invitationRedemption"),
    INACTIVITY: ("lastActivityThresholdInDays", 1, 3650, "inactivity"),
    ATTESTATION: ("attestationIntervalInDays", 1, 3650, "periodicAttestation"),
    SPONSORS: ("minimumSponsorCount", 1, 5, "sponsorPresence"),
}
MAX_POLICIES = 10  # per subject type per tenant
MAX_RULES = 10
MAX_GRACE = 30
MAX_DELETION_GRACE = 30
MAX_OFFSETS = 10
MAX_FALLBACK = 10
MAX_NAME = 256
MAX_DESCRIPTION = 1024

POLICIES_LIMIT = "lifecyclePoliciesPerSubjectLimitExceeded"
RULES_LIMIT = "lifecyclePolicyRulesLimitExceeded"
INVALID = "invalidLifecyclePolicy"
READ_ONLY = ("id", "policySource", "versionNumber", "createdDateTime", "lastModifiedDateTime")
_POLICY_FIELDS = frozenset(
    (
        "displayName",
        "description",
        "isEnabled",
        "gracePeriodInDays",
        "enforcementAction",
        "notificationSchedule",
        "scope",
        "rules",
        *READ_ONLY,
    )
)


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str  # one of RULES
    value: int  # the rule's own threshold
    enabled: bool = True
    id: str = ""
    grace_days: int | None = None  # v1.0's rule-level grace; None: the policy's

    @property
    def rule_type(self) -> str:
        return RULES[self.kind][3]


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    tenant_id: str
    display_name: str
    enabled: bool
    action: str  # one of ACTIONS
    rules: tuple[Rule, ...]
    grace_days: int = 0
    deletion_grace_days: int = 0  # disableThenDelete only
    description: str | None = None
    offsets: tuple[int, ...] = ()  # notice days after non-compliance
    fallback: tuple[str, ...] = ()  # additionalFallbackRecipients
    id: str = ""
    version: int = 1
    created_at: str = ""
    modified_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def _fail(where: str, message: str, code: str = INVALID) -> ValidationError:
    return ValidationError(f"{where}: {message}", code=code)


def _int(raw: dict[str, Any], name: str, where: str, low: int, high: int) -> int:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{where}{name}", f"must be a whole number from {low} to {high}.")
    if not low <= value <= high:
        raise _fail(f"{where}{name}", f"{value} is out of range ({low} to {high}).")
    return value


def _bool(raw: dict[str, Any], name: str, where: str) -> bool:
    value = raw.get(name)
    if not isinstance(value, bool):
        raise _fail(f"{where}{name}", "must be true or false.")
    return value


def _text(value: Any, where: str, limit: int, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _fail(where, f"must be text of 1 to {limit} characters.")
    if any(ord(c) < 32 for c in value) or "\x7f" in value:
        raise _fail(where, "must not hold control characters.")
    return value


def _kind(raw: Any, where: str, choices: tuple[str, ...]) -> str:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object with an @odata.type.")
    odata = raw.get("@odata.type")
    name = odata[len(NS) :] if isinstance(odata, str) and odata.startswith(NS) else None
    if name not in choices:
        known = ", ".join(f"{NS}{c}" for c in choices)
        raise _fail(f"{where}.@odata.type", f"must be one of {known}.")
    return name


def _unknown(raw: dict[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    for name in raw:
        if name not in allowed and not name.startswith("@"):
            raise _fail(f"{where}{name}", "is not a property guestgate keeps.")


def parse_rule(raw: Any, where: str) -> Rule:
    kind = _kind(raw, where, tuple(RULES))
    own, low, high, _ = RULES[kind]
    _unknown(raw, {"id", "isEnabled", "gracePeriodInDays", "ruleType", own}, f"{where}.")
    grace = raw.get("gracePeriodInDays")
    return Rule(
        kind=kind,
        value=_int(raw, own, f"{where}.", low, high),
        enabled=_bool(raw, "isEnabled", f"{where}.") if "isEnabled" in raw else True,
        grace_days=None
        if grace is None
        else _int(raw, "gracePeriodInDays", f"{where}.", 0, MAX_GRACE),
    )


def _action(raw: Any) -> tuple[str, int]:
    kind = _kind(raw, "enforcementAction", ACTIONS)
    if kind != DISABLE_THEN_DELETE:
        _unknown(raw, set(), "enforcementAction.")
        return kind, 0
    _unknown(raw, {"deletionGracePeriodInDays"}, "enforcementAction.")
    days = _int(raw, "deletionGracePeriodInDays", "enforcementAction.", 1, MAX_DELETION_GRACE)
    return kind, days


def _schedule(raw: Any) -> tuple[tuple[int, ...], tuple[str, ...]]:
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        raise _fail("notificationSchedule", "must be an object.")
    where = "notificationSchedule."
    _unknown(raw, {"offsetsAfterNonComplianceInDays", "additionalFallbackRecipients"}, where)
    offsets = raw.get("offsetsAfterNonComplianceInDays") or []
    if not isinstance(offsets, list) or len(offsets) > MAX_OFFSETS:
        raise _fail(f"{where}offsetsAfterNonComplianceInDays", f"at most {MAX_OFFSETS} days.")
    days: list[int] = []
    for i, value in enumerate(offsets):
        name = f"offsetsAfterNonComplianceInDays[{i}]"
        day = _int({name: value}, name, where, 0, MAX_GRACE)
        if day in days:
            raise _fail(f"{where}{name}", f"{day} is listed twice.")
        days.append(day)
    recipients = raw.get("additionalFallbackRecipients") or []
    if not isinstance(recipients, list) or len(recipients) > MAX_FALLBACK:
        raise _fail(f"{where}additionalFallbackRecipients", f"at most {MAX_FALLBACK} addresses.")
    for i, address in enumerate(recipients):
        name = f"{where}additionalFallbackRecipients[{i}]"
        text = _text(address, name, 320, required=True)
        if text is None or text.count("@") != 1 or " " in text:
            raise _fail(name, "must be an email address.")
    return tuple(sorted(days)), tuple(recipients)


def parse_policy(raw: Any, *, tenant_id: str) -> LifecyclePolicy:
    """A whole policy (create): every required field present and valid."""
    if not isinstance(raw, dict):
        raise _fail("body", "must be a JSON object.")
    _kind(raw, "body", ("guestLifecyclePolicy",))
    _unknown(raw, _POLICY_FIELDS, "")
    if raw.get("scope") is not None:
        raise _fail("scope", "must be null: a policy covers every guest of the tenant.")
    for name in ("isEnabled", "enforcementAction"):
        if name not in raw:
            raise _fail(name, "is required.")
    action, deletion = _action(raw["enforcementAction"])
    rules = raw.get("rules") or []
    if not isinstance(rules, list):
        raise _fail("rules", "must be an array.")
    if len(rules) > MAX_RULES:
        raise _fail("rules", f"a policy has at most {MAX_RULES} rules.", RULES_LIMIT)
    if not rules:
        raise _fail("rules", "a policy needs at least one rule.")
    parsed = tuple(parse_rule(r, f"rules[{i}]") for i, r in enumerate(rules))
    offsets, fallback = _schedule(raw.get("notificationSchedule"))
    grace = _int(raw, "gracePeriodInDays", "", 0, MAX_GRACE) if "gracePeriodInDays" in raw else 0
    return LifecyclePolicy(
        tenant_id=tenant_id,
        display_name=_text(raw.get("displayName"), "displayName", MAX_NAME, required=True) or "",
        description=_text(raw.get("description"), "description", MAX_DESCRIPTION, required=False),
        enabled=_bool(raw, "isEnabled", ""),
        grace_days=grace,
        action=action,
        deletion_grace_days=deletion,
        rules=parsed,
        offsets=offsets,
        fallback=fallback,
    )


def patch_policy(current: LifecyclePolicy, raw: Any) -> LifecyclePolicy:
    """`current` with the properties `raw` names replaced, checked as a whole policy."""
    if not isinstance(raw, dict):
        raise _fail("body", "must be a JSON object.")
    for name in READ_ONLY:
        if name in raw:
            raise _fail(name, "is read-only.")
    merged = policy_json(current) | raw
    merged["@odata.type"] = POLICY_TYPE
    for name in READ_ONLY:
        merged.pop(name, None)
    changed = parse_policy(merged, tenant_id=current.tenant_id)
    return replace(changed, id=current.id, version=current.version, created_at=current.created_at)


def _action_json(policy: LifecyclePolicy) -> dict[str, Any]:
    body: dict[str, Any] = {"@odata.type": f"{NS}{policy.action}"}
    if policy.action == DISABLE_THEN_DELETE:
        body["deletionGracePeriodInDays"] = policy.deletion_grace_days
    return body


def rule_json(rule: Rule) -> dict[str, Any]:
    own = RULES[rule.kind][0]
    return {
        "@odata.type": f"{NS}{rule.kind}",
        "id": rule.id,
        "isEnabled": rule.enabled,
        "ruleType": rule.rule_type,
        "gracePeriodInDays": rule.grace_days,
        own: rule.value,
    }


def policy_json(policy: LifecyclePolicy) -> dict[str, Any]:
    """The policy as Graph shows it (rules included, as the create response echoes them)."""
    return {
        "@odata.type": POLICY_TYPE,
        "id": policy.id,
        "displayName": policy.display_name,
        "description": policy.description,
        "isEnabled": policy.enabled,
        "gracePeriodInDays": policy.grace_days,
        "enforcementAction": _action_json(policy),
        "notificationSchedule": {
            "@odata.type": SETTINGS_TYPE,
            "offsetsAfterNonComplianceInDays": list(policy.offsets),
            "additionalFallbackRecipients": list(policy.fallback),
        },
        "scope": None,
        "policySource": "userCreated",
        "versionNumber": policy.version,
        "createdDateTime": policy.created_at[:19] + "Z" if policy.created_at else None,
        "lastModifiedDateTime": policy.modified_at[:19] + "Z" if policy.modified_at else None,
        "rules": [rule_json(r) for r in policy.rules],
    }


def with_rule_ids(policy: LifecyclePolicy) -> LifecyclePolicy:
    """Rules numbered in their order (`rule-1`, …): their ids are stable within a version."""
    rules = tuple(replace(r, id=f"rule-{i + 1}") for i, r in enumerate(policy.rules))
    return replace(policy, rules=rules)
