"""The guest list's search structures (migration 0031), which `metadata` cannot declare.

- The domain filter: an index on the part of `mail_key` after its last '@' in the list's
  order. It is an expression index, so no writer keeps a column for it; the guest list's
  query writes the same expression (`DOMAIN`), which is how each planner knows the index
  answers it.
- The text search: trigram indexes on the folded display name and address. PostgreSQL has
  `pg_trgm` GIN indexes, which serve `LIKE '%x%'` itself. SQLite has an FTS5 trigram table,
  `users_search`, over the guests' rows of `users` (external content: it holds only the
  index, keyed by the users' rowid); triggers keep it on every insert, update and delete,
  whoever writes. SQLite renumbers the rowids of a table without an INTEGER PRIMARY KEY only
  on VACUUM, which guestgate never runs; after a VACUUM run by hand, fill it again with
  `REFILL` (the migration's own statement) after FTS5's `delete-all` command (a plain
  DELETE would take out of the index the values of every row of users, members' too,
  which it never held).

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

_FTS_COLUMNS = "rowid, display_name_key, mail_key"
REFILL = (
    f"INSERT INTO users_search ({_FTS_COLUMNS})"  # noqa: S608 (fixed text)
    f" SELECT {_FTS_COLUMNS} FROM users WHERE user_type = 'Guest'"
)
_FORGET_OLD = (
    "INSERT INTO users_search (users_search, rowid, display_name_key, mail_key)"
    " SELECT 'delete', old.rowid, old.display_name_key, old.mail_key"
    " WHERE old.user_type = 'Guest';"
)
_ADD_NEW = (
    f"INSERT INTO users_search ({_FTS_COLUMNS})"
    " SELECT new.rowid, new.display_name_key, new.mail_key WHERE new.user_type = 'Guest';"
)

DDL = {
    "sqlite": (
        "CREATE INDEX ix_users_guest_domain ON users (tenant_id, user_type, "
        + DOMAIN["sqlite"].replace("u.", "")
        + ", created_at, id)",
        # The keys are folded already (domain/users.py `fold`), so the index need not fold.
        "CREATE VIRTUAL TABLE users_search USING fts5(display_name_key, mail_key,"
        " content='users', content_rowid='rowid', tokenize='trigram case_sensitive 1')",
        f"CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN {_ADD_NEW} END",
        f"CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN {_FORGET_OLD} END",
        "CREATE TRIGGER users_search_update AFTER UPDATE OF user_type, display_name_key,"
        f" mail_key ON users BEGIN {_FORGET_OLD} {_ADD_NEW} END",
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
TABLE = "users_search"  # and FTS5's own tables, users_search_data, _idx, _docsize, _config
