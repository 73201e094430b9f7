"""What hookline accepts as JSON: one rule for every document that comes in (event data, filters,
schemas, headers, names), whichever face it came through.

Python's `json` (and so every web framework) turns `NaN`, `Infinity` and `1e400` into floats that
no JSON encoder can write back, keeps integers of any size, and lets `"\\u0000"` and lone
surrogates (`"\\ud800"`) into strings that PostgreSQL refuses and UTF-8 cannot encode. Each of
these is refused here with the place it was found and what to send instead, before anything is
stored, so nothing is ever changed silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hookline.errors import InvalidInput

MAX_DEPTH = 64  # objects and arrays inside each other
MIN_INT = -(2**63)
MAX_INT = 2**64 - 1

Location = tuple[str | int, ...]


def where(loc: Sequence[str | int]) -> str:
    """`data.legs[0].price` for ("data", "legs", 0, "price"); a key that is not text (a lone
    surrogate) is shown escaped, so the message itself can always be sent."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part.encode("utf-8", "backslashreplace").decode("utf-8")
            text += f".{name}" if text else name
    return text or "body"


def _refuse(loc: Location, message: str) -> InvalidInput:
    return InvalidInput(f"{where(loc)}: {message}", loc=list(loc))


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text, or None if it can."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored; remove it"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return (
            "contains a lone UTF-16 surrogate (such as \\ud800), which is not a character; "
            "send valid Unicode"
        )
    return None


def check_text(value: str, loc: Location) -> None:
    problem = text_problem(value)
    if problem is not None:
        raise _refuse(loc, problem)


def check(value: object, loc: Location = (), *, max_depth: int = MAX_DEPTH) -> None:
    """Raise InvalidInput at the first place `value` is not plain, storable JSON: a
    non-finite number, an integer outside 64 bits, a string (or key) with a NUL or a lone
    surrogate, nesting deeper than `max_depth`, or a value that is not JSON at all."""
    stack: list[tuple[object, Location, int]] = [(value, tuple(loc), 0)]
    while stack:
        item, here, depth = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            check_text(item, here)
        elif isinstance(item, int):
            if not MIN_INT <= item <= MAX_INT:
                raise _refuse(
                    here,
                    "integer does not fit in 64 bits; send a number this large as a string",
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise _refuse(
                    here,
                    f"{item!r} is not a JSON number (NaN, Infinity and numbers too large for "
                    "a double, such as 1e400, are refused); send a finite number or a string",
                )
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                raise _refuse(here, f"nested more than {max_depth} levels deep; flatten it")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise _refuse(here, f"object keys must be strings; got {key!r}")
                    check_text(key, (*here, key))
                    stack.append((child, (*here, key), depth + 1))
            else:
                stack.extend((child, (*here, i), depth + 1) for i, child in enumerate(item))
        else:
            raise _refuse(here, f"{type(item).__name__} is not a JSON value")
