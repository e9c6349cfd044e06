"""The SQL unit of work: one transaction, rolled back unless told to commit.

It builds the repositories (one module per aggregate) over its transaction; they never
commit: the unit of work does.
"""

from __future__ import annotations

from typing import Self

from guestgate.adapters.sql.approvals import SqlApprovals
from guestgate.adapters.sql.apps import SqlAppRepository
from guestgate.adapters.sql.audit import SqlAuditLog
from guestgate.adapters.sql.bulk_jobs import SqlBulkJobs
from guestgate.adapters.sql.deleted_users import SqlDeletedUsers
from guestgate.adapters.sql.driver import Database, Transaction
from guestgate.adapters.sql.events import SqlEventLog
from guestgate.adapters.sql.graph_invitations import SqlGraphInvitations
from guestgate.adapters.sql.guest_list import SqlGuestList
from guestgate.adapters.sql.invitation_policies import SqlInvitationPolicies
from guestgate.adapters.sql.invitations import SqlInvitationRepository
from guestgate.adapters.sql.keys import SqlKeyRepository
from guestgate.adapters.sql.lifecycle import SqlLifecycle
from guestgate.adapters.sql.lifecycle_steps import SqlLifecycleSteps
from guestgate.adapters.sql.odata_feed import SqlODataFeed
from guestgate.adapters.sql.outbox import SqlOutbox
from guestgate.adapters.sql.pacing import SqlPacing
from guestgate.adapters.sql.rate_limits import SqlRateLimits
from guestgate.adapters.sql.redeem_sessions import SqlRedeemSessions
from guestgate.adapters.sql.reports import SqlReports
from guestgate.adapters.sql.roles import SqlConsoleSessions, SqlRoles
from guestgate.adapters.sql.signin import SqlSignIn
from guestgate.adapters.sql.subscriptions import SqlSubscriptions
from guestgate.adapters.sql.tenant_cache import TenantCache
from guestgate.adapters.sql.tenants import SqlTenantRepository
from guestgate.adapters.sql.users import SqlUserRepository
from guestgate.adapters.sql.webhooks import SqlWebhooks


class SqlUnitOfWork:
    tenants: SqlTenantRepository
    apps: SqlAppRepository
    keys: SqlKeyRepository
    audit: SqlAuditLog
    users: SqlUserRepository
    deleted_users: SqlDeletedUsers
    graph_invitations: SqlGraphInvitations
    invitations: SqlInvitationRepository
    outbox: SqlOutbox
    redeem_sessions: SqlRedeemSessions
    rate_limits: SqlRateLimits
    pacing: SqlPacing
    signin: SqlSignIn
    events: SqlEventLog
    webhooks: SqlWebhooks
    subscriptions: SqlSubscriptions
    invitation_policies: SqlInvitationPolicies
    roles: SqlRoles
    console_sessions: SqlConsoleSessions
    guest_list: SqlGuestList
    bulk_jobs: SqlBulkJobs
    odata_feed: SqlODataFeed
    reports: SqlReports
    approvals: SqlApprovals
    lifecycle: SqlLifecycle
    lifecycle_steps: SqlLifecycleSteps

    def __init__(
        self,
        db: Database,
        *,
        write: bool = True,
        tenant_cache: TenantCache | None = None,
        alone: bool = False,
    ) -> None:
        self._db = db
        self._write = write
        self._alone = alone
        self._tenant_cache = tenant_cache
        self._tx: Transaction | None = None
        self._commit_requested = False

    async def __aenter__(self) -> Self:
        tx = self._tx = await self._db.begin(write=self._write, alone=self._alone)
        self._commit_requested = False
        self.tenants = SqlTenantRepository(tx, self._tenant_cache)
        self.apps = SqlAppRepository(tx)
        self.keys = SqlKeyRepository(tx)
        self.audit = SqlAuditLog(tx)
        self.users = SqlUserRepository(tx)
        self.deleted_users = SqlDeletedUsers(tx)
        self.graph_invitations = SqlGraphInvitations(tx)
        self.invitations = SqlInvitationRepository(tx)
        self.outbox = SqlOutbox(tx)
        self.redeem_sessions = SqlRedeemSessions(tx)
        self.rate_limits = SqlRateLimits(tx)
        self.pacing = SqlPacing(tx)
        self.signin = SqlSignIn(tx)
        self.events = SqlEventLog(tx)
        self.webhooks = SqlWebhooks(tx)
        self.subscriptions = SqlSubscriptions(tx)
        self.invitation_policies = SqlInvitationPolicies(tx)
        self.roles = SqlRoles(tx)
        self.console_sessions = SqlConsoleSessions(tx)
        self.guest_list = SqlGuestList(tx)
        self.bulk_jobs = SqlBulkJobs(tx)
        self.odata_feed = SqlODataFeed(tx)
        self.reports = SqlReports(tx)
        self.approvals = SqlApprovals(tx)
        self.lifecycle = SqlLifecycle(tx)
        self.lifecycle_steps = SqlLifecycleSteps(tx)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        tx, self._tx = self._tx, None
        if tx is None:
            return
        if exc_info[0] is None and self._commit_requested:
            await tx.commit()
        else:
            await tx.rollback()

    async def commit(self) -> None:
        """Mark the work to commit when the block ends without an error."""
        self._commit_requested = True
