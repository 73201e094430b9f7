"""Payload filters: which events a webhook receives, beyond its event types.

A filter is a JSON document over the delivered envelope (`{"id", "type", "timestamp", "data"}`),
addressed with dotted paths (`data.amount_usd`, `data.legs.0.symbol`, `type`):

    {"data.amount_usd": {"$gte": 100000}, "data.chain": {"$in": ["ethereum", "arbitrum"]}}
    {"$or": [{"data.price": {"$gt": 50000}}, {"data.price": {"$lt": 40000}}]}

A path maps to a value (equality) or to operators, all of which must hold. Comparisons are typed:
numbers compare with numbers, strings with strings, and `true` is not `1`. A path that is missing
matches only `$exists: false`, `$ne` and `$nin`.

The nested form people often write, `{"data": {"amount": {"$gte": 5}}}`, is the same filter as
`{"data.amount": {"$gte": 5}}`: `validate` returns every filter in its dotted form, and that is
what is stored and evaluated. An object of plain keys under a path is always read as more path
(`{"data": {"chain": "eth"}}` is `{"data.chain": "eth"}`); to compare with a whole object, say so
with `$eq`. A `$` key that is not an operator is refused wherever it appears.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from hookline import jsonvalue
from hookline.errors import InvalidInput

MAX_BYTES = 8 * 1024
MAX_DEPTH = 16
MAX_LIST = 1000

_MISSING = object()

LOGICAL = ("$and", "$or", "$not")
OPERATORS = (
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$exists",
    "$contains",
    "$startswith",
    "$ieq",
    "$iin",
)


# --- evaluation ------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _ordered(a: Any, b: Any, compare: Callable[[Any, Any], bool]) -> bool:
    if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return compare(a, b)
    return False


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else _MISSING


def _contains(value: Any, wanted: Any) -> bool:
    if isinstance(value, list):
        return any(_equal(item, wanted) for item in value)
    return isinstance(value, str) and isinstance(wanted, str) and wanted in value


def _test(op: str, value: Any, arg: Any) -> bool:
    """One operator against one resolved value (`_MISSING` when the path is absent)."""
    missing = value is _MISSING
    if op == "$exists":
        return bool(arg) != missing
    if op == "$ne":
        return missing or not _equal(value, arg)
    if op == "$nin":
        return missing or not any(_equal(value, item) for item in arg)
    if missing:
        return False
    match op:
        case "$eq":
            return _equal(value, arg)
        case "$gt":
            return _ordered(value, arg, lambda a, b: a > b)
        case "$gte":
            return _ordered(value, arg, lambda a, b: a >= b)
        case "$lt":
            return _ordered(value, arg, lambda a, b: a < b)
        case "$lte":
            return _ordered(value, arg, lambda a, b: a <= b)
        case "$in":
            return any(_equal(value, item) for item in arg)
        case "$contains":
            return _contains(value, arg)
        case "$startswith":
            return isinstance(value, str) and value.startswith(arg)
        case "$ieq":
            return _fold(value) is not _MISSING and _fold(value) == _fold(arg)
        case "$iin":
            folded = _fold(value)
            return folded is not _MISSING and any(folded == _fold(item) for item in arg)
    raise AssertionError(f"unvalidated operator {op}")


def resolve(path: str, document: Any) -> Any:
    """The value at a dotted path, or `_MISSING`."""
    value = document
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _is_condition(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(k.startswith("$") for k in value)


def matches(filter_doc: Mapping[str, Any], envelope: Mapping[str, Any]) -> bool:
    """Whether an event's envelope passes a (validated) filter."""
    for key, spec in filter_doc.items():
        if key == "$and":
            ok = all(matches(sub, envelope) for sub in spec)
        elif key == "$or":
            ok = any(matches(sub, envelope) for sub in spec)
        elif key == "$not":
            ok = not matches(spec, envelope)
        else:
            value = resolve(key, envelope)
            if _is_condition(spec):
                ok = all(_test(op, value, arg) for op, arg in spec.items())
            else:
                ok = _test("$eq", value, spec)
        if not ok:
            return False
    return True


# --- validation ------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


def validate(filter_doc: Any) -> dict[str, Any]:
    """Check a filter before it is saved, and return it in its dotted form; the error names the
    place and says what to write."""
    if not isinstance(filter_doc, dict):
        raise InvalidInput(
            'filter must be a JSON object such as {"data.amount": {"$gte": 10}}', loc=("filter",)
        )
    jsonvalue.check(filter_doc, ("filter",), max_depth=MAX_DEPTH * 2)
    size = len(orjson.dumps(filter_doc))
    if size > MAX_BYTES:
        raise InvalidInput(
            f"filter is {size} bytes as JSON; the limit is {MAX_BYTES}", loc=("filter",)
        )
    return _document(filter_doc, ("filter",), 0)


