"""The invitation policy of a tenant: which domains may be invited, and who may invite.

The domain list is taken and returned as Entra's B2B management policy definition, a JSON
string such as ``{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":
{"BlockedDomains":["gmail.com"]}}}``. As in Entra it is an allow list *or* a block list,
never both: on an allow list, every other domain is refused; on a block list, only the
listed ones. The whole definition holds at most 25,000 characters, Entra's limit; other
keys of the ``B2BManagementPolicy`` object are kept as they came.

Matching: both sides are lower-cased and converted to their IDNA A-label (the way guest
addresses are, domain/emails.py), then compared for equality. ``contoso.com`` matches
``contoso.com`` only, not ``sales.contoso.com``. An entry ``*.contoso.com`` matches the
subdomains of contoso.com (``sales.contoso.com``, ``a.b.contoso.com``), never contoso.com
itself nor ``evil-contoso.com``. Entra's documentation states neither rule; these are
guestgate's, written in docs/governance.md.

``allowInvitesFrom`` takes the values of Entra's authorizationPolicy; ``everyone`` is
Entra's default (outside US Government clouds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import email_validator

from guestgate.errors import ValidationError

NONE = "none"
ADMINS_AND_GUEST_INVITERS = "adminsAndGuestInviters"
ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS = "adminsGuestInvitersAndAllMembers"
EVERYONE = "everyone"
ALLOW_INVITES_FROM = (
    NONE,
    ADMINS_AND_GUEST_INVITERS,
    ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS,
    EVERYONE,
)
DEFAULT_ALLOW_INVITES_FROM = EVERYONE

MAX_DEFINITION_CHARS = 25_000  # Entra: the whole policy, other settings included
ROOT = "B2BManagementPolicy"
DOMAINS = "InvitationsAllowedAndBlockedDomainsPolicy"
ALLOWED = "AllowedDomains"
BLOCKED = "BlockedDomains"
WILDCARD = "*."
FIELD = "definition"

POLICY_CODE = "InvalidInvitationPolicy"


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code=POLICY_CODE)


@dataclass(frozen=True, slots=True)
class DomainPolicy:
    """An allow list or a block list (at most one is non-empty), entries normalised."""

    allowed: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    # The rest of the B2BManagementPolicy object (Version, other B2B settings), kept as given.
    other: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        if self.allowed:
            return "allow"
        return "block" if self.blocked else "open"

    def refusal(self, domain: str) -> str | None:
        """Why an A-label domain may not be invited under this policy, or None."""
        if self.allowed and not any(entry_matches(e, domain) for e in self.allowed):
            return f"The domain {domain} is not on this organization's list of allowed domains."
        if any(entry_matches(e, domain) for e in self.blocked):
            return f"The domain {domain} is on this organization's list of blocked domains."
        return None

    def definition(self) -> str:
        """The policy as Entra's definition JSON string."""
        body = dict(self.other)
        if self.allowed:
            body[DOMAINS] = {ALLOWED: list(self.allowed)}
        elif self.blocked:
            body[DOMAINS] = {BLOCKED: list(self.blocked)}
        return json.dumps({ROOT: body}, ensure_ascii=False, separators=(",", ":"))


OPEN = DomainPolicy()


# Approval (docs/governance.md, "Approval"): guestgate's own setting, beside Entra's list.
APPROVAL = "guestgateApproval"
OUTSIDE_ALLOWED = "outsideAllowed"
DEFAULT_APPROVAL_DAYS = 14
MAX_APPROVAL_DAYS = 90
MAX_APPROVAL_DOMAINS = 500


@dataclass(frozen=True, slots=True)
class ApprovalRule:
    """Which invitations wait for an approver: those to `domains` (matched as the domain
    list matches), or, with `outside_allowed`, every one to a domain not on the allow list
    (every domain when there is no allow list). Open requests expire after `days`."""

    domains: tuple[str, ...] = ()
    outside_allowed: bool = False
    days: int = DEFAULT_APPROVAL_DAYS

    @property
    def enabled(self) -> bool:
        return self.outside_allowed or bool(self.domains)

    def to_json(self) -> dict[str, Any]:
        required: list[str] | str | None = list(self.domains) or None
        if self.outside_allowed:
            required = OUTSIDE_ALLOWED
        return {"requiredFor": required, "requestLifetimeDays": self.days}


