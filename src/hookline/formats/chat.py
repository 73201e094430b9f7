"""The chat formats (pure): an event as a Discord embed, Slack Block Kit message or Telegram
`sendMessage` body, as seed 000's `format_for_discord` lays it out. See docs/formats.md.

Events shaped like seed 000's (a `title`, `description`, `severity`, `symbol`, `source` and
`data`) get that layout; any other event gets its type as the title and its data's top-level
keys as fields. Every service limit is met by cutting text with an ellipsis, never by failing.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ELLIPSIS = "…"
SEVERITY_COLOURS = {"CRITICAL": 15158332, "WARNING": 15105570, "INFO": 3447003}
OTHER_COLOUR = 9807270
_SEED_KEYS = ("title", "description", "severity", "symbol", "source")
_LABELS = (("symbol", "Symbol"), ("severity", "Severity"), ("source", "Source"))

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
DISCORD_TITLE, DISCORD_DESCRIPTION, DISCORD_FIELDS = 256, 4096, 25
DISCORD_FIELD_NAME, DISCORD_FIELD_VALUE, DISCORD_TOTAL = 256, 1024, 6000
DISCORD_EMBEDS = 10  # per message
# https://api.slack.com/reference/block-kit/blocks
SLACK_HEADER, SLACK_TEXT, SLACK_FIELD, SLACK_FIELDS_PER_SECTION = 150, 3000, 2000, 10
SLACK_MAX_FIELDS, SLACK_FALLBACK, SLACK_BLOCKS = 40, 3000, 50
# https://core.telegram.org/bots/api#sendmessage: 4096 characters after entities are parsed
TELEGRAM_TEXT, TELEGRAM_VALUE = 4096, 512
TELEGRAM_SHARE = 64  # the fewest characters an event of a batch is shown in


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    timestamp: str
    data: Any


@dataclass(frozen=True, slots=True)
class Content:
    """What every chat format shows, before each service's limits."""

    title: str
    description: str
    severity: str | None
    fields: list[tuple[str, str, bool]]  # name, value, inline
    detail: str | None  # the JSON of seed 000's `data`, shown as a code block
    timestamp: str


def cut(text: str, limit: int) -> str:
    """`text`, at most `limit` characters: cut short with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def content(event: Event) -> Content:
    data = event.data if isinstance(event.data, dict) else {"data": event.data}
    if any(isinstance(data.get(key), str) for key in _SEED_KEYS):
        severity = data.get("severity")
        return Content(
            title=_shown(data.get("title") or event.type),
            description=_shown(data.get("description") or ""),
            severity=severity if isinstance(severity, str) else None,
            fields=[(label, _shown(data[key]), True) for key, label in _LABELS if key in data],
            detail=None if "data" not in data else json.dumps(data["data"], ensure_ascii=False),
            timestamp=event.timestamp,
        )
    return Content(
        title=event.type,
        description="",
        severity=None,
        fields=[(key, _shown(value), len(_shown(value)) <= 40) for key, value in data.items()],
        detail=None,
        timestamp=event.timestamp,
    )


def _code_block(detail: str, limit: int, fence: str = "```json\n") -> str:
    closing = "\n```"
    return fence + cut(detail, limit - len(fence) - len(closing)) + closing


def discord(event: Event, options: Mapping[str, Any]) -> dict[str, Any]:
    """The body of Discord's Execute Webhook: one embed."""
    return discord_many([event], options)


def discord_many(events: list[Event], options: Mapping[str, Any]) -> dict[str, Any]:
    """One Discord message for a batch: an embed per event (at most 10), all of them within
    the message's 6000 characters (each gets an equal share)."""
    if len(events) > DISCORD_EMBEDS:
        raise ValueError(f"a Discord message holds at most {DISCORD_EMBEDS} embeds")
    share = DISCORD_TOTAL // max(1, len(events))
    return {
        **{k: options[k] for k in ("username", "avatar_url") if k in options},
        "embeds": [_embed(event, share) for event in events],
    }