def _fail(loc: Loc, message: str) -> InvalidInput:
    return InvalidInput(f"{jsonvalue.where(loc)}: {message}", loc=loc)


def _document(doc: Any, loc: Loc, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise _fail(loc, f"filters may nest at most {MAX_DEPTH} levels deep")
    if not isinstance(doc, dict):
        raise _fail(loc, 'expected a filter object such as {"type": "order.filled"}')
    dotted: dict[str, Any] = {}
    extra: list[dict[str, Any]] = []  # the same path twice (dotted and nested): both must hold
    for key, spec in doc.items():
        here = (*loc, key)
        if key in ("$and", "$or"):
            if not isinstance(spec, list) or not spec:
                raise _fail(here, f"{key} takes a non-empty list of filters")
            dotted[key] = [_document(sub, (*here, i), depth + 1) for i, sub in enumerate(spec)]
        elif key == "$not":
            dotted[key] = _document(spec, here, depth + 1)
        elif key.startswith("$"):
            raise _fail(here, _unknown(key, (*LOGICAL, "<a.dotted.path>")))
        else:
            _check_path(key, here)
            for path, condition in _conditions(key, spec, here, depth):
                if path in dotted:
                    extra.append({path: condition})
                else:
                    dotted[path] = condition
    if extra:
        dotted["$and"] = [*dotted.get("$and", []), *extra]
    return dotted


def _conditions(path: str, spec: Any, loc: Loc, depth: int) -> list[tuple[str, Any]]:
    """The dotted (path, condition) pairs a filter key stands for: one, or as many as a nested
    object of plain keys holds."""
    if not isinstance(spec, dict) or not spec:
        _check_literal(spec, loc)
        return [(path, spec)]
    operators = [k for k in spec if k.startswith("$")]
    if operators and len(operators) != len(spec):
        raise _fail(loc, "mixes operators ($...) and plain keys; use one or the other")
    if operators:
        for op, arg in spec.items():
            here = (*loc, op)
            if op not in OPERATORS:
                raise _fail(here, _unknown(op, OPERATORS))
            _check_argument(op, arg, here)
        return [(path, spec)]
    if depth >= MAX_DEPTH:
        raise _fail(loc, f"filters may nest at most {MAX_DEPTH} levels deep")
    pairs: list[tuple[str, Any]] = []
    for key, sub in spec.items():
        here = (*loc, key)
        _check_path(key, here)
        pairs += _conditions(f"{path}.{key}", sub, here, depth + 1)
    return pairs


def _check_path(path: str, loc: Loc) -> None:
    if not path or any(not part for part in path.split(".")):
        raise _fail(loc, "a path is dot-separated names such as data.amount_usd")


def _check_literal(value: Any, loc: Loc) -> None:
    """A value compared with: no `$` key may hide inside it (it would be a typo of an
    operator, silently compared as data)."""
    stack: list[tuple[Any, Loc]] = [(value, loc)]
    while stack:
        item, here = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key.startswith("$"):
                    raise _fail(
                        (*here, key),
                        f"{key!r} is not a value to compare with; operators go right under a "
                        f'path, such as {{"data.amount": {{"$gte": 5}}}}',
                    )
                stack.append((child, (*here, key)))
        elif isinstance(item, list):
            stack.extend((child, (*here, i)) for i, child in enumerate(item))


def _is_list(arg: Any) -> bool:
    return isinstance(arg, list) and len(arg) <= MAX_LIST


# What each operator's argument must be, and how to say so.
_ARGUMENTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "$in": (_is_list, f"takes a list of at most {MAX_LIST} values"),
    "$nin": (_is_list, f"takes a list of at most {MAX_LIST} values"),
    "$iin": (
        lambda arg: _is_list(arg) and all(isinstance(item, str) for item in arg),
        f"takes a list of at most {MAX_LIST} strings",
    ),
    "$exists": (lambda arg: isinstance(arg, bool), "takes true or false"),
    "$gt": (lambda arg: _is_number(arg) or isinstance(arg, str), "takes a number or a string"),
    "$gte": (lambda arg: _is_number(arg) or isinstance(arg, str), "takes a number or a string"),
    "$lt": (lambda arg: _is_number(arg) or isinstance(arg, str), "takes a number or a string"),
    "$lte": (lambda arg: _is_number(arg) or isinstance(arg, str), "takes a number or a string"),
    "$startswith": (lambda arg: isinstance(arg, str), "takes a string"),
    "$ieq": (lambda arg: isinstance(arg, str), "takes a string"),
}


def _check_argument(op: str, arg: Any, loc: Loc) -> None:
    rule = _ARGUMENTS.get(op)
    if rule is not None and not rule[0](arg):
        raise _fail(loc, f"{op} {rule[1]}")
    _check_literal(arg, loc)


def _unknown(name: str, known: tuple[str, ...]) -> str:
    return f"unknown operator {name!r}; use one of {', '.join(known)}"
