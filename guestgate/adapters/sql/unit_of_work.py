"""The SQL unit of work: one transaction, rolled back unless told to commit.

It gives the repositories (one module per aggregate) over its transaction; they never
commit: the unit of work does. Each is built when first used in a transaction, not for every
transaction: a request uses two or three of the twenty-odd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar, overload

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

R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository of the unit of work, built over its transaction on first use.

    A non-data descriptor: the built repository is kept in the instance's dict, so later reads
    in the same transaction are plain attribute reads; the unit of work forgets them when its
    transaction begins and ends."""

    def __init__(self, build: Callable[[Any, Transaction], R]) -> None:
        self.build = build
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...
    @overload
    def __get__(self, uow: SqlUnitOfWork, owner: type) -> R: ...
    def __get__(self, uow: SqlUnitOfWork | None, owner: type) -> _Repository[R] | R:
        if uow is None:
            return self
        if uow._tx is None:
            raise RuntimeError(f"{self.name} is used outside its unit of work's transaction")
        repository = self.build(uow, uow._tx)
        uow.__dict__[self.name] = repository
        return repository


class SqlUnitOfWork:
    tenants = _Repository(lambda uow, tx: SqlTenantRepository(tx, uow._tenant_cache))
    apps = _Repository(lambda uow, tx: SqlAppRepository(tx))
    keys = _Repository(lambda uow, tx: SqlKeyRepository(tx))
    audit = _Repository(lambda uow, tx: SqlAuditLog(tx))
    users = _Repository(lambda uow, tx: SqlUserRepository(tx))
    deleted_users = _Repository(lambda uow, tx: SqlDeletedUsers(tx))
    graph_invitations = _Repository(lambda uow, tx: SqlGraphInvitations(tx))
    invitations = _Repository(lambda uow, tx: SqlInvitationRepository(tx))
    outbox = _Repository(lambda uow, tx: SqlOutbox(tx))
    redeem_sessions = _Repository(lambda uow, tx: SqlRedeemSessions(tx))
    rate_limits = _Repository(lambda uow, tx: SqlRateLimits(tx))
    pacing = _Repository(lambda uow, tx: SqlPacing(tx))
    signin = _Repository(lambda uow, tx: SqlSignIn(tx))
    events = _Repository(lambda uow, tx: SqlEventLog(tx))
    webhooks = _Repository(lambda uow, tx: SqlWebhooks(tx))
    subscriptions = _Repository(lambda uow, tx: SqlSubscriptions(tx))
    invitation_policies = _Repository(lambda uow, tx: SqlInvitationPolicies(tx))
    roles = _Repository(lambda uow, tx: SqlRoles(tx))
    console_sessions = _Repository(lambda uow, tx: SqlConsoleSessions(tx))
    guest_list = _Repository(lambda uow, tx: SqlGuestList(tx))
    bulk_jobs = _Repository(lambda uow, tx: SqlBulkJobs(tx))
    odata_feed = _Repository(lambda uow, tx: SqlODataFeed(tx))
    reports = _Repository(lambda uow, tx: SqlReports(tx))
    approvals = _Repository(lambda uow, tx: SqlApprovals(tx))
    lifecycle = _Repository(lambda uow, tx: SqlLifecycle(tx))
    lifecycle_steps = _Repository(lambda uow, tx: SqlLifecycleSteps(tx))

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
        self._forget_repositories()
        self._tx = await self._db.begin(write=self._write, alone=self._alone)
        self._commit_requested = False
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        tx, self._tx = self._tx, None
        self._forget_repositories()
        if tx is None:
            return
        if exc_info[0] is None and self._commit_requested:
            await tx.commit()
        else:
            await tx.rollback()

    def _forget_repositories(self) -> None:
        for name in REPOSITORIES:
            self.__dict__.pop(name, None)

    async def commit(self) -> None:
        """Mark the work to commit when the block ends without an error."""
        self._commit_requested = True


REPOSITORIES = tuple(k for k, v in vars(SqlUnitOfWork).items() if isinstance(v, _Repository))
