"""Attestation over HTTP: Graph's `attest` action and the notice mail's Keep / Remove links.

`POST /v1.0/users/{id}/microsoft.graph.identityGovernance.attest` (no body, 204) keeps a
guest; v1.0 takes delegated tokens only, guestgate's tokens are an app's, so it takes an
app holding LifecyclePolicies-Guests.ReadWrite.All (as beta does). The same action is at
`/api/users/{id}/…` in both modes.

A link opens a page that asks first (`GET /lifecycle/attest?t=…`): mail scanners open links,
and a GET never acts. Its form posts the signed link token back with a CSRF token bound to
the link; the link works once.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler

from guestgate.domain.apps import WRITE_LIFECYCLE
from guestgate.errors import GuestgateError, RedemptionError
from guestgate.runtime import Runtime
from guestgate.services.lifecycle_actions import DirectoryLifecycleActions
from guestgate.services.lifecycle_attest import KEEP, LinkClaims, attest, read_link
from guestgate.web.auth import caller_of, runtime_of
from guestgate.web.forms import check_csrf, csrf, read_form, render
from guestgate.web.lifecycle import ROUTE, _require
from guestgate.web.routes import get, post

ACTION = "microsoft.graph.identityGovernance.attest"


def actions_of(runtime: Runtime) -> DirectoryLifecycleActions:
    return DirectoryLifecycleActions(users=runtime.user_admin, invitations=runtime.invitations)


async def attest_user(request: Request[Any, Any, Any], user_ref: str) -> None:
    """Keep the guest: every lifecycle rule's clock starts again (204)."""
    tenant_id = _require(request, WRITE_LIFECYCLE)
    runtime = runtime_of(request)
    await attest(
        runtime.uow(),
        actions_of(runtime),
        guests=runtime.guest_facts,
        tenant_id=tenant_id,
        user_id=user_ref,
        choice=KEEP,
        by=f"app:{caller_of(request).app_id}",
        now=runtime.now(),
    )


def _routes(prefix: str, tag: str) -> list[HTTPRouteHandler]:
    path = f"{prefix}/users/{{user_ref:str}}/{ACTION}"
    return [
        post(
            path,
            opt={"permission": WRITE_LIFECYCLE},
            status_code=204,
            name=f"attest {prefix}",
            **(ROUTE | {"tags": [tag]}),
        )(attest_user)
    ]


def _binding(claims: LinkClaims) -> str:
    return f"attest:{claims.jti}"


async def _claims(runtime: Runtime, token: str) -> LinkClaims:
    return read_link(await runtime.keyring.current(), token, now=runtime.now())


def _refused(error: GuestgateError) -> Response[str]:
    return render(
        "message.html",
        status=400,
        title="This link cannot be used",
        text=error.message,
        hint="Ask for a new notice, or keep or remove the guest in the admin console.",
    )


@get("/lifecycle/attest", include_in_schema=False)
async def attest_page(request: Request[Any, Any, Any], t: str = "") -> Response[str]:
    """Ask the sponsor to confirm the choice the link carries; nothing happens yet."""
    runtime = runtime_of(request)
    try:
        claims = await _claims(runtime, t[:4096])
    except GuestgateError as error:
        return _refused(error)
    return render(
        "lifecycle_attest.html",
        title="Keep this guest?" if claims.choice == KEEP else "Remove this guest?",
        keep=claims.choice == KEEP,
        token=t,
        csrf=csrf(runtime, _binding(claims)),
    )


@post("/lifecycle/attest", include_in_schema=False, status_code=200)
async def attest_confirm(request: Request[Any, Any, Any]) -> Response[str]:
    """Carry out the link's choice, once."""
    runtime = runtime_of(request)
    try:
        form = await read_form(request)
    except RedemptionError as refused:  # another site's post, or not the page's form
        return render("message.html", status=403, title="Refused", text=refused.message)
    try:
        claims = await _claims(runtime, form.get("t", "")[:4096])
        if not check_csrf(runtime, _binding(claims), form):
            return render("message.html", status=403, title="Refused", text="The form expired.")
        await attest(
            runtime.uow(),
            actions_of(runtime),
            guests=runtime.guest_facts,
            tenant_id=claims.tenant_id,
            user_id=claims.user_id,
            choice=claims.choice,
            by=f"sponsor:{claims.sponsor}",
            now=runtime.now(),
            jti=claims.jti,
            sponsor=claims.sponsor,
        )
    except GuestgateError as error:
        return _refused(error)
    done = "kept: their access goes on" if claims.choice == KEEP else "removed"
    return render("message.html", title="Done", text=f"The guest was {done}.")


ROUTES = [*_routes("/api", "Lifecycle"), attest_page, attest_confirm]
GRAPH_ROUTES = _routes("/v1.0", "Microsoft Graph")
