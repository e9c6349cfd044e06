"""Translate an OData syntax tree into a SQL condition with bound parameters.

Column names come from a fixed table and every value is a bound parameter, so no text of the
query ever becomes SQL. Text properties compare case-insensitively the same way on both
databases: never with SQL's LOWER() (ASCII-only on SQLite), but as stored folded keys against
values folded in Python (`domain.odata.text_key`); `mail eq` and `in` compare the email key
that also decides which addresses are one guest.
"""

from __future__ import annotations

from typing import Any

from guestgate.domain.odata import PROPERTIES, And, Compare, In, Node, Not, Or, StartsWith, text_key

COLUMNS = {
    "userType": "user_type",
    "externalUserState": "external_user_state",
    "creationType": "creation_type",
    "mail": "mail",
    "displayName": "display_name",
    "userPrincipalName": "user_principal_name",
    "createdDateTime": "created_at",
}
# The folded key column a text property is compared in: for equality, and for prefixes.
EQUALITY_COLUMNS = {
    "mail": "email_key",
    "displayName": "display_name_key",
    "userPrincipalName": "upn_key",
}
SEARCH_COLUMNS = {"mail": "mail_key", "displayName": "display_name_key"}
PREFIX_COLUMNS = {**SEARCH_COLUMNS, "userPrincipalName": "upn_key"}
_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Translator:
    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"f{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def value(self, prop: str, value: str, *, prefix: bool = False) -> str:
        if PROPERTIES[prop][0] != "text":
            return self.bind(value)
        return self.bind(text_key(prop, value, prefix=prefix))

    def column(self, prop: str) -> str:
        """The column a property's values are compared with (for text: its folded key)."""
        return EQUALITY_COLUMNS.get(prop, COLUMNS[prop])

    def sql(self, node: Node) -> str:
        if isinstance(node, And):
            return f"({self.sql(node.left)} AND {self.sql(node.right)})"
        if isinstance(node, Or):
            return f"({self.sql(node.left)} OR {self.sql(node.right)})"
        if isinstance(node, Not):
            return f"(NOT {self.sql(node.expr)})"
        if isinstance(node, StartsWith):
            column = PREFIX_COLUMNS[node.prop]
            pattern = self.bind(escape_like(text_key(node.prop, node.prefix, prefix=True)) + "%")
            return f"({COLUMNS[node.prop]} IS NOT NULL AND {column} LIKE {pattern} ESCAPE '\\')"
        if isinstance(node, In):
            values = ", ".join(self.value(node.prop, v) for v in node.values)
            return f"({self.column(node.prop)} IN ({values}))"
        assert isinstance(node, Compare)
        raw = COLUMNS[node.prop]
        if node.value is None:
            return f"({raw} IS NULL)" if node.op == "eq" else f"({raw} IS NOT NULL)"
        column, value = self.column(node.prop), self.value(node.prop, node.value)
        if node.op == "ne":
            return f"({raw} IS NULL OR {column} <> {value})"
        return f"({column} {_OPS[node.op]} {value})"
