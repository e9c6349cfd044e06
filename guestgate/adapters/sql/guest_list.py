"""The console's guest list: each guest with its latest invitation and last sign-in.

Keyset-paged on (sort column, user id), as users.py `query` pages. The state is the latest
invitation's, as a person reads it; the filters combine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.adapters.sql.odata import escape_like
from guestgate.adapters.sql.schema_search import DOMAIN
from guestgate.domain.console import GuestFilter, GuestRow
from guestgate.domain.timestamps import iso
from guestgate.domain.users import fold

_SORT = {"invited": "u.created_at", "name": "u.display_name_key", "email": "u.mail_key"}
# The latest invitation is read from the guest's own row (migration 0026, kept by
# invitations.py): a filter and its order are one index range, with no per-guest lookup.
_STATE = (
    "CASE WHEN u.invitation_state = 'Pending' AND u.invitation_expires_at <= :now"
    " THEN 'Expired' ELSE u.invitation_state END"
)
_PENDING = (
    "u.invitation_state = 'Pending'"
    " AND (u.invitation_expires_at IS NULL OR u.invitation_expires_at > :now)"
)
# The same guests as _PENDING in two disjoint parts, each one range of ix_users_guest_expiry:
# neither planner reads the OR of a missing and a future expiry as ranges (SQLite sorts NULL
# first, PostgreSQL last), and PostgreSQL, misjudging how many Pending guests it holds, would
# read every Pending entry instead.
_PENDING_PARTS = (
    "u.invitation_state = 'Pending' AND u.invitation_expires_at IS NULL",
    "u.invitation_state = 'Pending' AND u.invitation_expires_at > :now",
)
_WHERE_STATE = {
    "Pending": _PENDING,
    "Expired": "u.invitation_state = 'Pending' AND u.invitation_expires_at <= :now",
}
_FROM = " FROM users u LEFT JOIN sign_in_activity a ON a.user_id = u.id"
_HAS_AT = {"sqlite": "instr(u.mail_key, '@') > 0", "postgresql": "strpos(u.mail_key, '@') > 0"}


def _conditions(
    dialect: str, tenant_id: str, where: GuestFilter, now: str
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and its parameters. PostgreSQL's planner answers the text's LIKE from
    its pg_trgm indexes or the list's order, as it judges; SQLite reads the guests."""
    clauses = ["u.tenant_id = :tid", "u.user_type = 'Guest'"]
    params: dict[str, Any] = {"tid": tenant_id, "now": now}
    if where.state is not None:
        if where.state in _WHERE_STATE:
            clauses.append(_WHERE_STATE[where.state])
        else:
            clauses.append("u.invitation_state = :state")
            params["state"] = where.state
    if where.domain is not None:
        domain = fold(where.domain)
        if "@" in domain:  # no address has two; only LIKE answers as it always did
            clauses.append("u.mail_key LIKE :domain ESCAPE '\\'")
            params["domain"] = "%@" + escape_like(domain)
        else:
            # The same keys as LIKE '%@domain' (an '@', and the domain after the last one),
            # as one range of ix_users_guest_domain. Not the LIKE itself: PostgreSQL would
            # answer that from the address's trigram index instead, and read every match.
            clauses.append(f"{DOMAIN[dialect]} = :domain AND {_HAS_AT[dialect]}")
            params["domain"] = domain
    if where.requester is not None:
        clauses.append("u.invitation_requester = :requester")
        params["requester"] = where.requester
    if where.text is not None:
        clauses.append(
            "(u.display_name_key LIKE :text ESCAPE '\\' OR u.mail_key LIKE :text ESCAPE '\\')"
        )
        params["text"] = "%" + escape_like(fold(where.text)) + "%"
    if where.pending_days is not None:
        # Pending (not expired, revoked or accepted) since at least that many days.
        cutoff = datetime.fromisoformat(now) - timedelta(days=where.pending_days)
        clauses.append(_PENDING + " AND COALESCE(u.invited_at, u.created_at) <= :before")
        params["before"] = iso(cutoff)
    if where.user_id is not None:
        clauses.append("u.id = :uid")
        params["uid"] = where.user_id
    if where.within is not None:
        clauses.append(
            "(u.invitation_requester = :me OR EXISTS (SELECT 1 FROM user_sponsors s"
            " WHERE s.tenant_id = u.tenant_id AND s.sponsor_id = :sponsor AND s.user_id = u.id))"
        )
        params["me"] = where.within[0]
        params["sponsor"] = where.within[1]
    return " WHERE " + " AND ".join(clauses), params


def _row(row: Row, sort: str, sponsors: Sequence[str]) -> GuestRow:
    return GuestRow(
        user_id=row["id"],
        display_name=row["display_name"],
        email=row["mail"],
        state=row["state"],
        invited_at=row["invited_at"] or row["created_at"],
        requester=row["requested_by"],
        last_sign_in=row["last_sign_in_at"],
        invitation_id=row["invitation_id"],
        sort_value=row[sort],
        sponsors=tuple(sponsors),
        account_enabled=bool(row["account_enabled"]),
    )


