"""Payload formats: what body a delivery carries (pure). See docs/formats.md.

A format turns an event (its stored standard envelope) into the exact bytes sent. `standard`
sends the envelope as stored; every other format reads it back and renders its own shape:
`data` (the event's data alone), `template` (a tenant's Jinja2 text, in a bounded sandbox:
formats/template.py) and the chat services `discord`, `slack` and `telegram` (formats/chat.py).
Every body is compact JSON with JavaScript's spelling of numbers (formats/jsonbody.py).

`mailto:` webhooks get mail instead (formats/email.py): format `email`, or `template` rendering
HTML; `email.render` writes the subject, text and HTML of one event or of a batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from hookline.errors import InvalidInput
from hookline.formats import chat, email, template
from hookline.formats.jsonbody import dumps
from hookline.schedule import RETRY_AFTER_CEILING

STANDARD = "standard"
DATA = "data"
TEMPLATE = "template"
DISCORD = "discord"
SLACK = "slack"
TELEGRAM = "telegram"
EMAIL = "email"
NAMES = (STANDARD, DATA, TEMPLATE, DISCORD, SLACK, TELEGRAM, EMAIL)
MAIL_FORMATS = (EMAIL, TEMPLATE)  # what a mailto: webhook may use

# The options each format takes, and the JSON types of each option's value.
OPTIONS: dict[str, dict[str, tuple[type, ...]]] = {
    STANDARD: {},
    DATA: {},
    TEMPLATE: {},
    DISCORD: {"username": (str,), "avatar_url": (str,)},
    SLACK: {},
    TELEGRAM: {"chat_id": (int, str), "message_thread_id": (int,), "disable_notification": (bool,)},
    EMAIL: {"subject": (str,)},
}
# Options a format takes on a mailto: webhook only.
MAIL_OPTIONS: dict[str, dict[str, tuple[type, ...]]] = {TEMPLATE: {"subject": (str,)}}
_CHAT: dict[str, Callable[[chat.Event, Mapping[str, Any]], dict[str, Any]]] = {
    DISCORD: chat.discord,
    SLACK: chat.slack,
    TELEGRAM: chat.telegram,
}
_CHAT_MANY: dict[str, Callable[[list[chat.Event], Mapping[str, Any]], dict[str, Any]]] = {
    DISCORD: chat.discord_many,
    SLACK: chat.slack_many,
    TELEGRAM: chat.telegram_many,
}
MAX_DISCORD_BATCH = chat.DISCORD_EMBEDS
_DISCORD_HOSTS = frozenset(
    {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
)
GENERIC_SAMPLE_TYPE = "example.event"


class FormatError(ValueError):
    """A body that cannot be rendered; the message says what is wrong and what to fix."""


@dataclass(frozen=True, slots=True)
class Spec:
    """A webhook's format: its name, its Jinja2 text (`template` only) and its options."""

    name: str = STANDARD
    template: str | None = None
    options: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """Who an event goes to, as templates see it (`webhook`, `tenant`)."""

    webhook_id: str
    webhook_name: str = ""
    tenant_id: str = ""
    tenant_uid: str | None = None
    tenant_name: str = ""


@dataclass(frozen=True, slots=True)
class Sample:
    """The event a template is checked against when saved: an event type's first example, or
    (`example` False) a generic stand-in when no subscribed type has one."""

    event_type: str = GENERIC_SAMPLE_TYPE
    data: Mapping[str, Any] | None = None
    example: bool = False


