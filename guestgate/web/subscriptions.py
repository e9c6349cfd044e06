"""Graph change notifications: `/v1.0/subscriptions` for users, as Microsoft Graph answers it.

Creating one runs the validation handshake against its notificationUrl first; the worker
then posts `{"value": [changeNotification, …]}` with the subscription's clientState.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from guestgate.adapters.webhooks import HttpWebhookSender
from guestgate.domain.apps import READ_USERS
from guestgate.domain.subscriptions import Subscription
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import parse_iso
from guestgate.errors import NotFound
from guestgate.services import subscriptions
from guestgate.web.auth import caller_of, runtime_of
from guestgate.web.body import parse_json
from guestgate.web.graph import GRAPH_ROUTE
from guestgate.web.routes import delete, get, patch, post

BODY_BYTES = 8 * 1024


def answer(
    request: Request[Any, Any, Any], found: Subscription, client_state: str | None
) -> dict[str, Any]:
    public = runtime_of(request).settings.http.public_url
    return {
        "@odata.context": f"{public}/v1.0/$metadata#subscriptions/$entity",
        "id": found.id,
        "resource": found.resource,
        "applicationId": found.app_id,
        "changeType": ",".join(found.change_types),
        "clientState": client_state,
        "notificationUrl": found.notification_url,
        "lifecycleNotificationUrl": found.lifecycle_url,
        "expirationDateTime": parse_iso(found.expires_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "creatorId": found.app_id,
        "includeResourceData": False,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
    }


def _id(value: str) -> str:
    if not is_guid(value):
        raise NotFound(f"The subscription {value[:64]} does not exist.", code="ResourceNotFound")
    return value.lower()


@post(
    "/v1.0/subscriptions",
    opt={"permission": READ_USERS},
    status_code=201,
    request_max_body_size=BODY_BYTES,
    **GRAPH_ROUTE,
)
async def create_subscription(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Subscribe to changes of users; the notificationUrl must pass the validation handshake."""
    runtime = runtime_of(request)
    body = parse_json(await request.body(), request.headers.get("content-type"), dict[str, Any])
    caller = caller_of(request)
    hooks = runtime.settings.webhooks
    validator = HttpWebhookSender(
        allow_private=hooks.allow_private_targets,
        timeout=hooks.timeout_seconds,
        resolver=runtime.webhook_resolver,
        ca_file=hooks.ca_file,
    )
    try:
        made, state = await subscriptions.create(
            runtime.uow(),
            tenant_id=caller.tenant_id,
            app_id=caller.app_id,
            body=body,
            sealer=runtime.sealer,
            resolver=runtime.webhook_resolver,
            validator=validator,
            allow_private=hooks.allow_private_targets,
            now=runtime.now(),
        )
    finally:
        await validator.close()
    return answer(request, made, state)


@get("/v1.0/subscriptions", opt={"permission": READ_USERS}, **GRAPH_ROUTE)
async def list_subscriptions(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The calling app's subscriptions."""
    runtime = runtime_of(request)
    caller = caller_of(request)
    found = await subscriptions.list_all(
        runtime.uow(write=False), tenant_id=caller.tenant_id, app_id=caller.app_id
    )
    public = runtime.settings.http.public_url
    return {
        "@odata.context": f"{public}/v1.0/$metadata#subscriptions",
        "value": [
            {k: v for k, v in answer(request, s, None).items() if k != "@odata.context"}
            for s in found
        ],
    }


@get("/v1.0/subscriptions/{subscription_id:str}", opt={"permission": READ_USERS}, **GRAPH_ROUTE)
async def get_subscription(request: Request[Any, Any, Any], subscription_id: str) -> dict[str, Any]:
    """One subscription."""
    runtime = runtime_of(request)
    found, state = await subscriptions.get(
        runtime.uow(write=False),
        tenant_id=caller_of(request).tenant_id,
        subscription_id=_id(subscription_id),
        sealer=runtime.sealer,
    )
    return answer(request, found, state)


@patch(
    "/v1.0/subscriptions/{subscription_id:str}",
    opt={"permission": READ_USERS},
    request_max_body_size=BODY_BYTES,
    **GRAPH_ROUTE,
)
async def renew_subscription(
    request: Request[Any, Any, Any], subscription_id: str
) -> dict[str, Any]:
    """Renew: a new expirationDateTime, at most 41,760 minutes ahead."""
    runtime = runtime_of(request)
    body = parse_json(await request.body(), request.headers.get("content-type"), dict[str, Any])
    tenant_id = caller_of(request).tenant_id
    await subscriptions.renew(
        runtime.uow(),
        tenant_id=tenant_id,
        subscription_id=_id(subscription_id),
        body=body,
        now=runtime.now(),
    )
    found, state = await subscriptions.get(
        runtime.uow(write=False),
        tenant_id=tenant_id,
        subscription_id=_id(subscription_id),
        sealer=runtime.sealer,
    )
    return answer(request, found, state)


@delete("/v1.0/subscriptions/{subscription_id:str}", opt={"permission": READ_USERS}, **GRAPH_ROUTE)
async def delete_subscription(request: Request[Any, Any, Any], subscription_id: str) -> None:
    """Stop a subscription."""
    runtime = runtime_of(request)
    await subscriptions.delete(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        subscription_id=_id(subscription_id),
        now=runtime.now(),
    )


ROUTES = [
    create_subscription,
    list_subscriptions,
    get_subscription,
    renew_subscription,
    delete_subscription,
]
