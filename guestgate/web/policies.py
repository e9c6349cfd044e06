"""The tenant's invitation policy over HTTP: the domain list and `allowInvitesFrom`.

Graph has the domain list only in beta (`/beta/policies/b2bManagementPolicies`), so guestgate
serves it at `/api/policies/invitations`, in the shape of Graph's b2bManagementPolicy (its
`definition` holds Entra's JSON string). `allowInvitesFrom` is Graph v1.0's
`/v1.0/policies/authorizationPolicy` in local mode, and `/api/policies/authorizationPolicy`
in both modes (in Microsoft 365 mode /v1.0 is Microsoft's). Reading needs Policy.Read.All,
changing Policy.ReadWrite.Authorization; checked here in both modes, since these settings
are guestgate's own and no Graph call would check them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.handlers import HTTPRouteHandler
from msgspec import UNSET, UnsetType

from guestgate.domain import invitation_policy as rules
from guestgate.domain.apps import READ_POLICY, WRITE_POLICY, grants
from guestgate.domain.invitation_policy import InvitationPolicy
from guestgate.errors import PermissionDenied, ValidationError
from guestgate.logs import request_id_var
from guestgate.services import invitation_policies as policies
from guestgate.web.api import ERRORS
from guestgate.web.auth import authorize, caller_of, runtime_of
from guestgate.web.body import convert, parse_json
from guestgate.web.routes import get, patch

BODY_BYTES = 64 * 1024  # a definition holds at most 25,000 characters
DISPLAY_NAME = "B2BManagementPolicy"
DESCRIPTION = "Invitation domain restrictions"
ROUTE: dict[str, Any] = {
    "guards": [authorize],
    "tags": ["Policies"],
    "responses": ERRORS,
    "security": [{"bearer": []}],
}
# authorizationPolicy properties of Graph that guestgate does not keep.
NOT_KEPT = (
    "allowedToSignUpEmailBasedSubscriptions",
    "allowedToUseSSPR",
    "allowEmailVerifiedUsersToJoinOrganization",
    "allowUserConsentForRiskyApps",
    "blockMsolPowerShell",
    "defaultUserRolePermissions",
    "guestUserRoleId",
)


class B2BPolicyBody(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH /api/policies/invitations: Graph's b2bManagementPolicy; `definition` decides."""

    definition: list[str] | UnsetType = UNSET
    # guestgate's own: which invitations wait for an approver (docs/governance.md, Approval).
    guestgateApproval: dict[str, Any] | UnsetType | None = UNSET
    displayName: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    isOrganizationDefault: bool | UnsetType = UNSET


