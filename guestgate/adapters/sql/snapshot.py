"""The schema at HEAD as plain SQL, so a new database is created without Alembic.

Importing Alembic and SQLAlchemy and replaying every migration costs about two seconds; a
fresh database instead runs `schema.<dialect>.sql` with the plain driver (a fifth of a second).
The files are rendered from the declared schema (`schema.py`), which a test proves equal to
what the migrations build; another test fails when a file is out of date. After adding a
migration, regenerate them:

    python -m guestgate.adapters.sql.snapshot
"""

from __future__ import annotations

from pathlib import Path

from guestgate.adapters.sql.migrate import HEAD

HERE = Path(__file__).parent
DIALECTS = ("sqlite", "postgresql")


def path_of(dialect: str) -> Path:
    return HERE / f"schema.{dialect}.sql"


def render(dialect: str) -> str:
    """CREATE statements for every table and index, then the Alembic version row; one blank
    line between statements (a trigger's body holds semicolons: migrate.py splits on both)."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from guestgate.adapters.sql import schema_counts, schema_search
    from guestgate.adapters.sql.schema import metadata

    compiler = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}[  # type: ignore[no-untyped-call]
        dialect
    ]
    statements = [
        f"-- guestgate schema at revision {HEAD}, rendered from guestgate/adapters/sql/schema.py"
        " by `python -m guestgate.adapters.sql.snapshot`; do not edit."
    ]
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=compiler)).strip() + ";")
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            statements.append(str(CreateIndex(index).compile(dialect=compiler)).strip() + ";")
    # What metadata cannot declare (the expression index, pg_trgm and its trigram indexes;
    # the kept counts' triggers).
    for ddl in (schema_search.DDL, schema_counts.DDL):
        statements.extend(statement + ";" for statement in ddl[dialect])
    statements.append(
        "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL,"
        "\n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);"
    )
    statements.append(f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD}');")  # noqa: S608
    return "\n\n".join(statements) + "\n"


def main() -> None:
    for dialect in DIALECTS:
        path_of(dialect).write_text(render(dialect))
        print(f"wrote {path_of(dialect)}")


if __name__ == "__main__":
    main()
