"""Printing: a readable table by default, one JSON document with --json."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def emit(data: Any, *, as_json: bool, table: Sequence[Mapping[str, Any]] | None = None) -> None:
    """Print `data` as JSON, or `table` (default: data itself) as aligned columns."""
    if as_json:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    rows = table if table is not None else data
    if isinstance(rows, Mapping):
        width = max((len(k) for k in rows), default=0)
        for key, value in rows.items():
            print(f"{key:<{width}}  {_cell(value)}")
        return
    if not rows:
        print("(none)")
        return
    columns = list(rows[0].keys())
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)
