"""App registrations and their client secrets (stored as hashes)."""

from __future__ import annotations

from collections.abc import Sequence

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.apps import App, ClientSecret


def _app(row: Row) -> App:
    return App(
        id=row["id"],
        object_id=row["object_id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        permissions=tuple(row["permissions"].split()),
        created_at=row["created_at"],
        enabled=bool(row["enabled"]),
        redirect_uris=tuple(row["redirect_uris"].split()),
        public_client=bool(row["public_client"]),
        app_id_uri=row["app_id_uri"],
        api_scopes=tuple(row["api_scopes"].split()),
    )


def _secret(row: Row) -> ClientSecret:
    return ClientSecret(
        id=row["id"],
        app_id=row["app_id"],
        hint=row["hint"],
        display_name=row["display_name"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


class SqlAppRepository:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, app: App) -> None:
        await self.tx.execute(
            "INSERT INTO apps (id, object_id, tenant_id, name, permissions, enabled, created_at,"
            " redirect_uris, public_client, app_id_uri, api_scopes) VALUES (:id, :object_id,"
            " :tenant_id, :name, :permissions, :enabled, :created_at, :redirect_uris,"
            " :public_client, :app_id_uri, :api_scopes)",
            {
                "redirect_uris": " ".join(app.redirect_uris),
                "public_client": app.public_client,
                "app_id_uri": app.app_id_uri,
                "api_scopes": " ".join(app.api_scopes),
                "id": app.id,
                "object_id": app.object_id,
                "tenant_id": app.tenant_id,
                "name": app.name,
                "permissions": " ".join(app.permissions),
                "enabled": app.enabled,
                "created_at": app.created_at,
            },
        )

    async def get(self, app_id: str) -> App | None:
        row = await self.tx.fetchone("SELECT * FROM apps WHERE id = :id", {"id": app_id})
        return None if row is None else _app(row)

    async def get_by_app_id_uri(self, tenant_id: str, app_id_uri: str) -> App | None:
        row = await self.tx.fetchone(
            "SELECT * FROM apps WHERE tenant_id = :tid AND app_id_uri = :uri",
            {"tid": tenant_id, "uri": app_id_uri},
        )
        return None if row is None else _app(row)

    async def set_sign_in(
        self,
        app_id: str,
        *,
        redirect_uris: Sequence[str],
        app_id_uri: str | None,
        api_scopes: Sequence[str],
    ) -> None:
        await self.tx.execute(
            "UPDATE apps SET redirect_uris = :uris, app_id_uri = :uri, api_scopes = :scopes"
            " WHERE id = :id",
            {
                "id": app_id,
                "uris": " ".join(redirect_uris),
                "uri": app_id_uri,
                "scopes": " ".join(api_scopes),
            },
        )

    async def list(
        self, tenant_id: str, *, after: tuple[str, str] | None = None, limit: int | None = None
    ) -> Sequence[App]:
        sql = "SELECT * FROM apps WHERE tenant_id = :tid"
        params: dict[str, object] = {"tid": tenant_id}
        if after is not None:
            sql += " AND (created_at > :at OR (created_at = :at AND id > :id))"
            params |= {"at": after[0], "id": after[1]}
        sql += " ORDER BY created_at, id"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [_app(r) for r in await self.tx.fetchall(sql, params)]

    async def get_by_object_id(self, tenant_id: str, object_id: str) -> App | None:
        row = await self.tx.fetchone(
            "SELECT * FROM apps WHERE tenant_id = :tid AND object_id = :oid",
            {"tid": tenant_id, "oid": object_id},
        )
        return None if row is None else _app(row)

    async def update(self, app: App) -> None:
        await self.tx.execute(
            "UPDATE apps SET name = :name, redirect_uris = :uris, public_client = :public,"
            " app_id_uri = :uri, api_scopes = :scopes WHERE id = :id",
            {
                "id": app.id,
                "name": app.name,
                "uris": " ".join(app.redirect_uris),
                "public": app.public_client,
                "uri": app.app_id_uri,
                "scopes": " ".join(app.api_scopes),
            },
        )

    async def delete(self, app_id: str) -> bool:
        # Its secrets, authorization codes and refresh tokens go with it (ON DELETE CASCADE).
        return await self.tx.execute("DELETE FROM apps WHERE id = :id", {"id": app_id}) > 0

    async def add_secret(self, secret: ClientSecret, secret_hash: str) -> None:
        await self.tx.execute(
            "INSERT INTO client_secrets"
            " (id, app_id, secret_hash, hint, display_name, created_at, expires_at)"
            " VALUES (:id, :app_id, :hash, :hint, :display_name, :created_at, :expires_at)",
            {
                "id": secret.id,
                "app_id": secret.app_id,
                "hash": secret_hash,
                "hint": secret.hint,
                "display_name": secret.display_name,
                "created_at": secret.created_at,
                "expires_at": secret.expires_at,
            },
        )

    async def list_secrets(self, app_id: str) -> Sequence[ClientSecret]:
        rows = await self.tx.fetchall(
            "SELECT * FROM client_secrets WHERE app_id = :app_id ORDER BY created_at, id",
            {"app_id": app_id},
        )
        return [_secret(r) for r in rows]

    async def secret_hashes(self, app_id: str) -> Sequence[tuple[str, str]]:
        rows = await self.tx.fetchall(
            "SELECT secret_hash, expires_at FROM client_secrets WHERE app_id = :app_id",
            {"app_id": app_id},
        )
        return [(r["secret_hash"], r["expires_at"]) for r in rows]

    async def remove_secret(self, app_id: str, secret_id: str) -> bool:
        count = await self.tx.execute(
            "DELETE FROM client_secrets WHERE app_id = :app_id AND id = :id",
            {"app_id": app_id, "id": secret_id},
        )
        return count > 0
