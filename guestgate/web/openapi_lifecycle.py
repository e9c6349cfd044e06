"""The answers and bodies /openapi.json states for the lifecycle policies, the dry run of a
draft and the attest action (web/lifecycle.py, web/lifecycle_attest.py), beside
`openapi_facts.ROUTE_ERRORS`; tests/e2e/test_openapi.py provokes each of them."""

from __future__ import annotations

from typing import Any

from guestgate.domain.apps import READ_LIFECYCLE, WRITE_LIFECYCLE
from guestgate.web.openapi_facts import (
    EXAMPLE_ID,
    NO_TOKEN,
    NOT_JSON,
    TOO_LARGE,
    Answer,
    api_error,
    bad,
    denied,
)

POLICIES = "/identityGovernance/lifecycleWorkflows/lifecyclePolicies"
DRAFT = "/api/identityGovernance/lifecycleWorkflows/draftImpact"
ATTEST = "/users/{user_ref}/microsoft.graph.identityGovernance.attest"
PREFIXES = ("/api", "/v1.0")

NO_POLICY: Answer = (
    "No lifecycle policy of the caller's tenant has this id",
    api_error(
        "Request_ResourceNotFound",
        f"There is no lifecycle policy {EXAMPLE_ID} in this organization.",
    ),
)
NO_PART: Answer = (
    "No lifecycle policy of the caller's tenant has this id, or the policy has no such part"
    " (versions, rules and impact(…) are)",
    api_error("Request_ResourceNotFound", "There is no owners on a lifecycle policy."),
)
NO_RULE: Answer = (
    "No lifecycle policy of the caller's tenant has this id, or it has no such rule",
    api_error("Request_ResourceNotFound", "There is no rule rule-9 in this policy."),
)
NO_GUEST: Answer = (
    "No guest of the caller's tenant has this id",
    api_error("Request_ResourceNotFound", f"There is no guest {EXAMPLE_ID} in this organization."),
)
BAD_POLICY = bad(
    "invalidLifecyclePolicy",
    "gracePeriodInDays: must be a whole number from 0 to 30.",
)
BAD_WINDOW = bad("invalidImpactWindow", "endDateTime: the window may span at most 30 days.")
CONFIRM: Answer = (
    "The change would act on guests at once: the body's `impact` lists on whom and when;"
    " repeat the request with ?confirm=true to apply it. Nothing was stored",
    api_error(
        "lifecyclePolicyConfirmationRequired",
        "This change would act at once on 1 guest(s): run the dry run, then repeat the request"
        " with confirm=true to apply it.",
    )
    | {
        "impact": [
            {
                "subject": {
                    "id": EXAMPLE_ID,
                    "displayName": "Some Name",
                    "mail": "some.name@somedomain.org",
                },
                "action": "disabledDueToAttestationNonCompliance",
                "dueDateTime": "2026-12-01T00:00:00Z",
            }
        ]
    },
)


def _read(more: dict[int, Answer]) -> dict[int, Answer]:
    return {401: NO_TOKEN, 403: denied(READ_LIFECYCLE), **more}


def _write(more: dict[int, Answer]) -> dict[int, Answer]:
    return {401: NO_TOKEN, 403: denied(WRITE_LIFECYCLE), **more}


def _policy_errors(prefix: str) -> dict[tuple[str, str], dict[int, Answer]]:
    base = prefix + POLICIES
    one = base + "/{policy_id}"
    return {
        (base, "get"): _read({}),
        (base, "post"): _write({400: BAD_POLICY, 409: CONFIRM, 413: TOO_LARGE, 415: NOT_JSON}),
        (one, "get"): _read({404: NO_POLICY}),
        (one, "patch"): _write(
            {400: BAD_POLICY, 404: NO_POLICY, 409: CONFIRM, 413: TOO_LARGE, 415: NOT_JSON}
        ),
        (one, "delete"): _write({404: NO_POLICY}),
        (one + "/{part}", "get"): _read({400: BAD_WINDOW, 404: NO_PART}),
        (one + "/rules", "get"): _read({404: NO_POLICY}),
        (one + "/rules/{rule_id}", "get"): _read({404: NO_RULE}),
        (prefix + ATTEST, "post"): _write({404: NO_GUEST}),
    }


