"""Translate an OData syntax tree into a SQL condition with bound parameters.

Column names come from a fixed table and every value is a bound parameter, so no text of the
query ever becomes SQL.
"""

from __future__ import annotations

from typing import Any

from guestgate.domain.odata import PROPERTIES, And, Compare, In, Node, Not, Or, StartsWith

COLUMNS = {
    "userType": "user_type",
    "externalUserState": "external_user_state",
    "creationType": "creation_type",
    "mail": "mail",
    "displayName": "display_name",
    "userPrincipalName": "user_principal_name",
    "createdDateTime": "created_at",
}
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

    def column(self, prop: str) -> tuple[str, bool]:
        """The column expression and whether it compares case-insensitively."""
        text = PROPERTIES[prop][0] == "text"
        column = COLUMNS[prop]
        return (f"LOWER({column})" if text else column), text

    def sql(self, node: Node) -> str:
        if isinstance(node, And):
            return f"({self.sql(node.left)} AND {self.sql(node.right)})"
        if isinstance(node, Or):
            return f"({self.sql(node.left)} OR {self.sql(node.right)})"
        if isinstance(node, Not):
            return f"(NOT {self.sql(node.expr)})"
        if isinstance(node, StartsWith):
            column, _ = self.column(node.prop)
            pattern = self.bind(escape_like(node.prefix.lower()) + "%")
            return f"({COLUMNS[node.prop]} IS NOT NULL AND {column} LIKE {pattern} ESCAPE '\\')"
        if isinstance(node, In):
            column, text = self.column(node.prop)
            values = ", ".join(self.bind(v.lower() if text else v) for v in node.values)
            return f"({column} IN ({values}))"
        assert isinstance(node, Compare)
        raw = COLUMNS[node.prop]
        if node.value is None:
            return f"({raw} IS NULL)" if node.op == "eq" else f"({raw} IS NOT NULL)"
        column, text = self.column(node.prop)
        value = self.bind(node.value.lower() if text else node.value)
        if node.op == "ne":
            return f"({raw} IS NULL OR {column} <> {value})"
        return f"({column} {_OPS[node.op]} {value})"
