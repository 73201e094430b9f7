"""The bytes of every JSON body hookline writes (pure): compact, UTF-8, keys in the order given,
non-ASCII written as itself, and numbers spelled as JavaScript's `JSON.stringify` spells them.

A receiver that parses a body and serialises it again before checking its signature (seed 001's
`JSON.stringify(req.body)`) computes the same bytes only if hookline wrote them that way: a
float with an integral value is written without a fraction (`45000.0` → `45000`), and exponents
appear where JavaScript puts them (`1e21`, `1e-7`, but `100000000000000000000`, `0.000001`).
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """`value` as compact JSON with JavaScript's spelling of numbers."""
    return orjson.dumps(_javascript_numbers(value))


def js_number(value: float) -> str:
    """A finite float as JavaScript's `Number.prototype.toString` writes it (ECMA-262
    Number::toString): the shortest digits that read back the same (Python's `repr` finds
    them too), placed as JavaScript places them."""
    if value == 0:
        return "0"  # -0 too, as JSON.stringify writes it
    if value < 0:
        return "-" + js_number(-value)
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    if fraction == "0":
        fraction = ""
    spelled = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)  # the decimal point's place
    digits = spelled.lstrip("0")
    n = point - (len(spelled) - len(digits))  # value = 0.digits x 10^n
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    sign = "+" if n - 1 >= 0 else "-"
    head = digits[0] + (f".{digits[1:]}" if k > 1 else "")
    return f"{head}e{sign}{abs(n - 1)}"


def _javascript_numbers(value: Any) -> Any:
    if isinstance(value, float):
        return orjson.Fragment(js_number(value).encode())
    if isinstance(value, dict):
        return {key: _javascript_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_javascript_numbers(item) for item in value]
    return value
