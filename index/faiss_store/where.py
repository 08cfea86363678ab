"""Filters as SQL over the chunk store's documents table (every value a bound parameter)."""

from __future__ import annotations

from typing import Any

from index.filters import All, Any_, Cond, Filter, Not

COLUMNS = {
    "source": "d.source",
    "type": "d.file_type",
    "title": "d.title",
    "size": "d.size",
    "pages": "d.pages",
    "modified": "d.modified",
    "ingested": "d.ingested_at",
}
_ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def to_sql(node: Filter, params: list[Any]) -> str:
    """A boolean SQL expression (never NULL) for `node`, appending its values to `params`."""
    if isinstance(node, All | Any_):
        joiner = " AND " if isinstance(node, All) else " OR "
        return "(" + joiner.join(to_sql(p, params) for p in node.parts) + ")"
    if isinstance(node, Not):
        return f"(NOT {to_sql(node.part, params)})"
    return f"coalesce({_condition(node, params)}, 0)"  # a missing value matches nothing


def _condition(cond: Cond, params: list[Any]) -> str:
    column = _column(cond.field)
    if cond.op == "in":
        params.extend(cond.value)
        return f"{column} IN ({','.join('?' * len(cond.value))})"
    if cond.op == "ne":
        params.append(cond.value)
        return f"({column} IS NULL OR {column} != ?)"
    if cond.op == "prefix":
        params.append(cond.value)
        return f"substr({column}, 1, {len(cond.value)}) = ?"  # LIKE would fold case
    params.append(cond.value)
    operator = {"eq": "=", "glob": "GLOB"}.get(cond.op) or _ORDER[cond.op]
    return f"{column} {operator} ?"


def _column(name: str) -> str:
    if name.startswith("tags."):  # keys match TAG_KEY: letters, digits, _ . - (no quotes)
        return f"json_extract(d.tags, '$.\"{name[5:]}\"')"
    return COLUMNS[name]