LIFECYCLE_ERRORS: dict[tuple[str, str], dict[int, Answer]] = {
    **_policy_errors("/api"),
    **_policy_errors("/v1.0"),
    (DRAFT, "post"): _read({400: BAD_POLICY, 413: TOO_LARGE, 415: NOT_JSON}),
}

_INT = {"type": "integer"}
BOOL = {"type": "boolean"}
STR = {"type": "string"}
TYPE = {"type": "string", "description": "@odata.type"}
_RULE = {
    "type": "object",
    "description": "One rule; the property after ruleType depends on its @odata.type:"
    " invitationRedemptionThresholdInDays, inactivityThresholdInDays,"
    " attestationIntervalInDays or minimumSponsorCount",
    "properties": {
        "@odata.type": TYPE,
        "id": STR,
        "isEnabled": BOOL,
        "ruleType": STR,
        "gracePeriodInDays": {"type": ["integer", "null"]},
        "invitationRedemptionThresholdInDays": _INT,
        "inactivityThresholdInDays": _INT,
        "attestationIntervalInDays": _INT,
        "minimumSponsorCount": _INT,
    },
}
_ACTION = {
    "type": "object",
    "properties": {"@odata.type": TYPE, "deletionGracePeriodInDays": _INT},
}
_NOTIFICATIONS = {
    "type": "object",
    "properties": {
        "@odata.type": TYPE,
        "offsetsAfterNonComplianceInDays": {"type": "array", "items": _INT},
        "additionalFallbackRecipients": {"type": "array", "items": STR},
    },
}
STAMP = {"type": ["string", "null"], "format": "date-time"}
POLICY: dict[str, Any] = {
    "type": "object",
    "description": "Graph's guestLifecyclePolicy",
    "properties": {
        "@odata.type": TYPE,
        "id": STR,
        "displayName": STR,
        "description": {"type": ["string", "null"]},
        "isEnabled": BOOL,
        "gracePeriodInDays": _INT,
        "enforcementAction": _ACTION,
        "notificationSchedule": _NOTIFICATIONS,
        "scope": {"type": ["object", "null"]},
        "policySource": STR,
        "versionNumber": _INT,
        "createdDateTime": STAMP,
        "lastModifiedDateTime": STAMP,
        "rules": {"type": "array", "items": _RULE},
    },
}
POLICY_BODY = {
    "type": "object",
    "description": "Graph's guestLifecyclePolicy (docs/governance.md, Lifecycle); read-only"
    " properties (id, versionNumber, policySource, the dates) are ignored. PATCH takes any"
    " of them.",
    "properties": {
        k: v
        for k, v in POLICY["properties"].items()
        if k not in ("id", "policySource", "versionNumber", "createdDateTime")
        and k != "lastModifiedDateTime"
    },
}
POLICY_EXAMPLE = {
    "@odata.type": "#microsoft.graph.identityGovernance.guestLifecyclePolicy",
    "displayName": "Guests: redeem in 14 d, attest every 180 d",
    "isEnabled": True,
    "gracePeriodInDays": 7,
    "enforcementAction": {
        "@odata.type": "#microsoft.graph.identityGovernance.disableThenDeleteEnforcementAction",
        "deletionGracePeriodInDays": 30,
    },
    "rules": [
        {
            "@odata.type": "#microsoft.graph.identityGovernance.invitationRedemptionRule",
            "invitationRedemptionThresholdInDays": 14,
        },
        {
            "@odata.type": "#microsoft.graph.identityGovernance.periodicAttestationRule",
            "attestationIntervalInDays": 180,
        },
    ],
    "notificationSchedule": {"offsetsAfterNonComplianceInDays": [1, 7]},
}
IMPACT = {
    "type": "object",
    "description": "Graph's lifecyclePolicyImpactSummary: one per guest with steps in the window",
    "properties": {
        "id": STR,
        "actionsTaken": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "actionType": STR,
                    "dateTime": {"type": "string", "format": "date-time"},
                },
            },
        },
        "subject": {
            "type": "object",
            "properties": {
                "@odata.type": TYPE,
                "id": STR,
                "displayName": STR,
                "mail": {"type": ["string", "null"]},
            },
        },
    },
}


