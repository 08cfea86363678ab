"""The metadata filter language: JSON in, a validated tree out, compiled by each store.

A filter is a condition or a combination of them:

    {"field": "type", "in": ["pdf", "docx"]}
    {"and": [{"field": "source", "glob": "legal/*.pdf"},
             {"field": "modified", "gte": "2024-01-01"}]}
    {"or": [...]}, {"not": {...}}

Fields: source, type, title (text); size, pages (numbers); modified, ingested (dates, ISO 8601;
a bare date means the whole day); tags.KEY (text). Operators: eq, ne, in, prefix and glob
(text; glob knows * and ?), gt, gte, lt, lte (numbers and dates). One operator per condition.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

from index.errors import InvalidFilter

TEXT_FIELDS = ("source", "type", "title")
NUMBER_FIELDS = ("size", "pages")
DATE_FIELDS = ("modified", "ingested")
TAG_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
TEXT_OPS = ("eq", "ne", "in", "prefix", "glob")
ORDER_OPS = ("gt", "gte", "lt", "lte")
MAX_NODES = 64  # conditions and combinations in one filter
MAX_DEPTH = 8
MAX_VALUES = 1000  # items in one `in` list
MAX_TEXT = 1024  # characters in one value


@dataclass(frozen=True)
class Cond:
    """`field op value`; for `in`, value is a tuple."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class All:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Any_:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    part: Filter


Filter = Union[Cond, All, Any_, Not]  # noqa: UP007 (a runtime alias)


def parse(raw: object) -> Filter:
    """The filter tree of `raw` (parsed JSON), or InvalidFilter saying what is wrong and where."""
    count = [0]
    return _node(raw, "filter", 0, count)


def _node(raw: object, where: str, depth: int, count: list[int]) -> Filter:
    count[0] += 1
    if count[0] > MAX_NODES or depth > MAX_DEPTH:
        raise InvalidFilter(f"filter too large: at most {MAX_NODES} nodes, {MAX_DEPTH} deep")
    if not isinstance(raw, Mapping):
        raise InvalidFilter(f"{where}: expected an object, got {type(raw).__name__}")
    if "field" in raw:
        return _condition(raw, where)
    if len(raw) != 1 or next(iter(raw)) not in ("and", "or", "not"):
        raise InvalidFilter(f'{where}: expected {{"field": ...}}, or one of and / or / not')
    key, value = next(iter(raw.items()))
    if key == "not":
        return Not(_node(value, f"{where}.not", depth + 1, count))
    if not isinstance(value, list) or not value:
        raise InvalidFilter(f"{where}.{key}: expected a non-empty list of filters")
    parts = tuple(_node(v, f"{where}.{key}[{i}]", depth + 1, count) for i, v in enumerate(value))
    return All(parts) if key == "and" else Any_(parts)


def _condition(raw: Mapping[str, Any], where: str) -> Filter:
    name = raw["field"]
    ops = [k for k in raw if k != "field"]
    if len(ops) != 1:
        raise InvalidFilter(f'{where}: give exactly one operator beside "field", got {ops}')
    op = ops[0]
    kind = _kind(name, where)
    allowed = TEXT_OPS if kind == "text" else ("eq", "ne", "in", *ORDER_OPS)
    if op not in allowed:
        raise InvalidFilter(
            f"{where}: operator {op!r} does not apply to {name!r} ({kind}); "
            f"use one of {', '.join(allowed)}"
        )
    value = _values(raw[op], kind, op, f"{where}.{op}")
    return _dated(name, op, value) if kind == "date" else Cond(name, op, value)


def _kind(name: object, where: str) -> str:
    if isinstance(name, str) and name.startswith("tags."):
        if not TAG_KEY.match(name[5:]):
            raise InvalidFilter(f"{where}: tag names are 1-64 letters, digits, '_', '.' or '-'")
        return "text"
    for kind, names in (("text", TEXT_FIELDS), ("number", NUMBER_FIELDS), ("date", DATE_FIELDS)):
        if name in names:
            return kind
    known = ", ".join((*TEXT_FIELDS, *NUMBER_FIELDS, *DATE_FIELDS, "tags.KEY"))
    raise InvalidFilter(f"{where}: unknown field {name!r}; fields: {known}")


