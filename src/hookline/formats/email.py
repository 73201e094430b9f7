"""Mail for `mailto:` webhooks (pure): a subject, a text part and an HTML part from one or more
events. See docs/formats.md and docs/destinations.md.

Two formats write mail. `email` (the default for `mailto:`) lays an event out as seed 001's
order-filled notification: a subject from the event type and a key field (`Order Filled:
BTCUSDT`), a heading, and a table of the data; every value HTML-escaped. `template` renders the
webhook's Jinja2 text as the HTML body (values escaped), and `format_options.subject`, a
template in the same sandbox, as the subject. The text part is the HTML without its tags.

`render` takes a list of events: one mail for one event, or one mail with a section per event
for a batch ("3 events: order.filled").
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import orjson

from hookline.formats import template

if TYPE_CHECKING:
    from hookline.formats import Context, Spec

MAX_SUBJECT = 200  # characters; longer ones are cut with an ellipsis
MAX_DEPTH = 4  # nested objects shown as tables this deep, then as JSON
KEY_FIELDS = ("symbol", "token_symbol", "name")  # shown in the subject when present
# In the text part: paragraphs get a blank line around them, rows and list items a line each.
_BLOCKS = frozenset({"p", "div", "table", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "hr"})
_LINES = frozenset({"br", "li"})
_HIDDEN = frozenset({"style", "script", "head", "title"})
_SPACES = re.compile(r"[ \t\f\v]+")
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


class EmailProblem(ValueError):
    """A mail that cannot be rendered: the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Email:
    """One mail: `text` is what is signed (the request's body; CRLF line breaks, as MIME
    text is), `html` its alternative."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class _Event:
    id: str
    type: str
    timestamp: str
    data: Any


def render(
    spec: Spec,
    payloads: Sequence[str],
    context: Context,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> Email:
    """The mail for the events whose standard envelopes are `payloads` (one, or a batch), in
    format `email` or `template`. Raises EmailProblem when a template cannot render them."""
    from hookline.formats import TEMPLATE, variables

    if not payloads:
        raise EmailProblem("no event to write a mail about")
    envelopes = [orjson.loads(payload) for payload in payloads]
    events = [
        _Event(e["id"], e["type"], str(e.get("timestamp") or ""), e["data"]) for e in envelopes
    ]
    options = spec.options or {}
    subject_template = options.get("subject")
    sections: list[tuple[str, str]] = []  # (subject, html) per event
    for envelope, event in zip(envelopes, events, strict=True):
        names = variables(envelope, context)
        subject = default_subject(event.type, event.data)
        if isinstance(subject_template, str):
            subject = _render(subject_template, names, html=False, clock=clock, what="subject")
        if spec.name == TEMPLATE:
            body = _render(spec.template or "", names, html=True, clock=clock, what="template")
        else:
            body = _table(event)
        sections.append((clean_subject(subject), body))
    if len(sections) == 1:
        subject, body = sections[0]
        page = body if spec.name == TEMPLATE else f"<h2>{_e(_heading(events[0]))}</h2>\n{body}"
        return Email(subject, text_of(page), page)
    subject = clean_subject(batch_subject(events, [s for s, _ in sections], bool(subject_template)))
    parts = [f"<h2>{_e(subject)}</h2>"]
    for one_subject, body in sections:
        heading = "" if spec.name == TEMPLATE else f"\n<h3>{_e(one_subject)}</h3>"
        parts.append(f"<hr>{heading}\n{body}")
    page = "\n".join(parts)
    return Email(subject, text_of(page), page)


def _render(
    text: str, names: Mapping[str, Any], *, html: bool, clock: Callable[[], float], what: str
) -> str:
    try:
        return template.render_text(text, names, html=html, clock=clock)
    except template.TemplateProblem as exc:
        where = "format_options.subject" if what == "subject" else "template"
        raise EmailProblem(f"{where}: {exc}") from None


def words(name: str) -> str:
    """`order.filled` -> `Order Filled`, `orderId` -> `Order Id`."""
    found = _WORDS.findall(name)
    return " ".join(w if w.isupper() else w.capitalize() for w in found) or name


def default_subject(event_type: str, data: Any) -> str:
    """Seed 001's subject: `Order Filled: BTCUSDT`; a seed 000 alert's own title."""
    if isinstance(data, dict):
        title = data.get("title")
        if isinstance(title, str) and title.strip():
            return title
        for key in KEY_FIELDS:
            value = data.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return f"{words(event_type)}: {value}"
    return words(event_type)


def batch_subject(events: Sequence[_Event], subjects: Sequence[str], templated: bool) -> str:
    """`3 events: order.filled` (the types, in the order they came); with a subject template,
    the first event's subject and how many more."""
    if templated:
        return f"{subjects[0]} (+{len(events) - 1} more)"
    types = list(dict.fromkeys(event.type for event in events))
    shown = ", ".join(types[:3]) + (f" and {len(types) - 3} more types" if len(types) > 3 else "")
    return f"{len(events)} events: {shown}"


def clean_subject(subject: str) -> str:
    """One line, no control characters, at most MAX_SUBJECT characters."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in subject).split())
    return line if len(line) <= MAX_SUBJECT else line[: MAX_SUBJECT - 1] + "…"


def _heading(event: _Event) -> str:
    """Seed 001's heading: `Order Filled Notification`."""
    return f"{words(event.type)} Notification"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cell(value: Any, depth: int) -> str:
    if isinstance(value, dict) and value and depth < MAX_DEPTH:
        return _rows(value, depth + 1)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return _e(", ".join(_shown(v) for v in value))
    if isinstance(value, dict | list):
        return f"<code>{_e(_shown(value))}</code>"
    return _e(_shown(value))


def _rows(data: Mapping[str, Any], depth: int) -> str:
    rows = "".join(
        f"\n  <tr><td><strong>{_e(words(str(key)))}</strong></td>"
        f"<td>{_cell(value, depth)}</td></tr>"
        for key, value in data.items()
    )
    return f'<table border="1" cellpadding="5">{rows}\n</table>'


def _table(event: _Event) -> str:
    """The event's data as seed 001's table, and a line saying which event it is."""
    data = event.data if isinstance(event.data, dict) else {"data": event.data}
    footer = f"Event {event.id} ({event.type})" + (
        f" at {event.timestamp}" if event.timestamp else ""
    )
    return f"{_rows(data, 1)}\n<p><small>{_e(footer)}</small></p>"


class _Text(HTMLParser):
    """The text of an HTML body: block elements end lines, table cells are separated."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "hr":
            self.parts.append("\n\n----\n\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag in _LINES:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "tr":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(" ".join(data.split("\n")))


def text_of(page: str) -> str:
    """The HTML without its tags, as readable lines in MIME's canonical form: CRLF line
    breaks, one at the end. A mail's text part decodes to exactly this, so a signature over
    it verifies."""
    parser = _Text()
    parser.feed(page)
    parser.close()
    lines = []
    for raw in "".join(parser.parts).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        cells = [_SPACES.sub(" ", cell).strip() for cell in raw.split("\t")]
        lines.append(": ".join(cell for cell in cells if cell))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return (text + "\n").replace("\n", "\r\n")
