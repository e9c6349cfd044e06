"""The admin console's Lifecycle page: the dry run of a policy (saved or a draft) for a window,
who would be notified, disabled and deleted and when, Keep / Remove for each guest listed,
and applying a draft only after its dry run was shown (the Apply button of the preview).

Readers and administrators see it; only administrators keep, remove or apply.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post

from guestgate.domain.lifecycle import LifecyclePolicy
from guestgate.errors import GuestgateError, PermissionDenied, ValidationError
from guestgate.services import lifecycle
from guestgate.services.lifecycle import Impact, Who
from guestgate.services.lifecycle_attest import KEEP, REMOVE, attest
from guestgate.web.auth import runtime_of
from guestgate.web.console import Signed, checked_form, sign_in_first
from guestgate.web.console_pages import refusal, signed_page
from guestgate.web.errors import status_of
from guestgate.web.lifecycle_attest import actions_of

ADMINS_ONLY = "Only administrators change lifecycle policies or keep and remove guests."
MAX_DRAFT = 20_000


def _day(text: str, default: date, name: str) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValidationError(f"{name}: give a date as YYYY-MM-DD.", code="InvalidDate") from None


def _window(values: dict[str, str], now: datetime) -> tuple[date, date]:
    start = _day(values.get("from", ""), now.date(), "From")
    end = _day(values.get("to", ""), start + timedelta(days=30), "To")
    return lifecycle.impact_window(
        datetime.combine(start, datetime.min.time()),
        datetime.combine(end, datetime.min.time()),
        now=now,
    )


def _rows(result: Impact) -> list[dict[str, Any]]:
    rows = []
    for guest, steps in result.items:
        days: dict[str, list[str]] = {}
        for step, day in steps:
            days.setdefault(step, []).append(day.isoformat())
        rows.append({"guest": guest, "days": days})
    return rows


def _admin(signed: Signed) -> None:
    if not signed.person.access.may_manage_webhooks:
        raise PermissionDenied(ADMINS_ONLY, code="NotAnAdministrator")


async def _page(
    request: Request[Any, Any, Any], signed: Signed, values: dict[str, str], *, preview: bool
) -> Response[str]:
    runtime = runtime_of(request)
    tenant_id = signed.tenant.id
    policies = await lifecycle.list_policies(runtime.uow(write=False), tenant_id)
    context: dict[str, Any] = {
        "policies": policies,
        "form": values,
        "rows": [],
        "error": values.get("error"),
        "preview": False,
        "notice": values.get("notice"),
    }
    status = 400 if context["error"] else 200
    try:
        start, end = _window(values, runtime.now())
        context["window"] = (start.isoformat(), end.isoformat())
        draft_text = values.get("draft", "").strip()
        chosen: LifecyclePolicy | None = None
        if draft_text:
            if len(draft_text) > MAX_DRAFT:
                raise ValidationError("The draft is too long.", code="InvalidJson")
            try:
                raw = json.loads(draft_text)
            except json.JSONDecodeError:
                raise ValidationError("The draft is not valid JSON.", code="InvalidJson") from None
            chosen = lifecycle.draft_policy(raw, tenant_id=tenant_id, now=runtime.now())
            context["preview"] = preview
        elif values.get("policy"):
            chosen = next((p for p in policies if p.id == values["policy"]), None)
        elif policies:
            chosen = policies[0]
        context["chosen"] = chosen
        if chosen is not None:
            result = await lifecycle.evaluate(runtime.guest_facts, chosen, start=start, end=end)
            context["rows"] = _rows(result)
    except GuestgateError as exc:
        if status_of(exc) != 400:
            return refusal(signed, exc)
        status, context["error"] = 400, exc.message
    return signed_page(
        signed,
        "console_lifecycle.html",
        status,
        section="lifecycle",
        title=f"Lifecycle - {signed.tenant.name}",
        example=json.dumps(_example(), indent=2),
        **context,
    )


def _example() -> dict[str, Any]:
    ns = "#microsoft.graph.identityGovernance."
    return {
        "@odata.type": f"{ns}guestLifecyclePolicy",
        "displayName": "Redeem in 14 days",
        "isEnabled": True,
        "gracePeriodInDays": 7,
        "enforcementAction": {"@odata.type": f"{ns}disableOnlyEnforcementAction"},
        "rules": [
            {
                "@odata.type": f"{ns}invitationRedemptionRule",
                "invitationRedemptionThresholdInDays": 14,
            }
        ],
        "notificationSchedule": {"offsetsAfterNonComplianceInDays": [1, 5]},
    }


@get("/admin/{tenant:str}/lifecycle", include_in_schema=False)
async def lifecycle_page(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """The dry run of the chosen policy for the window (default: the next 30 days)."""
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    if not signed.person.access.sees_all:
        return refusal(signed, PermissionDenied(ADMINS_ONLY, code="NotAnAdministrator"))
    values = {k: str(request.query_params.get(k, ""))[:100] for k in ("policy", "from", "to")}
    return await _page(request, signed, values, preview=False)


@post("/admin/{tenant:str}/lifecycle", include_in_schema=False, status_code=200)
async def lifecycle_post(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """Preview a draft (its dry run, with Apply), apply a previewed draft, keep or remove."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    runtime = runtime_of(request)
    action = form.get("action", "")
    values = {k: form.get(k, "")[: MAX_DRAFT + 1] for k in ("policy", "from", "to", "draft")}
    try:
        if action == "preview":
            return await _page(request, signed, values, preview=True)
        _admin(signed)
        who = Who(user=signed.person.email)
        if action == "apply":
            raw = json.loads(values["draft"])
            made = await lifecycle.create_policy(
                runtime.uow(),
                guests=runtime.guest_facts,
                tenant_id=signed.tenant.id,
                raw=raw,
                now=runtime.now(),
                who=who,
                confirm=True,  # the preview showed what it does at once
            )
            values = {"policy": made.id, "notice": f"Policy {made.display_name} applied."}
        elif action in (KEEP, REMOVE):
            await attest(
                runtime.uow(),
                actions_of(runtime),
                guests=runtime.guest_facts,
                tenant_id=signed.tenant.id,
                user_id=form.get("guest", "")[:64],
                choice=action,
                by=signed.person.email,
                now=runtime.now(),
            )
            values["draft"] = ""
            values["notice"] = "Guest kept." if action == KEEP else "Guest removed."
        else:
            raise ValidationError("Unknown action.", code="Request_BadRequest")
    except json.JSONDecodeError:
        values["draft"] = ""
        return await _page(request, signed, values, preview=False)
    except GuestgateError as exc:
        if status_of(exc) != 400:
            return refusal(signed, exc)
        return await _page(request, signed, values | {"error": exc.message}, preview=False)
    return await _page(request, signed, values, preview=False)


ROUTES = [lifecycle_page, lifecycle_post]
