"""Guest lifecycle policies over HTTP, in Graph's shapes (docs/governance.md, Lifecycle).

`/v1.0/identityGovernance/lifecycleWorkflows/lifecyclePolicies` (local mode's Graph surface)
and the same routes under `/api/identityGovernance/…` (both modes: the policies are
guestgate's own, applied over the directory). Reading needs
LifecyclePolicies-Guests.Read.All, changing LifecyclePolicies-Guests.ReadWrite.All, checked
here in both modes. guestgate's own additions: `?confirm=true` on POST and PATCH (a change
that would act on guests at once answers 409 with its dry run without it) and
`POST /api/identityGovernance/lifecycleWorkflows/draftImpact`, the dry run of a policy that
is not saved.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler

from guestgate.domain.apps import READ_LIFECYCLE, WRITE_LIFECYCLE, grants
from guestgate.domain.lifecycle import LifecyclePolicy, policy_json, rule_json
from guestgate.domain.lifecycle_eval import IMPACT_ACTION, day_start
from guestgate.errors import NotFound, PermissionDenied, ValidationError
from guestgate.logs import request_id_var
from guestgate.services import lifecycle
from guestgate.services.lifecycle import ConfirmationRequired, Impact, Who
from guestgate.web.api import ERRORS
from guestgate.web.auth import authorize, caller_of, runtime_of
from guestgate.web.body import parse_json
from guestgate.web.errors import api_error_body
from guestgate.web.routes import delete, get, patch, post

BODY_BYTES = 64 * 1024
PATH = "/identityGovernance/lifecycleWorkflows/lifecyclePolicies"
# Their answers and bodies in /openapi.json: web/openapi_lifecycle.py.
ROUTE: dict[str, Any] = {
    "guards": [authorize],
    "responses": ERRORS,
    "security": [{"bearer": []}],
}
_CALL = re.compile(r"^impact(?:\((?P<args>[^()]*)\))?$")
_FILTER = re.compile(r"^subject/id (?P<op>eq|ne) '(?P<id>[^']{1,64})'$")


def _require(request: Request[Any, Any, Any], permission: str) -> str:
    caller = caller_of(request)
    if not grants(caller.roles, permission):
        raise PermissionDenied(
            f"Insufficient privileges to complete the operation: the app needs {permission}."
        )
    return caller.tenant_id


def _who(request: Request[Any, Any, Any]) -> Who:
    return Who(app_id=caller_of(request).app_id or None, request_id=request_id_var.get())


def _confirm(request: Request[Any, Any, Any]) -> bool:
    value = request.query_params.get("confirm", "false")
    if value not in ("true", "false"):
        raise ValidationError("confirm: must be true or false.", code="Request_BadRequest")
    return value == "true"


async def _raw(request: Request[Any, Any, Any]) -> Any:
    return parse_json(await request.body(), request.headers.get("content-type"), dict[str, Any])


def _context(request: Request[Any, Any, Any], tail: str) -> str:
    base = runtime_of(request).settings.http.public_url
    return f"{base}/v1.0/$metadata#{tail}"


def impact_json(
    result: Impact, *, expand: bool = False, only: str | None = None, exclude: str | None = None
) -> list[dict[str, Any]]:
    """Graph's lifecyclePolicyImpactSummary items: one per guest with steps in the window."""
    out = []
    for guest, steps in result.items:
        if (only is not None and guest.user_id != only) or guest.user_id == exclude:
            continue
        subject: dict[str, Any] = {"@odata.type": "#microsoft.graph.user", "id": guest.user_id}
        if expand:
            subject |= {"displayName": guest.display_name, "mail": guest.mail}
        out.append(
            {
                "id": guest.user_id,
                "actionsTaken": [
                    {
                        "actionType": IMPACT_ACTION[step],
                        "dateTime": day_start(day).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                    for step, day in steps
                ],
                "subject": subject,
            }
        )
    return out


def confirmation_response(exc: ConfirmationRequired) -> Response[bytes]:
    """409 with the dry run of what the change would do at once."""
    body = api_error_body(exc.code, exc.message)
    body["impact"] = [
        {
            "subject": {
                "id": s.user_id,
                "displayName": exc.guests[s.user_id].display_name,
                "mail": exc.guests[s.user_id].mail,
            },
            "action": IMPACT_ACTION[s.step],
            "dueDateTime": day_start(s.due_on).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for s in exc.steps
    ]
    return Response(msgspec.json.encode(body), status_code=409, media_type="application/json")


def _when(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{name}: must be an ISO 8601 date and time.", code="invalidImpactWindow"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _window(args: str | None, now: datetime) -> tuple[date, date]:
    found: dict[str, datetime] = {}
    for part in filter(None, (args or "").split(",")):
        name, _, value = part.partition("=")
        if name not in ("startDateTime", "endDateTime") or name in found:
            raise ValidationError(
                f"{name or 'impact'}: impact takes startDateTime and endDateTime.",
                code="invalidImpactWindow",
            )
        found[name] = _when(value.strip("'"), name)
    return lifecycle.impact_window(found.get("startDateTime"), found.get("endDateTime"), now=now)


def _filter(request: Request[Any, Any, Any]) -> tuple[str | None, str | None]:
    text = request.query_params.get("$filter")
    if text is None:
        return None, None
    match = _FILTER.match(text)
    if match is None:
        raise ValidationError(
            "$filter: impact takes subject/id eq '…' or subject/id ne '…'.",
            code="Request_UnsupportedQuery",
        )
    ident = match["id"]
    return (ident, None) if match["op"] == "eq" else (None, ident)


async def list_policies(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The tenant's guest lifecycle policies."""
    tenant_id = _require(request, READ_LIFECYCLE)
    found = await lifecycle.list_policies(runtime_of(request).uow(write=False), tenant_id)
    return {
        "@odata.context": _context(
            request, "identityGovernance/lifecycleWorkflows/lifecyclePolicies"
        ),
        "value": [policy_json(p) for p in found],
    }


async def create_policy(request: Request[Any, Any, Any]) -> Response[Any]:
    """Create a policy (201); 409 with its dry run if it would act at once, unless confirmed."""
    tenant_id = _require(request, WRITE_LIFECYCLE)
    runtime = runtime_of(request)
    try:
        policy = await lifecycle.create_policy(
            runtime.uow(),
            guests=runtime.guest_facts,
            tenant_id=tenant_id,
            raw=await _raw(request),
            now=runtime.now(),
            who=_who(request),
            confirm=_confirm(request),
        )
    except ConfirmationRequired as exc:
        return confirmation_response(exc)
    return Response(policy_json(policy), status_code=201)


async def _policy(request: Request[Any, Any, Any], policy_id: str) -> LifecyclePolicy:
    tenant_id = _require(request, READ_LIFECYCLE)
    return await lifecycle.get_policy(runtime_of(request).uow(write=False), tenant_id, policy_id)


async def get_policy(request: Request[Any, Any, Any], policy_id: str) -> dict[str, Any]:
    return policy_json(await _policy(request, policy_id))


async def update_policy(request: Request[Any, Any, Any], policy_id: str) -> Response[Any]:
    """Change a policy (204, as v1.0): a new version; 409 with its dry run unless confirmed."""
    tenant_id = _require(request, WRITE_LIFECYCLE)
    runtime = runtime_of(request)
    try:
        await lifecycle.update_policy(
            runtime.uow(),
            guests=runtime.guest_facts,
            tenant_id=tenant_id,
            policy_id=policy_id,
            raw=await _raw(request),
            now=runtime.now(),
            who=_who(request),
            confirm=_confirm(request),
        )
    except ConfirmationRequired as exc:
        return confirmation_response(exc)
    return Response(b"", status_code=204)


async def delete_policy(request: Request[Any, Any, Any], policy_id: str) -> None:
    tenant_id = _require(request, WRITE_LIFECYCLE)
    runtime = runtime_of(request)
    await lifecycle.delete_policy(
        runtime.uow(),
        tenant_id=tenant_id,
        policy_id=policy_id,
        now=runtime.now(),
        who=_who(request),
    )


async def policy_part(request: Request[Any, Any, Any], policy_id: str, part: str) -> dict[str, Any]:
    """`versions`, `rules` or `impact(startDateTime=…,endDateTime=…)` of a policy."""
    tenant_id = _require(request, READ_LIFECYCLE)
    runtime = runtime_of(request)
    if part == "versions":
        found = await lifecycle.list_versions(runtime.uow(write=False), tenant_id, policy_id)
        return {"value": [policy_json(v) for v in found]}
    if part == "rules":
        policy = await _policy(request, policy_id)
        return {"value": [rule_json(r) for r in policy.rules]}
    call = _CALL.match(part)
    if call is None:
        raise NotFound(f"There is no {part[:64]} on a lifecycle policy.")
    start, end = _window(call["args"], runtime.now())
    only, exclude = _filter(request)
    result = await lifecycle.evaluate_saved(
        runtime.uow(write=False),
        runtime.guest_facts,
        tenant_id=tenant_id,
        policy_id=policy_id,
        start=start,
        end=end,
    )
    expand = request.query_params.get("$expand") == "subject"
    return {
        "@odata.context": _context(
            request, "Collection(microsoft.graph.identityGovernance.lifecyclePolicyImpactSummary)"
        ),
        "value": impact_json(result, expand=expand, only=only, exclude=exclude),
    }


async def list_rules(request: Request[Any, Any, Any], policy_id: str) -> dict[str, Any]:
    return await policy_part(request, policy_id, "rules")


async def get_rule(request: Request[Any, Any, Any], policy_id: str, rule_id: str) -> dict[str, Any]:
    policy = await _policy(request, policy_id)
    for rule in policy.rules:
        if rule.id == rule_id:
            return rule_json(rule)
    raise NotFound(f"There is no rule {rule_id[:64]} in this policy.")


@post(
    "/api/identityGovernance/lifecycleWorkflows/draftImpact",
    opt={"permission": READ_LIFECYCLE},
    status_code=200,
    request_max_body_size=BODY_BYTES,
    tags=["Lifecycle"],
    **ROUTE,
)
async def draft_impact(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The dry run of a policy that is not saved: body {policy, startDateTime, endDateTime}."""
    tenant_id = _require(request, READ_LIFECYCLE)
    runtime = runtime_of(request)
    raw = await _raw(request)
    now = runtime.now()
    draft = lifecycle.draft_policy(raw.get("policy"), tenant_id=tenant_id, now=now)
    start_text, end_text = raw.get("startDateTime"), raw.get("endDateTime")
    for name, value in (("startDateTime", start_text), ("endDateTime", end_text)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(
                f"{name}: must be an ISO 8601 date and time.", code="invalidImpactWindow"
            )
    start, end = lifecycle.impact_window(
        None if start_text is None else _when(start_text, "startDateTime"),
        None if end_text is None else _when(end_text, "endDateTime"),
        now=now,
    )
    result = await lifecycle.evaluate(runtime.guest_facts, draft, start=start, end=end)
    return {"value": impact_json(result, expand=True)}


def _routes(prefix: str, tag: str) -> list[HTTPRouteHandler]:
    base = prefix + PATH
    one = base + "/{policy_id:str}"
    opts = ROUTE | {"tags": [tag]}
    read, write = {"permission": READ_LIFECYCLE}, {"permission": WRITE_LIFECYCLE}
    return [
        get(base, opt=read, name=f"list {base}", **opts)(list_policies),
        post(base, opt=write, name=f"create {base}", request_max_body_size=BODY_BYTES, **opts)(
            create_policy
        ),
        get(one, opt=read, name=f"get {one}", **opts)(get_policy),
        patch(one, opt=write, name=f"patch {one}", request_max_body_size=BODY_BYTES, **opts)(
            update_policy
        ),
        delete(one, opt=write, status_code=204, name=f"delete {one}", **opts)(delete_policy),
        get(one + "/{part:str}", opt=read, name=f"part {one}", **opts)(policy_part),
        get(one + "/rules", opt=read, name=f"rules {one}", **opts)(list_rules),
        get(one + "/rules/{rule_id:str}", opt=read, name=f"rule {one}", **opts)(get_rule),
    ]


ROUTES = [*_routes("/api", "Lifecycle"), draft_impact]
GRAPH_ROUTES = _routes("/v1.0", "Microsoft Graph")
