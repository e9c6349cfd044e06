"""The composition root: the one place that turns Settings into the objects a process uses.

`serve` builds one runtime in each worker process (web/app.py `create_app`), every CLI
command builds one for the length of the command (`running`), and `guestgate worker` builds
one for its outbox loop. Adapters are chosen here and nowhere else.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from guestgate import logs
from guestgate.adapters.mail.render import Sender
from guestgate.adapters.mail.transport import Transport, make_transport
from guestgate.adapters.sealing import Sealer, derive, secret_hash_key
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.tenant_cache import TenantCache
from guestgate.adapters.tokens import KeyRing, TokenVerifier
from guestgate.adapters.webhooks import HttpWebhookSender
from guestgate.config import MailSettings, Settings
from guestgate.domain.signing import KeySet
from guestgate.domain.throttle import Limit
from guestgate.runtime import Authenticator, GraphRuntime, Runtime
from guestgate.services.approvals import ApprovalService
from guestgate.services.bulk import BulkRunner
from guestgate.services.directory import Directory
from guestgate.services.governance import Governance
from guestgate.services.invitations import InvitationService
from guestgate.services.keys import load_key_set
from guestgate.services.lifecycle_actions import DirectoryLifecycleActions
from guestgate.services.lifecycle_cadence import Cadence
from guestgate.services.lifecycle_facts import SqlGuestFacts
from guestgate.services.lifecycle_ports import GuestFactsSource
from guestgate.services.lifecycle_scheduler import PassResult, run_pass
from guestgate.services.local_directory import LocalDirectory
from guestgate.services.local_user_admin import LocalUserAdmin
from guestgate.services.pacing import Pacer
from guestgate.services.ports import UnitOfWork
from guestgate.services.tenants import find_tenant
from guestgate.services.throttles import Throttles
from guestgate.services.tokens import GRAPH, GUESTGATE_API
from guestgate.services.user_admin import UserAdmin
from guestgate.services.webhook_delivery import DeliveryPolicy
from guestgate.worker import BulkWorker, OutboxWorker, WebhookWorker

DEFAULT_POOL_SIZE = 4


def configure_process(settings: Settings) -> None:
    """Process-wide set-up every entry point does first: JSON logs at the configured level."""
    logs.configure(settings.log_level)


def build_runtime(
    settings: Settings,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    poll_seconds: float = 1.0,
    connect_graph: bool = False,
) -> Runtime:
    """The runtime of one process; it opens nothing until used. Close it with `close()`.

    `connect_graph`: in graph mode, also build the Graph client and check callers' tokens
    against the Microsoft 365 tenant (what `serve` needs). CLI commands and `guestgate worker`
    act on the database only and leave it off: building it may call Entra.
    """
    key = settings.secret_key
    db = connect(settings.database.url, pool_size=pool_size)
    tenant_cache = TenantCache()
    sealer = Sealer(key)
    runtime: Runtime

    async def load_keys() -> KeySet:
        return await load_key_set(runtime.uow(write=False), sealer=sealer, now=runtime.now())

    async def tenant_exists(tenant_id: str) -> bool:
        async with runtime.uow(write=False) as uow:
            return await find_tenant(uow.tenants, tenant_id, links=False) is not None

    async def app_exists(tenant_id: str, app_id: str) -> bool:
        async with runtime.uow(write=False) as uow:
            app = await uow.apps.get(app_id)
            return app is not None and app.tenant_id == tenant_id

    keyring = KeyRing(load_keys, refresh_seconds=settings.tokens.key_refresh_seconds)
    verifier: Authenticator = TokenVerifier(
        keyring,
        public_url=settings.http.public_url,
        audiences=frozenset({GRAPH, GUESTGATE_API}),
        leeway=settings.tokens.leeway_seconds,
        tenant_exists=tenant_exists,
        app_exists=app_exists,
    )
    graph = None
    if connect_graph and settings.graph_mode:
        graph, verifier = _graph_mode(settings)
    per_minute = settings.limits.token_failures_per_minute
    runtime = Runtime(
        settings=settings,
        db=db,
        sealer=sealer,
        hash_key=secret_hash_key(key),
        cursor_key=derive(key, "guestgate paging cursor v1"),
        form_key=derive(key, "guestgate redemption forms v1"),
        keyring=keyring,
        verifier=verifier,
        worker=OutboxWorker(
            lambda: runtime.uow(),
            sealer=sealer,
            transport=mail_transport(settings.mail),
            sender=mail_sender(settings.mail),
            poll_seconds=poll_seconds,
            retry_base=settings.mail.outbox_retry_base_seconds,
            lease_seconds=settings.mail.outbox_lease_seconds,
            retention_days=settings.mail.retention_days,
            deleted_user_days=settings.mail.deleted_user_days,
            webhooks=webhook_worker(
                settings, lambda: runtime.uow(alone=True), sealer, poll_seconds
            ),
        ),
        client_failures=Limit("token-client", per_minute, 60),
        address_failures=Limit("token-address", per_minute * 5, 60),
        page_failures=Limit("page-address", settings.limits.page_failures_per_10_minutes, 600),
        tenant_cache=tenant_cache,
        graph=graph,
    )
    runtime.invitations = _invitation_service(runtime)
    runtime.user_admin = _user_admin(runtime)
    runtime.guest_facts = _guest_facts(runtime)
    # The lifecycle scheduler acts on the deployment's directory: in Microsoft 365 mode only
    # where the Graph client and guestgate's own app registration are (as bulk jobs below).
    if (
        runtime.worker.webhooks is not None
        and settings.lifecycle_scheduler
        and (not settings.graph_mode or runtime.has_graph_app)
    ):
        runtime.worker.webhooks.lifecycle = _lifecycle_pass(runtime)
    if runtime.worker.webhooks is not None and runtime.invitations.approvals is not None:
        runtime.worker.webhooks.expire_approvals = runtime.invitations.approvals.expire_due
    # Jobs run where invitations go to the deployment's directory: in Microsoft 365 mode only
    # where the Graph client is (`serve` and `guestgate worker`; other commands do not build
    # it), and only with guestgate's own app registration: a job has no caller's token.
    if not settings.graph_mode or (graph is not None and graph.app_tokens is not None):
        runner = BulkRunner(runtime.uow, runtime.invitations, sealer, runtime.now)
        runtime.worker.bulk = BulkWorker(runner, poll_seconds=poll_seconds)
    runtime.throttles = Throttles(lambda write=True: runtime.uow(write=write, alone=True))
    return runtime


@contextlib.asynccontextmanager
async def running(
    settings: Settings, *, pool_size: int = 1, connect_graph: bool = False
) -> AsyncIterator[Runtime]:
    """A runtime for one CLI command (one connection), closed when the command is done;
    `connect_graph` as in build_runtime (a command that reads the Microsoft 365 tenant)."""
    runtime = build_runtime(settings, pool_size=pool_size, connect_graph=connect_graph)
    try:
        yield runtime
    finally:
        await runtime.close()


def webhook_worker(
    settings: Settings, make_uow: Callable[[], UnitOfWork], sealer: Sealer, poll_seconds: float
) -> WebhookWorker:
    """Webhook delivery beside the mail outbox, with the SSRF guard of the settings."""
    hooks = settings.webhooks
    sender = HttpWebhookSender(
        allow_private=hooks.allow_private_targets,
        timeout=hooks.timeout_seconds,
        ca_file=hooks.ca_file,
    )
    policy = DeliveryPolicy(timeout_seconds=hooks.timeout_seconds, retry_scale=hooks.retry_scale)
    return WebhookWorker(
        make_uow,
        sealer=sealer,
        sender=sender,
        policy=policy,
        poll_seconds=poll_seconds,
        event_retention_days=hooks.event_retention_days,
    )


def mail_transport(mail: MailSettings) -> Transport:
    """SMTP when a URL is configured, else the mail folder."""
    return make_transport(mail.smtp_url, mail.mail_dir, ca_file=mail.smtp_ca_file)


def mail_sender(mail: MailSettings) -> Sender:
    return Sender(mail.mail_from)


def _invitation_service(runtime: Runtime) -> InvitationService:
    """The invitation use-cases (services/invitations.py) over this process's directory:
    Microsoft 365 when the Graph client was built, guestgate's own database otherwise."""
    directory: Directory
    if runtime.graph is not None:
        from guestgate.services.graph_directory import GraphDirectory

        # Graph counts invitations when they arrive; we count when they leave. A margin on
        # the 5-second window (40 ms by default: 29.76 invitations/s) absorbs the difference
        # in latency between a request and the one `limit` turns later. The pacer counts in
        # the database, so the limit holds for every process of the deployment together.
        graph = runtime.settings.graph
        pacer = Pacer(
            lambda: runtime.uow(alone=True),
            name="graph-invitations",
            limit=graph.invites_per_window,
            window=5.0 + graph.pacing_margin_ms / 1000,
        )
        directory = GraphDirectory(
            runtime.uow,
            client=runtime.graph.client,
            limiter=pacer,
            app_tokens=runtime.graph.app_tokens,
            now=runtime.now,
        )
    else:
        directory = LocalDirectory(
            runtime.uow,
            sealer=runtime.sealer,
            public_url=runtime.settings.http.public_url,
            cursor_key=runtime.cursor_key,
            now=runtime.now,
            ticket_key=derive(runtime.hash_key, "guestgate invitation tickets v1"),
        )
    governance = Governance(
        sealer=runtime.sealer, directory=directory.name, uow=runtime.uow, now=runtime.now
    )
    service = InvitationService(directory, governance, wake=runtime.worker.wake)
    service.approvals = ApprovalService(
        runtime.uow,
        directory=directory,
        governance=governance,
        sealer=runtime.sealer,
        public_url=runtime.settings.http.public_url,
        now=runtime.now,
        wake=runtime.worker.wake,
    )
    return service