def _values(raw: object, kind: str, op: str, where: str) -> Any:
    if op != "in":
        return _value(raw, kind, op, where)
    if not isinstance(raw, list) or not raw or len(raw) > MAX_VALUES:
        raise InvalidFilter(f"{where}: expected a list of 1 to {MAX_VALUES} values")
    return tuple(_value(v, kind, op, f"{where}[{i}]") for i, v in enumerate(raw))


def _value(raw: object, kind: str, op: str, where: str) -> Any:
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise InvalidFilter(f"{where}: expected a number, got {raw!r}")
        return raw
    if not isinstance(raw, str) or len(raw) > MAX_TEXT:
        raise InvalidFilter(f"{where}: expected a string of at most {MAX_TEXT} characters")
    if op == "glob" and "[" in raw:
        raise InvalidFilter(f"{where}: glob patterns know * and ? only")
    return _date(raw, where) if kind == "date" else raw


def _date(raw: str, where: str) -> dt.date | dt.datetime:
    """A bare date stays a date (a whole day); a time without a zone is taken as UTC."""
    try:
        if len(raw) == 10:
            return dt.date.fromisoformat(raw)
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidFilter(f"{where}: {raw!r} is not an ISO 8601 date (2024-01-31)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _dated(name: str, op: str, value: Any) -> Filter:
    """Dates as stored text (ISO, UTC): a bare date covers its whole day."""
    if op == "in":
        return Any_(tuple(_dated(name, "eq", v) for v in value))
    if isinstance(value, dt.datetime):
        return Cond(name, op, iso(value))
    start, end = iso_day(value), iso_day(value + dt.timedelta(days=1))
    day = All((Cond(name, "gte", start), Cond(name, "lt", end)))
    spans: dict[str, Filter] = {
        "eq": day,
        "ne": Not(day),
        "gt": Cond(name, "gte", end),
        "gte": Cond(name, "gte", start),
        "lt": Cond(name, "lt", start),
        "lte": Cond(name, "lt", end),
    }
    return spans[op]


def iso(moment: dt.datetime) -> str:
    """How ragd stores a time: ISO 8601 in UTC, to the second."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def iso_day(day: dt.date) -> str:
    return iso(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The pattern as a regular expression (* any run of characters, ? one), whole string."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def matches(node: Filter, doc: Mapping[str, Any]) -> bool:
    """Whether a document's fields (`field_values`) satisfy the filter: the reference semantics."""
    if isinstance(node, All):
        return all(matches(p, doc) for p in node.parts)
    if isinstance(node, Any_):
        return any(matches(p, doc) for p in node.parts)
    if isinstance(node, Not):
        return not matches(node.part, doc)
    return _holds(node, doc.get(node.field))


def _holds(cond: Cond, value: Any) -> bool:
    if value is None:
        return cond.op == "ne"  # a missing tag or page count equals nothing
    tests: dict[str, Callable[[], bool]] = {
        "eq": lambda: value == cond.value,
        "ne": lambda: value != cond.value,
        "in": lambda: value in cond.value,
        "prefix": lambda: str(value).startswith(cond.value),
        "glob": lambda: glob_regex(cond.value).fullmatch(str(value)) is not None,
        "gt": lambda: value > cond.value,
        "gte": lambda: value >= cond.value,
        "lt": lambda: value < cond.value,
        "lte": lambda: value <= cond.value,
    }
    return bool(tests[cond.op]())


def field_values(doc: Any) -> dict[str, Any]:
    """A DocumentRow's fields as filters name them."""
    values = {
        "source": doc.source,
        "type": doc.type,
        "title": doc.title,
        "size": doc.size,
        "pages": doc.pages,
        "modified": doc.modified,
        "ingested": doc.ingested_at,
    }
    values.update({f"tags.{k}": v for k, v in doc.tags.items()})
    return values
