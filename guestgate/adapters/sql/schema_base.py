"""What every table declaration shares: the one `MetaData` and the column types.

The tables themselves are in schema.py and, for sign-in, schema_signin.py; schema.py's
`metadata` holds them all.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData, String

metadata = MetaData()

GUID = String(36)
TIMESTAMP = String(27)  # see domain/timestamps.py
# A 64-bit identity that SQLite also treats as its rowid alias.
ROWID = BigInteger().with_variant(Integer(), "sqlite")