def _lifecycle_pass(runtime: Runtime) -> Callable[[], Awaitable[PassResult | None]]:
    """One pass of the lifecycle scheduler at the runtime's clock, when one is wanted
    (services/lifecycle_cadence.py); None when this look needs none."""
    actions = DirectoryLifecycleActions(users=runtime.user_admin, invitations=runtime.invitations)
    cadence = Cadence()

    async def run() -> PassResult | None:
        now = runtime.now()
        async with runtime.uow(write=False) as uow:
            policies = tuple((p.id, p.version, p.enabled) for p in await uow.lifecycle.list())
        if not cadence.wanted(now.date(), policies):
            return None
        result = await run_pass(
            runtime.uow,
            actions,
            guests=runtime.guest_facts,
            now=now,
            keys=await runtime.keyring.current(),
            link_base=runtime.settings.http.public_url,
            sealer=runtime.sealer,
        )
        cadence.ran(now.date(), policies, left=result.left)
        return result

    return run


def _guest_facts(runtime: Runtime) -> GuestFactsSource:
    """Where lifecycle policies read the guests: Graph's users when the Graph client was built
    (Microsoft 365 mode), guestgate's own database otherwise."""
    if runtime.graph is not None:
        from guestgate.services.graph_lifecycle_facts import GraphGuestFacts

        return GraphGuestFacts(
            runtime.uow,
            client=runtime.graph.client,
            app_tokens=runtime.graph.app_tokens,
            graph_url=runtime.settings.graph.url,
        )
    return SqlGuestFacts(runtime.uow)