NO_APPROVAL = ApprovalRule()


@dataclass(frozen=True, slots=True)
class InvitationPolicy:
    tenant_id: str
    domains: DomainPolicy = OPEN
    allow_invites_from: str = DEFAULT_ALLOW_INVITES_FROM
    updated_at: str | None = None  # None: never set, the defaults
    approval: ApprovalRule = NO_APPROVAL


def entry_matches(entry: str, domain: str) -> bool:
    """Whether a normalised list entry matches an A-label domain (see the module's rule)."""
    if entry.startswith(WILDCARD):
        return domain.endswith(entry[1:])  # ".contoso.com": a subdomain, never the apex
    return domain == entry


def normalise_domain(value: object, *, where: str) -> str:
    """A list entry in its A-label, lower case; `*.` kept in front of a wildcard entry."""
    if not isinstance(value, str):
        raise _invalid(f"{where} must be a domain name (a string).")
    text = value.strip().lower()
    wildcard = text.startswith(WILDCARD)
    name = text[len(WILDCARD) :] if wildcard else text
    if not name or "*" in name or "@" in name or "." not in name:
        raise _invalid(
            f"{where}: {value[:80]!r} is not a domain name (such as contoso.com or"
            " *.contoso.com for its subdomains)."
        )
    try:
        valid = email_validator.validate_email(
            f"x@{name}", check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError as exc:
        raise _invalid(f"{where}: {value[:80]!r} is not a valid domain name: {exc}") from None
    ascii_name = valid.ascii_domain.lower()
    return WILDCARD + ascii_name if wildcard else ascii_name


def _domain_list(value: object, *, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid(f"{where} must be a list of domain names.")
    seen: dict[str, None] = {}
    for index, item in enumerate(value):
        seen.setdefault(normalise_domain(item, where=f"{where}[{index}]"), None)
    return tuple(seen)


def parse_definition(text: object, *, where: str = FIELD) -> DomainPolicy:
    """Entra's B2B management policy definition (a JSON string) as a DomainPolicy."""
    if not isinstance(text, str):
        raise _invalid(f"{where} must be a JSON string.")
    if len(text) > MAX_DEFINITION_CHARS:
        raise _invalid(
            f"{where} holds {len(text)} characters; a policy holds at most"
            f" {MAX_DEFINITION_CHARS} (Entra's limit)."
        )
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise _invalid(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or set(document) != {ROOT}:
        raise _invalid(f'{where} must be a JSON object with the one key "{ROOT}".')
    body = document[ROOT]
    if not isinstance(body, dict):
        raise _invalid(f"{where}.{ROOT} must be a JSON object.")
    other = {k: v for k, v in body.items() if k != DOMAINS}
    lists = body.get(DOMAINS)
    if lists is None:
        return DomainPolicy(other=other)
    inner = f"{where}.{ROOT}.{DOMAINS}"
    if not isinstance(lists, dict):
        raise _invalid(f"{inner} must be a JSON object.")
    unknown = sorted(set(lists) - {ALLOWED, BLOCKED})
    if unknown:
        raise _invalid(
            f"{inner} has unknown fields: {', '.join(unknown)[:200]}; it takes"
            f" {ALLOWED} or {BLOCKED}."
        )
    allowed = _domain_list(lists.get(ALLOWED), where=f"{inner}.{ALLOWED}")
    blocked = _domain_list(lists.get(BLOCKED), where=f"{inner}.{BLOCKED}")
    if allowed and blocked:
        raise _invalid(
            f"{inner} has both {ALLOWED} and {BLOCKED}: a policy is an allow list or a block"
            " list, never both."
        )
    return DomainPolicy(allowed=allowed, blocked=blocked, other=other)


def from_lists(
    *, allowed: list[str] | None, blocked: list[str] | None, other: dict[str, Any] | None = None
) -> DomainPolicy:
    """A policy from plain lists (the CLI), validated as a definition would be."""
    body: dict[str, Any] = dict(other or {})
    lists: dict[str, Any] = {}
    if allowed:
        lists[ALLOWED] = allowed
    if blocked:
        lists[BLOCKED] = blocked
    if lists:
        body[DOMAINS] = lists
    else:
        body.pop(DOMAINS, None)
    return parse_definition(json.dumps({ROOT: body}, ensure_ascii=False))


def check_allow_invites_from(value: object, *, where: str = "allowInvitesFrom") -> str:
    if value not in ALLOW_INVITES_FROM:
        raise _invalid(
            f"{where} must be one of {', '.join(ALLOW_INVITES_FROM)}; got {value!r:.80}."
        )
    assert isinstance(value, str)
    return value


def inviter_refusal(setting: str, *, requester: str | None, member: bool) -> str | None:
    """Why `allowInvitesFrom` refuses this inviter, or None.

    `requester` is the person in `requestedBy` (None: an app or the operator's CLI, whose
    permission decides), `member` whether they are a member of the tenant. guestgate has no
    directory roles yet: under `adminsAndGuestInviters` no person qualifies, so only apps
    (and the CLI) may invite until roles exist."""
    if setting == NONE:
        return "This organization's invitation policy (allowInvitesFrom: none) lets nobody invite."
    if requester is None or setting == EVERYONE:
        return None
    if setting == ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS:
        if member:
            return None
        return (
            f"{requester} may not invite: this organization's invitation policy"
            f" (allowInvitesFrom: {setting}) lets only its members invite."
        )
    return (
        f"{requester} may not invite: this organization's invitation policy"
        f" (allowInvitesFrom: {setting}) lets only administrators and guest inviters invite,"
        " and guestgate assigns no such roles yet; an app may invite without requestedBy."
    )


def parse_approval(value: object, *, where: str = APPROVAL) -> ApprovalRule:
    """The `guestgateApproval` object: {"requiredFor": [domains] | "outsideAllowed" | null,
    "requestLifetimeDays": 1..90}; null turns approval off."""
    if value is None:
        return NO_APPROVAL
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a JSON object or null.")
    unknown = sorted(set(value) - {"requiredFor", "requestLifetimeDays"})
    if unknown:
        raise _invalid(
            f"{where} has unknown fields: {', '.join(unknown)[:200]}; it takes requiredFor"
            " and requestLifetimeDays."
        )
    days = value.get("requestLifetimeDays", DEFAULT_APPROVAL_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_APPROVAL_DAYS:
        raise _invalid(
            f"{where}.requestLifetimeDays must be a whole number of days from 1 to"
            f" {MAX_APPROVAL_DAYS}."
        )
    required = value.get("requiredFor")
    if required == OUTSIDE_ALLOWED:
        return ApprovalRule(outside_allowed=True, days=days)
    if required is not None and not isinstance(required, list):
        raise _invalid(
            f'{where}.requiredFor must be a list of domain names, "{OUTSIDE_ALLOWED}" or null.'
        )
    if required is not None and len(required) > MAX_APPROVAL_DOMAINS:
        raise _invalid(f"{where}.requiredFor holds at most {MAX_APPROVAL_DOMAINS} domains.")
    return ApprovalRule(domains=_domain_list(required, where=f"{where}.requiredFor"), days=days)


def approval_needed(policy: InvitationPolicy, domain: str) -> bool:
    """Whether an invitation to this A-label domain waits for an approver."""
    rule = policy.approval
    if rule.outside_allowed:
        return not any(entry_matches(e, domain) for e in policy.domains.allowed)
    return any(entry_matches(e, domain) for e in rule.domains)


def domain_refusal(policy: InvitationPolicy, domain: str) -> str | None:
    """Why the domain may not be invited at all. Under `outsideAllowed` a domain off the
    allow list is not refused: it waits for an approver instead (a block list still refuses)."""
    if policy.approval.outside_allowed and policy.domains.allowed:
        return None
    return policy.domains.refusal(domain)
