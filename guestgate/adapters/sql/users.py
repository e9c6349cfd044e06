"""Users (members and guests) of a tenant, and the OData queries over them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.adapters.sql.odata import SEARCH_COLUMNS, Translator, escape_like
from guestgate.domain.odata import Compare, UserQuery
from guestgate.domain.users import DeletedUser, FirstInvitation, User, fold

# Module-level so that bulk loaders (the bench's seed of a million guests) write the same row
# (`user_params` gives its parameters). A conflict on any unique key (the email key, the
# userPrincipalName) inserts nothing: the caller looks at which one it was. Naming no
# conflict target matters on PostgreSQL: with one named, two first invites of one address
# racing could still meet on the other unique index, and that is an error, not "nothing".
INSERT_USER = (
    "INSERT INTO users (id, tenant_id, user_type, display_name, mail, email_key,"
    " user_principal_name, external_user_state, external_user_state_changed_at,"
    " creation_type, created_at, display_name_key, mail_key, upn_key) VALUES (:id,"
    " :tenant_id, :user_type, :display_name, :mail, :email_key, :upn, :state, :state_at,"
    " :creation_type, :created_at, :display_name_key, :mail_key, :upn_key)"
    " ON CONFLICT DO NOTHING"
)
# A new guest with its first invitation already listed (the guest list's columns, migration
# 0026), so the invitation's insert needs no UPDATE of the row just written.
INSERT_LISTED_USER = (
    "INSERT INTO users (id, tenant_id, user_type, display_name, mail, email_key,"
    " user_principal_name, external_user_state, external_user_state_changed_at,"
    " creation_type, created_at, display_name_key, mail_key, upn_key, latest_invitation_id,"
    " invitation_state, invitation_expires_at, invitation_requester, invited_at) VALUES (:id,"
    " :tenant_id, :user_type, :display_name, :mail, :email_key, :upn, :state, :state_at,"
    " :creation_type, :created_at, :display_name_key, :mail_key, :upn_key, :latest_id,"
    " 'Pending', :latest_expires, :latest_requester, :latest_at)"
    " ON CONFLICT DO NOTHING"
)


def user_params(user: User) -> dict[str, Any]:
    """The parameters of `INSERT_USER` for `user`, its folded lookup keys included."""
    return {
        "id": user.id,
        "tenant_id": user.tenant_id,
        "user_type": user.user_type,
        "display_name": user.display_name,
        "mail": user.mail,
        "email_key": user.email_key,
        "upn": user.user_principal_name,
        "state": user.external_user_state,
        "state_at": user.external_user_state_changed_at,
        "creation_type": user.creation_type,
        "created_at": user.created_at,
        "display_name_key": fold(user.display_name),
        "mail_key": fold(user.mail),
        "upn_key": fold(user.user_principal_name),
    }


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_type=row["user_type"],
        display_name=row["display_name"],
        mail=row["mail"],
        email_key=row["email_key"],
        user_principal_name=row["user_principal_name"],
        external_user_state=row["external_user_state"],
        external_user_state_changed_at=row["external_user_state_changed_at"],
        creation_type=row["creation_type"],
        created_at=row["created_at"],
        account_enabled=bool(row["account_enabled"]),
    )


class SqlUserRepository:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add_if_absent(self, user: User, listed: FirstInvitation | None = None) -> bool:
        """Insert unless the tenant has a user with this email key or userPrincipalName
        (compared folded); True if inserted. With `listed`, the row lists that pending
        invitation as its latest from the start."""
        if listed is None:
            return await self.tx.execute(INSERT_USER, user_params(user)) == 1
        params = user_params(user) | {
            "latest_id": listed.invitation_id,
            "latest_expires": listed.expires_at,
            "latest_requester": listed.requested_by,
            "latest_at": listed.created_at,
        }
        return await self.tx.execute(INSERT_LISTED_USER, params) == 1

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        row = await self.tx.fetchone(
            "SELECT * FROM users WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": user_id},
        )
        return None if row is None else _user(row)

    async def get_by_email(self, tenant_id: str, email_key: str) -> User | None:
        row = await self.tx.fetchone(
            "SELECT * FROM users WHERE tenant_id = :tid AND email_key = :key",
            {"tid": tenant_id, "key": email_key},
        )
        return None if row is None else _user(row)

    async def lock(self, user_id: str) -> None:
        # A no-op write that takes the row lock on PostgreSQL, so concurrent re-invites of one
        # guest queue here and each sees the invitations the previous one committed. SQLite
        # already holds the database write lock (BEGIN IMMEDIATE).
        await self.tx.execute(
            "UPDATE users SET tenant_id = tenant_id WHERE id = :id", {"id": user_id}
        )

    async def mark_accepted(self, user_id: str, now: str) -> None:
        await self.tx.execute(
            "UPDATE users SET external_user_state = 'Accepted',"
            " external_user_state_changed_at = :now WHERE id = :id",
            {"id": user_id, "now": now},
        )

    async def query(self, tenant_id: str, query: UserQuery) -> Sequence[User]:
        """Users matching an OData query, keyset-paged on (sort column, id)."""
        where, params = _user_conditions(tenant_id, query)
        sort = "display_name" if query.order_by == "displayName" else "created_at"
        direction, cmp = ("DESC", "<") if query.descending else ("ASC", ">")
        if query.after is not None:
            where.append(
                f"({sort} {cmp} :after_sort OR ({sort} = :after_sort AND id {cmp} :after_id))"
            )
            params["after_sort"], params["after_id"] = query.after
        params["limit"] = query.top + 1
        rows = await self.tx.fetchall(
            "SELECT * FROM users WHERE "  # noqa: S608 (fixed columns; values are bound)
            + " AND ".join(where)
            + f" ORDER BY {sort} {direction}, id {direction} LIMIT :limit",
            params,
        )
        return [_user(r) for r in rows]

    async def count(self, tenant_id: str, query: UserQuery) -> int:
        node = query.filter
        if (
            query.search is None
            and isinstance(node, Compare)
            and (node.prop, node.op) == ("userType", "eq")
            and node.value is not None
        ):
            # `userType eq 'Guest'` alone: the kept counts (schema_counts.py), summed.
            row = await self.tx.fetchone(
                "SELECT COALESCE(SUM(n), 0) AS n FROM guest_state_counts"
                " WHERE tenant_id = :tid AND user_type = :type",
                {"tid": tenant_id, "type": node.value},
            )
            return int(row["n"]) if row else 0
        where, params = _user_conditions(tenant_id, query)
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS n FROM users WHERE " + " AND ".join(where),  # noqa: S608
            params,
        )
        return int(row["n"]) if row else 0

    async def get_by_upn(self, tenant_id: str, upn: str) -> User | None:
        row = await self.tx.fetchone(
            "SELECT * FROM users WHERE tenant_id = :tid AND upn_key = :upn",
            {"tid": tenant_id, "upn": fold(upn)},
        )
        return None if row is None else _user(row)

    async def reset_redemption(
        self, user_id: str, *, mail: str, email_key: str, upn: str, now: str
    ) -> None:
        """Raises IntegrityError when another user holds the email key or UPN meanwhile."""
        await self.tx.execute(
            "UPDATE users SET mail = :mail, email_key = :key, user_principal_name = :upn,"
            " mail_key = :mail_key, upn_key = :upn_key,"
            " external_user_state = 'PendingAcceptance', external_user_state_changed_at = :now"
            " WHERE id = :id",
            {
                "id": user_id,
                "mail": mail,
                "key": email_key,
                "upn": upn,
                "mail_key": fold(mail),
                "upn_key": fold(upn),
                "now": now,
            },
        )

    async def set_display_name(self, user_id: str, display_name: str) -> None:
        await self.tx.execute(
            "UPDATE users SET display_name = :name, display_name_key = :key WHERE id = :id",
            {"id": user_id, "name": display_name, "key": fold(display_name)},
        )

    async def set_sponsors(self, user_id: str, sponsor_ids: list[str]) -> None:
        """Replace the user's sponsors with `sponsor_ids`, in that order."""
        await self.tx.execute("DELETE FROM user_sponsors WHERE user_id = :id", {"id": user_id})
        for position, sponsor_id in enumerate(dict.fromkeys(sponsor_ids)):
            await self._insert_sponsor(user_id, sponsor_id, position)

    async def _insert_sponsor(self, user_id: str, sponsor_id: str, position: int) -> bool:
        # The sponsor must be a user of the guest's own tenant: the SELECT finds none otherwise.
        return (
            await self.tx.execute(
                "INSERT INTO user_sponsors (user_id, sponsor_id, tenant_id, position)"
                " SELECT g.id, s.id, s.tenant_id, CAST(:pos AS INTEGER) FROM users s JOIN users g"
                " ON g.tenant_id = s.tenant_id WHERE s.id = :sid AND g.id = :uid"
                " ON CONFLICT DO NOTHING",
                {"uid": user_id, "sid": sponsor_id, "pos": position},
            )
            == 1
        )

    async def sponsors(self, user_id: str) -> list[str]:
        """The user's sponsors' ids, in the order they were added."""
        rows = await self.tx.fetchall(
            "SELECT sponsor_id FROM user_sponsors WHERE user_id = :id ORDER BY position",
            {"id": user_id},
        )
        return [r["sponsor_id"] for r in rows]

    async def add_sponsor(self, user_id: str, sponsor_id: str) -> bool:
        """Add one sponsor after the others; False when it already is one."""
        row = await self.tx.fetchone(
            "SELECT COALESCE(MAX(position), -1) + 1 AS p FROM user_sponsors WHERE user_id = :id",
            {"id": user_id},
        )
        return await self._insert_sponsor(user_id, sponsor_id, int(row["p"]) if row else 0)

    async def remove_sponsor(self, user_id: str, sponsor_id: str) -> bool:
        return (
            await self.tx.execute(
                "DELETE FROM user_sponsors WHERE user_id = :uid AND sponsor_id = :sid",
                {"uid": user_id, "sid": sponsor_id},
            )
            == 1
        )

    async def set_account_enabled(self, user_id: str, enabled: bool) -> None:
        await self.tx.execute(
            "UPDATE users SET account_enabled = :on WHERE id = :id",
            {"id": user_id, "on": enabled},
        )

    async def last_sign_in(self, user_id: str) -> str | None:
        row = await self.tx.fetchone(
            "SELECT last_sign_in_at FROM users WHERE id = :id", {"id": user_id}
        )
        return None if row is None else row["last_sign_in_at"]

    async def restore(self, deleted: DeletedUser) -> bool:
        """Put a deleted user back with its id, state and sponsors (those still users);
        False when a live user holds its address or userPrincipalName now."""
        if not await self.add_if_absent(deleted.user):
            return False
        await self.tx.execute(
            # Its invitations stayed deleted: the guest list reads its state as a guest without
            # one, from its external state (migration 0026's rule).
            "UPDATE users SET account_enabled = :on, last_sign_in_at = :last,"
            " invitation_state = CASE WHEN external_user_state = 'Accepted' THEN 'Accepted'"
            " ELSE 'Pending' END WHERE id = :id",
            {
                "id": deleted.user.id,
                "on": deleted.user.account_enabled,
                "last": deleted.last_sign_in_at,
            },
        )
        await self.set_sponsors(deleted.user.id, list(deleted.sponsors))
        return True

    async def delete(self, user_id: str) -> None:
        await self.tx.execute("DELETE FROM users WHERE id = :id", {"id": user_id})

    async def list_guests(
        self, tenant_id: str, *, pending_only: bool, limit: int
    ) -> Sequence[User]:
        sql = "SELECT * FROM users WHERE tenant_id = :tid AND user_type = 'Guest'"
        if pending_only:
            sql += " AND external_user_state = 'PendingAcceptance'"
        rows = await self.tx.fetchall(
            sql + " ORDER BY created_at, id LIMIT :limit", {"tid": tenant_id, "limit": limit}
        )
        return [_user(r) for r in rows]


def _user_conditions(tenant_id: str, query: UserQuery) -> tuple[list[str], dict[str, Any]]:
    translator = Translator()
    # The tenant condition is always first and always ANDed: no filter can widen it.
    where = ["tenant_id = " + translator.bind(tenant_id)]
    if query.filter is not None:
        where.append(translator.sql(query.filter))
    if query.search is not None:
        prop, term = query.search
        pattern = translator.bind("%" + escape_like(fold(term)) + "%")
        where.append(f"{SEARCH_COLUMNS[prop]} LIKE {pattern} ESCAPE '\\'")
    return where, translator.params