class SqlGuestList:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def page(self, tenant_id: str, where: GuestFilter, *, now: str) -> Sequence[GuestRow]:
        """One page (`top` + 1 rows: one more tells there is a next page)."""
        sql, params = _conditions(self.tx.dialect, tenant_id, where, now)
        sort = _SORT[where.sort]
        direction, cmp = ("DESC", "<") if where.descending else ("ASC", ">")
        after = ""
        if where.after is not None:
            after = (
                f" AND ({sort} {cmp} :after_sort"
                f" OR ({sort} = :after_sort AND u.id {cmp} :after_id))"
            )
            params["after_sort"], params["after_id"] = where.after
        params["limit"] = where.top + 1
        source = _FROM + sql + after
        if where.pending_days is not None:
            # The guests pending longer than N days are among those still within their
            # expiry, a short range of ix_users_guest_expiry: found there first and then
            # sorted, instead of walking every Pending guest in the list's order.
            matching = " UNION ALL ".join(
                f"SELECT u.id FROM users u{part}"  # noqa: S608 (fixed text; values bound)
                for part in await self._parts(tenant_id, sql)
            )
            source = (
                " FROM m CROSS JOIN users u LEFT JOIN sign_in_activity a ON a.user_id = u.id"
                f" WHERE u.id = m.id{after}"
            )
            prefix = f"WITH m AS MATERIALIZED ({matching}) "
        else:
            prefix = ""
        rows = await self.tx.fetchall(
            prefix + "SELECT u.id, u.display_name, u.mail, u.created_at, u.account_enabled,"
            f" {sort} AS sort_value, {_STATE} AS state, u.latest_invitation_id AS invitation_id,"
            " u.invitation_requester AS requested_by, u.invited_at, a.last_sign_in_at"
            + source
            + f" ORDER BY {sort} {direction}, u.id {direction} LIMIT :limit",
            params,
        )
        sponsors: dict[str, list[str]] = {r["id"]: [] for r in rows}
        if rows:
            names = {f"u{n}": r["id"] for n, r in enumerate(rows)}
            found = await self.tx.fetchall(
                "SELECT user_id, sponsor_id FROM user_sponsors WHERE user_id IN ("  # noqa: S608
                + ", ".join(f":{n}" for n in names)
                + ") ORDER BY user_id, position",
                names,
            )
            for s in found:
                sponsors[s["user_id"]].append(s["sponsor_id"])
        return [_row(r, "sort_value", sponsors[r["id"]]) for r in rows]

    async def count(self, tenant_id: str, where: GuestFilter, *, now: str) -> int:
        """How many guests match. With no filter or a state alone, from the kept counts
        (schema_counts.py) and the Pending guests still within their expiry; otherwise every
        filter reads the guest's own row, so the count is one range of an index (the
        requester's, domain's or expiry's) or, for a text on PostgreSQL, of the trigram
        indexes' matches; never a lookup per guest."""
        if _kept(where):
            return await self._kept_count(tenant_id, where.state, now)
        sql, params = _conditions(self.tx.dialect, tenant_id, where, now)
        return await self._count(tenant_id, sql, params)

    async def _count(self, tenant_id: str, sql: str, params: dict[str, Any]) -> int:
        counts = " + ".join(
            f"(SELECT COUNT(*) FROM users u{part})"  # noqa: S608 (fixed text; values bound)
            for part in await self._parts(tenant_id, sql)
        )
        row = await self.tx.fetchone(f"SELECT {counts} AS n", params)
        return int(row["n"]) if row else 0

    async def _parts(self, tenant_id: str, sql: str) -> tuple[str, ...]:
        """The WHERE clause as disjoint clauses whose matches together are its own. The part
        of Pending guests without an expiry only if the tenant has one: PostgreSQL, judging
        the columns apart, expects a quarter of the guests there (as many as are Pending,
        times the share without an expiry, most of them not Pending) and would plan the
        page for that many, with a scan of every guest and a JIT compilation."""
        if _PENDING not in sql:
            return (sql,)
        unexpiring = await self.tx.fetchone(
            "SELECT 1 AS found FROM users u WHERE u.tenant_id = :tid"  # noqa: S608 (fixed text)
            f" AND u.user_type = 'Guest' AND {_PENDING_PARTS[0]}"
            # In the index's order: PostgreSQL, expecting many, would scan the table for one.
            " ORDER BY u.invitation_expires_at LIMIT 1",
            {"tid": tenant_id},
        )
        parts = _PENDING_PARTS if unexpiring else _PENDING_PARTS[1:]
        return tuple(sql.replace(_PENDING, part) for part in parts)

    async def _kept_count(self, tenant_id: str, state: str | None, now: str) -> int:
        """The same number as COUNT(*): a state's kept count, or all of them; Pending is the
        live count of those not past their expiry (a range of ix_users_guest_expiry holding
        only guests invited within the invitation's lifetime), Expired the rest."""
        params = {"tid": tenant_id, "now": now}
        kept = await self.tx.fetchall(
            "SELECT state, SUM(n) AS n FROM guest_state_counts"
            " WHERE tenant_id = :tid AND user_type = 'Guest' GROUP BY state",
            params,
        )
        counts = {r["state"]: int(r["n"]) for r in kept}
        if state is None:
            return sum(counts.values())
        if state not in _WHERE_STATE:
            return counts.get(state, 0)
        live = await self._count(
            tenant_id, f" WHERE u.tenant_id = :tid AND u.user_type = 'Guest' AND {_PENDING}", params
        )
        return live if state == "Pending" else counts.get("Pending", 0) - live


def _kept(where: GuestFilter) -> bool:
    """Whether the count is a kept one: no filter but the state."""
    narrowed = (where.domain, where.requester, where.text, where.pending_days)
    return all(v is None for v in narrowed) and where.user_id is None and where.within is None