def _embed(event: Event, total: int) -> dict[str, Any]:
    """One event as an embed of at most `total` characters (title, description, fields)."""
    shown = content(event)
    title = cut(shown.title, min(DISCORD_TITLE, total // 2)) or event.type
    description = cut(shown.description, min(DISCORD_DESCRIPTION, total - len(title)))
    fields = [
        (cut(name, DISCORD_FIELD_NAME) or "-", cut(value, DISCORD_FIELD_VALUE) or "-", inline)
        for name, value, inline in shown.fields
    ]
    if shown.detail is not None:
        fields.append(("Data", _code_block(shown.detail, DISCORD_FIELD_VALUE), False))
    room = total - len(title) - len(description)
    kept: list[dict[str, Any]] = []
    for name, value, inline in fields[:DISCORD_FIELDS]:
        if len(name) + len(value) > room:
            if room - len(name) >= 16:  # worth showing, cut short
                kept.append({"name": name, "value": cut(value, room - len(name)), "inline": inline})
            break
        kept.append({"name": name, "value": value, "inline": inline})
        room -= len(name) + len(value)
    embed: dict[str, Any] = {"title": title}
    if description:
        embed["description"] = description
    embed["color"] = SEVERITY_COLOURS.get(shown.severity or "", OTHER_COLOUR)
    embed["fields"] = kept
    embed["timestamp"] = shown.timestamp
    return embed


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escaped_within(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """`text` escaped, cut (before escaping, so no entity is split) to fit `limit`."""
    if len(escape(text)) <= limit:
        return escape(text)
    low, high = 0, len(text)  # the longest prefix that fits once escaped, with the ellipsis
    while low < high:
        middle = (low + high + 1) // 2
        if len(escape(text[:middle] + ELLIPSIS)) <= limit:
            low = middle
        else:
            high = middle - 1
    return escape(text[:low] + ELLIPSIS)


def slack(event: Event, options: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` for notifications, and Block Kit blocks."""
    shown = content(event)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": cut(shown.title, SLACK_HEADER), "emoji": True},
        }
    ]
    if shown.description:
        text = _escaped_within(shown.description, SLACK_TEXT, _slack_escape)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    fields = [
        {
            "type": "mrkdwn",
            "text": _escaped_within(f"*{name}*\n{value}", SLACK_FIELD, _slack_escape),
        }
        for name, value, _ in shown.fields[:SLACK_MAX_FIELDS]
    ]
    for start in range(0, len(fields), SLACK_FIELDS_PER_SECTION):
        blocks.append(
            {"type": "section", "fields": fields[start : start + SLACK_FIELDS_PER_SECTION]}
        )
    if shown.detail is not None:
        code = "```" + _escaped_within(shown.detail, SLACK_TEXT - 6, _slack_escape) + "```"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": code}})
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{event.type} · {shown.timestamp}"}],
        }
    )
    fallback = shown.title + (f": {shown.description}" if shown.description else "")
    return {"text": _escaped_within(fallback, SLACK_FALLBACK, _slack_escape), "blocks": blocks}


def slack_many(events: list[Event], options: Mapping[str, Any]) -> dict[str, Any]:
    """One Slack message for a batch: each event's blocks, divided, within Slack's 50 blocks;
    when they do not fit, each event as one section (and, past 24 events, a last line saying
    how many more there were)."""
    messages = [slack(event, options) for event in events]
    divider = {"type": "divider"}
    blocks: list[dict[str, Any]] = []
    if sum(len(m["blocks"]) + 1 for m in messages) - 1 <= SLACK_BLOCKS:
        for message in messages:
            blocks += [divider, *message["blocks"]] if blocks else message["blocks"]
    else:
        shown = events if 2 * len(events) - 1 <= SLACK_BLOCKS else events[: SLACK_BLOCKS // 2 - 1]
        for event in shown:
            blocks += [divider, _slack_section(event)] if blocks else [_slack_section(event)]
        if len(shown) < len(events):
            more = f"… and {len(events) - len(shown)} more events"
            blocks += [divider, {"type": "context", "elements": [{"type": "mrkdwn", "text": more}]}]
    titles = "; ".join(content(event).title for event in events)
    fallback = f"{len(events)} events: {titles}" if len(events) > 1 else messages[0]["text"]
    return {"text": _escaped_within(fallback, SLACK_FALLBACK, _slack_escape), "blocks": blocks}


def _slack_section(event: Event) -> dict[str, Any]:
    """An event in one block: its title, description and type."""
    shown = content(event)
    lines = f"*{shown.title}*" + (f"\n{shown.description}" if shown.description else "")
    lines += f"\n{event.type} · {shown.timestamp}"
    text = _escaped_within(lines, SLACK_TEXT, _slack_escape)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def telegram(event: Event, options: Mapping[str, Any]) -> dict[str, Any]:
    """The body of Telegram's sendMessage, in HTML with every value escaped."""
    return _telegram_body(_telegram_text(event, TELEGRAM_TEXT), options)


def telegram_many(events: list[Event], options: Mapping[str, Any]) -> dict[str, Any]:
    """One sendMessage for a batch: the events' texts, a blank line apart, within Telegram's
    4096 characters (each an equal share; when a share would be under 64 characters, the
    first events that fit, and a line saying how many more there were)."""
    count = len(events)
    shown = min(count, (TELEGRAM_TEXT + 2) // (TELEGRAM_SHARE + 2))
    more = f"<i>… and {count - shown} more events</i>" if shown < count else ""
    visible = len(f"… and {count - shown} more events") + 2 if more else 0
    share = (TELEGRAM_TEXT - visible - 2 * (shown - 1)) // max(1, shown)
    texts = [_telegram_text(event, share) for event in events[:shown]]
    return _telegram_body("\n\n".join([*texts, more] if more else texts), options)


def _telegram_text(event: Event, limit: int) -> str:
    """An event's text in HTML, at most `limit` characters once Telegram has parsed it."""
    shown = content(event)
    parts: list[tuple[str, str, str]] = [("", shown.title, "<b>{}</b>")]  # label, text, markup
    if shown.description:
        parts.append(("", shown.description, "{}"))
    parts.extend((name, cut(value, TELEGRAM_VALUE), "{}") for name, value, _ in shown.fields)
    if shown.detail is not None:
        parts.append(("", shown.detail, '<pre><code class="language-json">{}</code></pre>'))
    parts.append(("", shown.timestamp, "<i>{}</i>"))
    room = limit + 1  # the first part has no newline before it
    lines: list[str] = []
    for label, text, markup in parts:
        prefix = f"{label}: " if label else ""
        if room - 1 - len(prefix) < 16:  # no room left worth showing
            break
        visible = cut(text, room - 1 - len(prefix))
        head = f"<b>{_html(label)}:</b> " if label else ""
        lines.append(head + markup.format(_html(visible)))
        room -= 1 + len(prefix) + len(visible)
    return "\n".join(lines)


def _telegram_body(text: str, options: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"chat_id": options["chat_id"]}
    if "message_thread_id" in options:
        body["message_thread_id"] = options["message_thread_id"]
    body |= {"text": text, "parse_mode": "HTML"}
    if "disable_notification" in options:
        body["disable_notification"] = options["disable_notification"]
    return body