def render(
    spec: Spec,
    payload: str,
    context: Context,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> bytes:
    """The body of one delivery of the event whose standard envelope is `payload`. Raises
    FormatError (saying what to fix) when a template cannot render this event; `clock` times
    the template's render budget."""
    if spec.name == STANDARD:
        return payload.encode()
    envelope = orjson.loads(payload)
    if spec.name == DATA:
        return dumps(envelope["data"])
    if spec.name == TEMPLATE:
        try:
            return template.render(spec.template or "", variables(envelope, context), clock=clock)
        except template.TemplateProblem as exc:
            raise FormatError(str(exc)) from None
    if spec.name in _CHAT:
        return dumps(_CHAT[spec.name](_chat_event(envelope), spec.options or {}))
    if spec.name == EMAIL:  # a mail's text part; deliver.build_request writes the whole mail
        return render_email(spec, [payload], context, clock=clock).text.encode()
    raise FormatError(f"unknown format {spec.name!r}; use one of {', '.join(NAMES)}")


def render_batch(
    spec: Spec,
    payloads: Sequence[str],
    context: Context,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> bytes:
    """The one body of a batch of events (their standard envelopes, in order): a JSON array
    of what each would have been alone; for the chat services, one message showing them all
    (docs/destinations.md). Raises FormatError naming the event that cannot be
    rendered."""
    if spec.name in _CHAT_MANY:
        events = [_chat_event(orjson.loads(payload)) for payload in payloads]
        try:
            return dumps(_CHAT_MANY[spec.name](events, spec.options or {}))
        except ValueError as exc:
            raise FormatError(str(exc)) from None
    bodies = []
    for payload in payloads:
        try:
            bodies.append(render(spec, payload, context, clock=clock))
        except FormatError as exc:
            event_id = orjson.loads(payload).get("id")
            raise FormatError(f"event {event_id}: {exc}") from None
    return b"[" + b",".join(bodies) + b"]"


def _chat_event(envelope: Mapping[str, Any]) -> chat.Event:
    return chat.Event(
        envelope["id"], envelope["type"], envelope.get("timestamp", ""), envelope["data"]
    )


def render_email(
    spec: Spec,
    payloads: Sequence[str],
    context: Context,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> email.Email:
    """The mail (subject, text, HTML) a `mailto:` webhook sends for one event or a batch of
    them, in format `email` or `template`. Raises FormatError saying what to fix."""
    try:
        return email.render(spec, payloads, context, clock=clock)
    except email.EmailProblem as exc:
        raise FormatError(str(exc)) from None


def variables(envelope: Mapping[str, Any], context: Context) -> dict[str, Any]:
    """What a template sees: `event`, `data`, `webhook`, `tenant`."""
    return {
        "event": {
            "id": envelope["id"],
            "type": envelope["type"],
            "timestamp": envelope.get("timestamp"),
            "unix": _unix(envelope.get("timestamp")),
            "data": envelope["data"],
        },
        "data": envelope["data"],
        "webhook": {"id": context.webhook_id, "name": context.webhook_name},
        "tenant": {"id": context.tenant_id, "uid": context.tenant_uid, "name": context.tenant_name},
    }


def _unix(timestamp: Any) -> int | None:
    """An envelope's ISO timestamp as whole seconds since 1970 (seed 004 sends that)."""
    try:
        return int(datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def is_mail(url: str) -> bool:
    """Whether `url` is a `mailto:` destination (its webhook sends mail)."""
    return url[:7].lower() == "mailto:"


def default_for(url: str) -> str:
    """The format a webhook gets when none is given: `email` for `mailto:`, the chat service
    its URL points at (Discord and Slack webhooks, Telegram's sendMessage), otherwise
    `standard`."""
    if is_mail(url):
        return EMAIL
    parts = urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path
    if host in _DISCORD_HOSTS and path.startswith("/api/webhooks/"):
        return DISCORD
    if host == "hooks.slack.com":
        return SLACK
    if host == "api.telegram.org" and path.startswith("/bot") and path.endswith("/sendMessage"):
        return TELEGRAM
    return STANDARD


def check(
    spec: Spec, url: str, sample: Sample | None = None, context: Context | None = None
) -> Spec:
    """A format as a webhook may be saved with; raises InvalidInput saying what to fix. A
    template is rendered against `sample` (an event type's example when there is one)."""
    mail = is_mail(url)
    if spec.name not in NAMES:
        raise InvalidInput(
            f"format: unknown format {spec.name!r}; use one of {', '.join(NAMES)}",
            loc=("format",),
        )
    if mail and spec.name not in MAIL_FORMATS:
        raise InvalidInput(
            f"format: a mailto: webhook sends email, which format {spec.name!r} does not write; "
            "use format `email` (the default: the event's data as a table) or `template` (a "
            "Jinja2 text that renders the mail's HTML)",
            loc=("format",),
        )
    if not mail and spec.name == EMAIL:
        raise InvalidInput(
            "format: format `email` writes mail and needs a mailto: url (mailto:alice@"
            "example.com); for an HTTP endpoint use `standard`, `data` or `template`",
            loc=("format",),
        )
    if spec.name == TEMPLATE and not spec.template:
        renders = "the mail's HTML" if mail else "JSON"
        raise InvalidInput(
            f"template: format `template` needs a `template` (a Jinja2 text that renders "
            f"{renders})",
            loc=("template",),
        )
    if spec.name != TEMPLATE and spec.template is not None:
        raise InvalidInput(
            f"template: only format `template` uses a template (this webhook's format is "
            f"{spec.name!r}); send format `template`, or drop `template`",
            loc=("template",),
        )
    options = _check_options(spec.name, spec.options or {}, mail=mail)
    shape = Spec(spec.name, spec.template, options or None)
    if mail:
        _check_mail(shape, sample or Sample(), context or Context("wh_example"))
    elif shape.name == TEMPLATE:
        _check_template(shape, sample or Sample(), context or Context("wh_example"))
    return shape


def _check_options(name: str, options: Mapping[str, Any], *, mail: bool) -> dict[str, Any]:
    known = OPTIONS[name] | (MAIL_OPTIONS.get(name, {}) if mail else {})
    for key, value in options.items():
        if key not in known:
            listing = ", ".join(known) if known else "none"
            raise InvalidInput(
                f"format_options: {key!r} is not an option of format {name!r}"
                + (" on this url" if key in MAIL_OPTIONS.get(name, {}) else "")
                + f"; its options are: {listing}",
                loc=("format_options", key),
            )
        types = known[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            wanted = " or ".join(
                {int: "an integer", str: "a string", bool: "true or false"}[t] for t in types
            )
            raise InvalidInput(
                f"format_options: {key!r} must be {wanted}; got {json_type(value)}",
                loc=("format_options", key),
            )
        if isinstance(value, str) and not value.strip():
            raise InvalidInput(
                f"format_options: {key!r} must not be empty", loc=("format_options", key)
            )
    if name == TELEGRAM and "chat_id" not in options:
        raise InvalidInput(
            'format_options: format telegram needs the chat to send to: {"chat_id": 123456789} '
            '(a chat id, or "@channelusername")',
            loc=("format_options", "chat_id"),
        )
    return dict(options)


def json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return names.get(type(value), "an array" if isinstance(value, list) else "an object")


def _sample_envelope(sample: Sample) -> dict[str, Any]:
    return {
        "id": "evt_example",
        "type": sample.event_type,
        "timestamp": "2026-01-01T00:00:00.000Z",
        "data": dict(sample.data or {}),
    }


def _against(sample: Sample) -> str:
    if sample.example:
        return f"the first example of event type {sample.event_type!r}"
    return (
        "a sample event with empty data (no subscribed event type has an example: "
        "add `examples` to the event type to check against real data)"
    )


def _check_template(spec: Spec, sample: Sample, context: Context) -> None:
    try:
        template.render(spec.template or "", variables(_sample_envelope(sample), context))
    except template.TemplateProblem as exc:
        raise InvalidInput(
            f"template: {exc} (rendered against {_against(sample)})", loc=("template",)
        ) from None


def _check_mail(spec: Spec, sample: Sample, context: Context) -> None:
    """A mail's template and subject template, rendered against the sample."""
    try:
        email.render(spec, [dumps(_sample_envelope(sample)).decode()], context)
    except email.EmailProblem as exc:
        where = str(exc).partition(":")[0]
        loc = ("format_options", "subject") if where == "format_options.subject" else (where,)
        raise InvalidInput(f"{exc} (rendered against {_against(sample)})", loc=loc) from None


def body_retry_after(body: str) -> float | None:
    """The wait a chat service puts in a 429's JSON body when it sends no `Retry-After`:
    `retry_after` (Discord, seconds) or `parameters.retry_after` (Telegram). None when absent
    or unusable; never more than 30 days, never negative."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    wait = document.get("retry_after")
    parameters = document.get("parameters")
    if wait is None and isinstance(parameters, dict):
        wait = parameters.get("retry_after")
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not math.isfinite(wait):
        return None
    return min(max(0.0, float(wait)), RETRY_AFTER_CEILING)