def collection(items: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "@odata.context": STR,
            "@odata.nextLink": STR,
            "value": {"type": "array", "items": items},
        },
    }


_PART = (
    "versions: every version of the policy; rules: its rules; impact(…): the dry run (Graph's"
    " lifecyclePolicyImpactSummary collection)",
    {"anyOf": [collection(POLICY), collection(_RULE), collection(IMPACT)]},
)
NO_BODY = {
    "required": False,
    "description": "Takes no body.",
    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
}
_CONFIRM = {
    "name": "confirm",
    "in": "query",
    "required": False,
    "description": "true applies a change that would act on guests at once (after its dry"
    " run); without it such a change answers 409 with the dry run.",
    "schema": {"type": "string", "enum": ["true", "false"]},
    "example": "true",
}
_IMPACT_QUERY = [
    {
        "name": "$expand",
        "in": "query",
        "required": False,
        "description": "subject: each guest's displayName and mail too (impact only).",
        "schema": STR,
        "example": "subject",
    },
    {
        "name": "$filter",
        "in": "query",
        "required": False,
        "description": "subject/id eq '…' or subject/id ne '…' (impact only).",
        "schema": STR,
        "example": f"subject/id eq '{EXAMPLE_ID}'",
    },
]


def json_content(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def set_answer(operation: dict[str, Any] | None, status: str, schema: dict[str, Any]) -> None:
    if operation is not None and status in operation.get("responses", {}):
        operation["responses"][status]["content"] = json_content(schema)


def _policies(paths: dict[str, Any], prefix: str) -> None:
    base = prefix + POLICIES
    one = base + "/{policy_id}"
    item, single = paths.get(base, {}), paths.get(one, {})
    if not item:  # the /v1.0 routes exist in local mode only
        return
    set_answer(item.get("get"), "200", collection(POLICY))
    for operation, status in ((item.get("post"), "201"), (single.get("get"), "200")):
        set_answer(operation, status, POLICY)
    for operation in (item["post"], single["patch"]):
        operation["requestBody"] = {
            "required": True,
            "content": json_content(POLICY_BODY, POLICY_EXAMPLE),
        }
        operation["parameters"] = [*operation.get("parameters", []), _CONFIRM]
    # The handler answers a Response of its own: 204 with no body, as v1.0 does.
    answers = single["patch"]["responses"]
    answers.pop("200", None)
    answers["204"] = {"description": "Changed: the policy has a new version"}
    part = paths[one + "/{part}"]["get"]
    part["responses"]["200"] = {"description": _PART[0], "content": json_content(_PART[1])}
    part["parameters"] = [*part.get("parameters", []), *_IMPACT_QUERY]
    set_answer(paths[one + "/rules"]["get"], "200", collection(_RULE))
    set_answer(paths[one + "/rules/{rule_id}"]["get"], "200", _RULE)
    paths[prefix + ATTEST]["post"]["requestBody"] = NO_BODY


def document(paths: dict[str, Any]) -> None:
    """Request bodies, success schemas and query options of these routes, in place."""
    for prefix in PREFIXES:
        _policies(paths, prefix)
    draft = paths.get(DRAFT, {}).get("post")
    if draft is not None:
        draft["requestBody"] = {
            "required": True,
            "content": json_content(
                {
                    "type": "object",
                    "properties": {
                        "policy": POLICY_BODY,
                        "startDateTime": {"type": "string", "format": "date-time"},
                        "endDateTime": {"type": "string", "format": "date-time"},
                    },
                    "required": ["policy"],
                },
                {
                    "policy": POLICY_EXAMPLE,
                    "startDateTime": "2026-12-01T00:00:00Z",
                    "endDateTime": "2026-12-31T00:00:00Z",
                },
            ),
        }
        set_answer(draft, "200", collection(IMPACT))