def _user_admin(runtime: Runtime) -> UserAdmin:
    """Sponsors, accountEnabled and deleted users over the same directory as invitations."""
    if runtime.graph is not None:
        from guestgate.services.graph_user_admin import GraphUserAdmin

        graph = GraphUserAdmin(
            runtime.uow,
            client=runtime.graph.client,
            app_tokens=runtime.graph.app_tokens,
            now=runtime.now,
        )
        return UserAdmin(graph, name="graph")
    return UserAdmin(LocalUserAdmin(runtime.uow, now=runtime.now), name="local")


def _graph_mode(settings: Settings) -> tuple[GraphRuntime, Authenticator]:
    """Graph mode's client, and who vouches for callers' tokens."""
    # Imported here: local mode never loads httpx, msal or the Graph adapter.
    from guestgate.adapters.graph import (
        AppTokenProvider,
        ForwardingAuthenticator,
        GraphClient,
        JwksKeys,
    )

    graph = settings.graph
    client = GraphClient(graph.url, timeout=graph.timeout_seconds, ca_file=graph.ca_file)
    if not (graph.client_id and graph.client_secret and graph.tenant):
        return GraphRuntime(client, app_tokens=None), ForwardingAuthenticator(client)
    # guestgate's own app in the tenant: callers prove themselves with Entra tokens for
    # guestgate's API, validated against the tenant's published keys.
    tenant = graph.tenant.lower()
    keys = JwksKeys(f"{graph.entra_url}/{tenant}/discovery/v2.0/keys", ca_file=graph.ca_file)
    verifier = TokenVerifier(
        keys,
        public_url=graph.entra_url,
        audiences=frozenset({graph.client_id, GUESTGATE_API}),
        tenants=frozenset({tenant}),
        leeway=settings.tokens.leeway_seconds,
    )
    app_tokens = AppTokenProvider(
        client_id=graph.client_id,
        secret=graph.client_secret,
        tenant=tenant,
        authority=graph.entra_url,
        ca_file=graph.ca_file,
    )
    return GraphRuntime(client, app_tokens), verifier
