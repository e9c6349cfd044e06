"""SQL storage: one schema for SQLite and PostgreSQL, Alembic migrations, lean drivers."""
