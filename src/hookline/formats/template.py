"""The `template` format: a webhook's Jinja2 text rendered in a sandbox (pure but for the clock
it is given). See docs/formats.md.

Templates come from tenants, so rendering one must never take the worker down. Jinja2's
`ImmutableSandboxedEnvironment` keeps a template away from Python's internals and from changing
its data; on top of it every render is bounded:
- time: a budget read from the clock given, checked at each loop step, attribute or item read,
  call, operator and piece of output;
- size: the output, and every string or list an operator, `~`, `join` or `replace` would build,
  stay under MAX_OUTPUT characters, checked before they are built;
- `range` is capped at MAX_RANGE items; only a short list of string and dict methods can be
  called, and the globals and filters that build large text (`lipsum`, `center`, `format`...)
  or carry state across loop steps (`namespace`) are left out.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import orjson
from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.runtime import Context as JinjaContext
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from hookline.formats.jsonbody import dumps

MAX_OUTPUT = 256 * 1024  # characters a template may write
MAX_SECONDS = 0.25  # of rendering per body
MAX_RANGE = 10_000
_MAX_INT_BITS = 64 * 1024
_SAFE_METHODS = frozenset(
    {
        "capitalize", "casefold", "changed", "count", "cycle", "endswith", "find", "get",
        "index", "isalnum", "isalpha", "isdigit", "islower", "isnumeric", "isspace", "isupper",
        "items", "keys", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rfind",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip",
        "swapcase", "title", "upper", "values",
    }
)  # fmt: skip
_UNSAFE_FILTERS = (
    "center", "format", "indent", "pprint", "slice", "urlize", "wordwrap", "xmlattr"
)  # fmt: skip
_WIDE_PERCENT = re.compile(r"%[-#0 +]*(\*|\d{4,})|%[-#0 +]*\d*\.(\*|\d{4,})")


class TemplateProblem(ValueError):
    """A template that cannot be rendered: the message says what is wrong, and where."""


class _OverBudget(Exception):
    pass


class _Budget:
    def __init__(self, clock: Callable[[], float], seconds: float) -> None:
        self._clock = clock
        self._deadline = clock() + seconds
        self._seconds = seconds

    def tick(self) -> None:
        if self._clock() > self._deadline:
            raise _OverBudget(
                f"rendering took longer than {self._seconds:g} s; loop over less (a template "
                "should only reshape the event)"
            )


_budget: contextvars.ContextVar[_Budget] = contextvars.ContextVar("template_budget")


def _tick() -> None:
    _budget.get().tick()


def _too_big(size: int) -> None:
    if size > MAX_OUTPUT:
        raise _OverBudget(f"a value of {size} characters would be built; the limit is {MAX_OUTPUT}")


def _capped_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _OverBudget(f"range() of {len(numbers)} items; at most {MAX_RANGE}")
    return numbers


def _stepped(items: Iterable[Any]) -> Iterator[Any]:
    """Every loop goes through here (see _Bounded): one budget check per step."""
    for item in items:
        _tick()
        yield item


def _join_bounded(parts: list[Any]) -> str:
    """What `~` builds, refused before it is built when too large."""
    texts = [str(part) for part in parts]
    _too_big(sum(map(len, texts)))
    return "".join(texts)


def _tojson(value: Any) -> str:
    """Compact JSON for any value; a missing one is `null`."""
    if isinstance(value, Undefined):
        return "null"
    try:
        return dumps(value).decode()
    except TypeError as exc:
        raise TemplateProblem(f"tojson: {exc}") from None


def _join(value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
    items = [str(item) for item in value]
    _too_big(sum(map(len, items)) + len(d) * max(0, len(items) - 1))
    return d.join(items)


def _replace(value: str, old: str, new: str, count: int | None = None) -> str:
    value, old, new = str(value), str(old), str(new)
    matches = value.count(old) if old else len(value) + 1
    if count is not None and count >= 0:
        matches = min(matches, count)
    _too_big(len(value) + matches * len(new))
    return value.replace(old, new, -1 if count is None else count)


class _Bounded(NodeTransformer):
    """Rewrites a parsed template so that loops and `~` go through the budget."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_hookline_stepped", [], [], None, None)
        node.iter.set_lineno(node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        joined = nodes.Filter(nodes.List(node.nodes), "_hookline_join", [], [], None, None)
        joined.set_lineno(node.lineno)
        return joined


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        return not callable(value) or isinstance(value, Undefined) or attr in _SAFE_METHODS

    def call_binop(self, context: JinjaContext, operator: str, left: Any, right: Any) -> Any:
        _tick()
        sized = (str, list, tuple)
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, sized) and isinstance(times, int):
                    _too_big(len(seq) * max(0, times))
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
                raise _OverBudget("the product of these numbers is too large")
        elif operator == "+" and isinstance(left, sized) and isinstance(right, sized):
            _too_big(len(left) + len(right))
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and left.bit_length() * right > _MAX_INT_BITS:
                raise _OverBudget(f"{left} ** {right} is too large a number")
        elif operator == "%" and isinstance(left, str) and _WIDE_PERCENT.search(left):
            raise _OverBudget("%-formatting with a width or precision of 1000 or more")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(__self, __context: JinjaContext, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        return super().call(__context, __obj, *args, **kwargs)


def _environment(*, autoescape: bool = False) -> _Sandbox:
    env = _Sandbox(autoescape=autoescape, undefined=ChainableUndefined, keep_trailing_newline=True)
    env.globals.clear()
    env.globals["range"] = _capped_range
    for name in _UNSAFE_FILTERS:
        del env.filters[name]
    env.filters |= {
        "tojson": _tojson,
        "join": _join,
        "replace": _replace,
        "_hookline_stepped": _stepped,
        "_hookline_join": _join_bounded,
    }
    return env


_ENV = _environment()
_HTML_ENV = _environment(autoescape=True)  # mail bodies: every value is HTML-escaped


@lru_cache(maxsize=128)
def compile_template(text: str, *, html: bool = False) -> Any:
    """The template, parsed and bounded; TemplateProblem (with the line) on a syntax error.
    `html`: values it writes are HTML-escaped (`| safe` opts out)."""
    env = _HTML_ENV if html else _ENV
    try:
        return env.from_string(_Bounded().visit(env.parse(text)))
    except TemplateSyntaxError as exc:  # an unknown filter or test too
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from None


def render(
    text: str,
    variables: Mapping[str, Any],
    *,
    clock: Callable[[], float] = time.perf_counter,
    seconds: float = MAX_SECONDS,
) -> bytes:
    """The body `text` renders for `variables`: its output checked as JSON and written again
    compact. TemplateProblem says what went wrong and where."""
    return _as_json(render_text(text, variables, clock=clock, seconds=seconds))


def render_text(
    text: str,
    variables: Mapping[str, Any],
    *,
    html: bool = False,
    clock: Callable[[], float] = time.perf_counter,
    seconds: float = MAX_SECONDS,
) -> str:
    """What `text` writes for `variables`, under the same bounds, as text (a mail's HTML body
    with `html`, values escaped; its subject without). TemplateProblem says what went wrong."""
    template = compile_template(text, html=html)
    budget = _Budget(clock, seconds)
    token = _budget.set(budget)
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(dict(variables)):
            size += len(chunk)
            _too_big(size)
            budget.tick()
            chunks.append(chunk)
    except _OverBudget as exc:
        raise TemplateProblem(f"{exc}{_line_of(exc)}") from None
    except TemplateProblem:
        raise
    except RecursionError:
        raise TemplateProblem("macros call each other too deeply") from None
    except Exception as exc:
        raise TemplateProblem(f"{type(exc).__name__}: {exc}{_line_of(exc)}") from None
    finally:
        _budget.reset(token)
    return "".join(chunks)


def _line_of(exc: BaseException) -> str:
    """` (template line N)` for an error raised while rendering, from its traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return "" if line is None else f" (template line {line})"


def _as_json(text: str) -> bytes:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        start = max(0, exc.pos - 20)
        near = text[start : exc.pos + 20]
        raise TemplateProblem(
            f"the template's output is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno} of the output, near {near!r}; write values with `| tojson`"
        ) from None
    return dumps(value)