class AuthorizationPolicyBody(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH authorizationPolicy: guestgate keeps `allowInvitesFrom` only."""

    allowInvitesFrom: str


REQUEST_BODIES: dict[tuple[str, str], type] = {
    ("/api/policies/invitations", "patch"): B2BPolicyBody,
    ("/v1.0/policies/authorizationPolicy", "patch"): AuthorizationPolicyBody,
    ("/api/policies/authorizationPolicy", "patch"): AuthorizationPolicyBody,
}


def _require(request: Request[Any, Any, Any], permission: str) -> str:
    """The caller's tenant, once its token holds `permission` (whatever the mode)."""
    caller = caller_of(request)
    if not grants(caller.roles, permission):
        raise PermissionDenied(
            f"Insufficient privileges to complete the operation: the app needs {permission}."
        )
    return caller.tenant_id


async def _body(request: Request[Any, Any, Any], into: type[Any]) -> Any:
    raw = parse_json(await request.body(), request.headers.get("content-type"), dict[str, Any])
    parsed = {k: v for k, v in raw.items() if not k.startswith("@")}  # OData annotations
    for name in NOT_KEPT:
        if name in parsed:
            raise ValidationError(
                f"{name} is not kept by guestgate; authorizationPolicy takes allowInvitesFrom.",
                code="Request_BadRequest",
            )
    return convert(parsed, into)


def b2b_json(policy: InvitationPolicy) -> dict[str, Any]:
    return {
        "id": policy.tenant_id,
        "displayName": DISPLAY_NAME,
        "description": DESCRIPTION,
        "isOrganizationDefault": True,
        "definition": [policy.domains.definition()],
        "updatedDateTime": policy.updated_at,
        rules.APPROVAL: policy.approval.to_json() if policy.approval.enabled else None,
    }


def authorization_json(request: Request[Any, Any, Any], policy: InvitationPolicy) -> dict[str, Any]:
    base = runtime_of(request).settings.http.public_url
    return {
        "@odata.context": f"{base}/v1.0/$metadata#policies/authorizationPolicy/$entity",
        "id": "authorizationPolicy",
        "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "allowInvitesFrom": policy.allow_invites_from,
    }


@get("/api/policies/invitations", opt={"permission": READ_POLICY}, **ROUTE)
async def get_invitation_policy(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The tenant's domain allow or block list, as Entra's B2B management policy."""
    tenant_id = _require(request, READ_POLICY)
    policy = await policies.read_policy(runtime_of(request).uow(write=False), tenant_id)
    return b2b_json(policy)


@patch(
    "/api/policies/invitations",
    opt={"permission": WRITE_POLICY},
    request_max_body_size=BODY_BYTES,
    **ROUTE,
)
async def set_invitation_policy(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Replace the domain list with the one `definition` holds, and/or the approval rule
    (`guestgateApproval`); answers the stored policy."""
    tenant_id = _require(request, WRITE_POLICY)
    body: B2BPolicyBody = await _body(request, B2BPolicyBody)
    domains = None
    if not isinstance(body.definition, UnsetType):
        if len(body.definition) != 1:
            raise ValidationError(
                "definition must hold exactly one JSON string.", code=rules.POLICY_CODE
            )
        domains = rules.parse_definition(body.definition[0], where="definition[0]")
    approval = None
    if not isinstance(body.guestgateApproval, UnsetType):
        approval = rules.parse_approval(body.guestgateApproval)
    if domains is None and approval is None:
        raise ValidationError(f"Send definition, {rules.APPROVAL} or both.", code=rules.POLICY_CODE)
    runtime = runtime_of(request)
    policy = await policies.set_policy(
        runtime.uow(),
        tenant_id=tenant_id,
        now=runtime.now(),
        domains=domains,
        approval=approval,
        app_id=caller_of(request).app_id or None,
        request_id=request_id_var.get(),
    )
    return b2b_json(policy)


async def _get_authorization(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """allowInvitesFrom: who may invite guests (Graph's authorizationPolicy)."""
    tenant_id = _require(request, READ_POLICY)
    policy = await policies.read_policy(runtime_of(request).uow(write=False), tenant_id)
    return authorization_json(request, policy)


async def _set_authorization(request: Request[Any, Any, Any]) -> None:
    """Change allowInvitesFrom; answers 204 as Graph does."""
    tenant_id = _require(request, WRITE_POLICY)
    body: AuthorizationPolicyBody = await _body(request, AuthorizationPolicyBody)
    value = rules.check_allow_invites_from(body.allowInvitesFrom)
    runtime = runtime_of(request)
    await policies.set_policy(
        runtime.uow(),
        tenant_id=tenant_id,
        now=runtime.now(),
        allow_invites_from=value,
        app_id=caller_of(request).app_id or None,
        request_id=request_id_var.get(),
    )


def _authorization_routes(path: str, tag: str) -> list[HTTPRouteHandler]:
    options = ROUTE | {"tags": [tag]}
    return [
        get(path, opt={"permission": READ_POLICY}, name=f"get {path}", **options)(
            _get_authorization
        ),
        patch(
            path,
            opt={"permission": WRITE_POLICY},
            status_code=204,
            request_max_body_size=BODY_BYTES,
            name=f"patch {path}",
            **options,
        )(_set_authorization),
    ]


# Both modes; the /v1.0 pair joins the Graph-compatible surface (local mode).
ROUTES = [
    get_invitation_policy,
    set_invitation_policy,
    *_authorization_routes("/api/policies/authorizationPolicy", "Policies"),
]
GRAPH_ROUTES = _authorization_routes("/v1.0/policies/authorizationPolicy", "Microsoft Graph")
