"""Filters as Milvus expressions over the document collection, verified here exactly.

Milvus' `like` has no escape for `_` and its NOT treats a missing JSON key as unknown, so the
expression sent is a superset of the matches (a NOT, or `ne`, sends no condition at all);
the rows it returns are then checked against the filter itself (index.filters.matches).
"""

from __future__ import annotations

import json

from index.filters import All, Any_, Cond, Filter, Not

FIELDS = {"type": "file_type", "ingested": "ingested_at"}


def to_expr(node: Filter) -> str | None:
    """A Milvus boolean expression matching at least the documents `node` does; None: all."""
    if isinstance(node, Not):
        return None
    if isinstance(node, All):
        parts = [e for e in (to_expr(p) for p in node.parts) if e is not None]
        return " and ".join(f"({e})" for e in parts) if parts else None
    if isinstance(node, Any_):
        found = [to_expr(p) for p in node.parts]
        if any(e is None for e in found):
            return None
        return " or ".join(f"({e})" for e in found)
    return _condition(node)


def _condition(cond: Cond) -> str | None:
    column = _column(cond.field)
    if cond.op == "ne":
        return None
    if cond.op == "in":
        return " or ".join(f"{column} == {_literal(v)}" for v in cond.value)
    if cond.op in ("prefix", "glob"):
        pattern = cond.value + "*" if cond.op == "prefix" else cond.value
        return f"{column} like {_literal(_like(pattern))}"
    operator = {"eq": "==", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[cond.op]
    guard = f"{column} >= 0 and " if cond.field == "pages" else ""  # -1 stands for none
    return f"{guard}{column} {operator} {_literal(cond.value)}"


def _column(name: str) -> str:
    if name.startswith("tags."):
        return f'tags["{name[5:]}"]'  # keys match TAG_KEY: no quotes or brackets
    return FIELDS.get(name, name)


def _like(glob: str) -> str:
    """* and ? as % and _; a literal % or _ then matches more than itself (checked after)."""
    return glob.replace("*", "%").replace("?", "_")


def _literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings and numbers read as Milvus
