"""The guest list's search structures (migration 0031), which `metadata` cannot declare.

- The domain filter: an index on the part of `mail_key` after its last '@' in the list's
  order. It is an expression index, so no writer keeps a column for it; the guest list's
  query writes the same expression (`DOMAIN`), which is how each planner knows the index
  answers it.
- The text search on PostgreSQL: `pg_trgm` GIN trigram indexes on the folded display name
  and address, which serve `LIKE '%x%'` itself. SQLite has none: an FTS5 trigram table kept
  by triggers made every new guest's insert cost 75 µs more and InviteGuest about a fifth
  slower (docs/console.md, Performance), so a text search there reads the guests.

snapshot.py appends `DDL` to the rendered schema; the migration runs the same statements.
"""

from __future__ import annotations

# The same text in the index and in the query (guest_list.py): SQLite matches an expression
# index only to an identical expression. The part after the last '@' (an address holds one,
# but a key without or with two must not match another domain than LIKE '%@domain' did):
# SQLite has no reverse search, so `rtrim` strips every character but '@' from the end.
DOMAIN = {
    "sqlite": "substr(u.mail_key, length(rtrim(u.mail_key, replace(u.mail_key, '@', ''))) + 1)",
    "postgresql": "split_part(u.mail_key, '@', -1)",
}

DDL = {
    "sqlite": (
        "CREATE INDEX ix_users_guest_domain ON users (tenant_id, user_type, "
        + DOMAIN["sqlite"].replace("u.", "")
        + ", created_at, id)",
    ),
    "postgresql": (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX ix_users_guest_domain ON users (tenant_id, user_type, ("
        + DOMAIN["postgresql"].replace("u.", "")
        + "), created_at, id)",
        "CREATE INDEX ix_users_guest_name_trgm ON users USING gin"
        " (display_name_key gin_trgm_ops) WHERE user_type = 'Guest'",
        "CREATE INDEX ix_users_guest_mail_trgm ON users USING gin"
        " (mail_key gin_trgm_ops) WHERE user_type = 'Guest'",
    ),
}
# What the declared schema's comparison (tests) leaves to these statements.
INDEXES = ("ix_users_guest_domain", "ix_users_guest_name_trgm", "ix_users_guest_mail_trgm")
