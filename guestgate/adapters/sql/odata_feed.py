"""The rows of the OData feed's entity sets, keyset-paged on (created_at, id) ascending.

`$filter` trees become SQL conditions over a fixed column table with every value bound, as
adapters/sql/odata.py does for /v1.0/users. Text compares exactly (OData's `eq` is
case-sensitive), the same on both databases: `startswith` is a `substr` comparison, never
`LIKE` (case-insensitive on SQLite, case-sensitive on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.odata import And, Compare, In, Node, Not, Or, StartsWith
from guestgate.domain.odata_feed import INVITED_USERS, USERS, EntitySet, FeedQuery, FeedRow

_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

_INVITED_FROM = " FROM invitations i JOIN users u ON u.id = i.user_id"
_INVITED_COLUMNS = (
    "SELECT i.id, i.tenant_id, i.created_at, i.redirect_url, i.email, i.requested_by,"
    " i.send_message, u.display_name"
)
_USERS_FROM = " FROM users u LEFT JOIN sign_in_activity a ON a.user_id = u.id"
_USERS_COLUMNS = (
    "SELECT u.id, u.tenant_id, u.created_at, u.display_name, u.mail, u.user_principal_name,"
    " u.user_type, u.external_user_state, u.external_user_state_changed_at,"
    " a.last_sign_in_at"
)

# Filterable property path → SQL expression, per entity set.
_FILTER_COLUMNS: dict[str, dict[str, str]] = {
    INVITED_USERS.name: {
        "PartitionKey": "i.tenant_id",
        "RowKey": "i.id",
        "Timestamp": "i.created_at",
        "Content/InviteRedirectUrl": "i.redirect_url",
        "Content/InvitedUserDisplayName": "u.display_name",
        "Content/InvitedUserEmailAddress": "i.email",
        "Content/RequestedBy": "i.requested_by",
        "Content/SendInvitationMessage": "i.send_message",
    },
    USERS.name: {
        "PartitionKey": "u.tenant_id",
        "RowKey": "u.id",
        "Timestamp": "COALESCE(u.external_user_state_changed_at, u.created_at)",
        "Content/CreatedDateTime": "u.created_at",
        "Content/DisplayName": "u.display_name",
        "Content/Id": "u.id",
        "Content/Mail": "u.mail",
        "Content/UserPrincipalName": "u.user_principal_name",
        "Content/UserType": "u.user_type",
        "Content/ExternalUserState": "u.external_user_state",
        "Content/ExternalUserStateChangeDateTime": "u.external_user_state_changed_at",
        "Content/LastLoginDate": "a.last_sign_in_at",
    },
}
_ORDER = {INVITED_USERS.name: ("i.created_at", "i.id"), USERS.name: ("u.created_at", "u.id")}


class _Translator:
    def __init__(self, entity_set: EntitySet) -> None:
        self.columns = _FILTER_COLUMNS[entity_set.name]
        self.kinds = entity_set.filterable()
        self.params: dict[str, Any] = {}

    def bind(self, prop: str, value: str) -> str:
        name = f"f{len(self.params)}"
        self.params[name] = value == "true" if self.kinds[prop][0] == "bool" else value
        return f":{name}"

    def sql(self, node: Node) -> str:
        if isinstance(node, And):
            return f"({self.sql(node.left)} AND {self.sql(node.right)})"
        if isinstance(node, Or):
            return f"({self.sql(node.left)} OR {self.sql(node.right)})"
        if isinstance(node, Not):
            return f"(NOT {self.sql(node.expr)})"
        if isinstance(node, StartsWith):
            column = self.columns[node.prop]
            # The length is ours (an int), never text of the query.
            length = len(node.prefix)
            return f"(substr({column}, 1, {length}) = {self.bind(node.prop, node.prefix)})"
        if isinstance(node, In):
            values = ", ".join(self.bind(node.prop, v) for v in node.values)
            return f"({self.columns[node.prop]} IN ({values}))"
        assert isinstance(node, Compare)
        column = self.columns[node.prop]
        if node.value is None:
            return f"({column} IS NULL)" if node.op == "eq" else f"({column} IS NOT NULL)"
        value = self.bind(node.prop, node.value)
        if node.op == "ne":
            return f"({column} IS NULL OR {column} <> {value})"
        return f"({column} {_OPS[node.op]} {value})"


def _conditions(tenant_id: str, query: FeedQuery) -> tuple[list[str], dict[str, Any]]:
    alias = "i" if query.entity_set is INVITED_USERS else "u"
    translator = _Translator(query.entity_set)
    where = [f"{alias}.tenant_id = :tid"]
    if query.filter is not None:
        where.append(translator.sql(query.filter))
    return where, {**translator.params, "tid": tenant_id}


def _invited_user(row: Row) -> FeedRow:
    return FeedRow(
        partition_key=row["tenant_id"],
        row_key=row["id"],
        timestamp=row["created_at"],
        content={
            "InviteRedirectUrl": row["redirect_url"],
            "InvitedUserDisplayName": row["display_name"],
            "InvitedUserEmailAddress": row["email"],
            "RequestedBy": row["requested_by"],
            "SendInvitationMessage": bool(row["send_message"]),
        },
        position=(row["created_at"], row["id"]),
    )


def _user(row: Row) -> FeedRow:
    upn: str = row["user_principal_name"]
    return FeedRow(
        partition_key=row["tenant_id"],
        row_key=row["id"],
        timestamp=row["external_user_state_changed_at"] or row["created_at"],
        content={
            # guestgate keeps no licences, addresses, organisation data or session resets.
            "AccountEnabled": True,
            "City": None,
            "CompanyName": None,
            "Country": None,
            "CreatedDateTime": row["created_at"],
            "Department": None,
            "DisplayName": row["display_name"],
            "EmployeeId": None,
            "GivenName": None,
            "HasLicenseAssigned": None,
            "Id": row["id"],
            "JobTitle": None,
            "LastLoginDate": row["last_sign_in_at"],
            "Mail": row["mail"],
            "MailNickname": upn.rsplit("@", 1)[0],
            "OU": None,
            "ShowInAddressList": None,
            "Surname": None,
            "UsageLocation": None,
            "UserPrincipalName": upn,
            "UserType": row["user_type"],
            "ExternalUserState": row["external_user_state"],
            "ExternalUserStateChangeDateTime": row["external_user_state_changed_at"],
            "SignInSessionsValidFromDateTime": None,
        },
        position=(row["created_at"], row["id"]),
    )


class SqlODataFeed:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def page(self, tenant_id: str, query: FeedQuery) -> Sequence[FeedRow]:
        """The page's rows and one more when more follow, oldest first."""
        where, params = _conditions(tenant_id, query)
        created, row_id = _ORDER[query.entity_set.name]
        if query.after is not None:
            where.append(
                f"({created} > :after_at OR ({created} = :after_at AND {row_id} > :after_id))"
            )
            params["after_at"], params["after_id"] = query.after
        params["limit"], params["skip"] = query.limit + 1, query.skip
        invited = query.entity_set is INVITED_USERS
        rows = await self.tx.fetchall(
            (_INVITED_COLUMNS + _INVITED_FROM if invited else _USERS_COLUMNS + _USERS_FROM)
            + " WHERE "
            + " AND ".join(where)
            + f" ORDER BY {created}, {row_id} LIMIT :limit OFFSET :skip",
            params,
        )
        return [(_invited_user if invited else _user)(r) for r in rows]

    async def count(self, tenant_id: str, query: FeedQuery) -> int:
        """Rows matching the query's filter, on every page."""
        where, params = _conditions(tenant_id, query)
        source = _INVITED_FROM if query.entity_set is INVITED_USERS else _USERS_FROM
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS n" + source + " WHERE " + " AND ".join(where),
            params,
        )
        return int(row["n"]) if row else 0
