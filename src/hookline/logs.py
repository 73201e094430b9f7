"""hookline's log output: readable text lines by default, or one JSON object a line
(`--log-format json`, HOOKLINE_LOG_FORMAT=json) with time, level, logger, message and the
structured fields a line was logged with (`extra=`).

Delivery lines carry `event_id`, `delivery_id`, `webhook_id` and `tenant_id` (`delivery_fields`);
text lines show the fields as `key=value` after the message. Whatever is logged passes through
`redact` last: API keys, webhook secrets, signatures, bearer tokens and URL passwords are masked
even if a message or an error text happened to hold one. (Custom header values are never logged
at all: nothing can recognise them.)
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from hookline.destinations.urls import kind_of
from hookline.schedule import Delivered, Disable, GiveUp, Retry
from hookline.transport import Accepted, Failure, Response

if TYPE_CHECKING:
    from hookline.deliver import Finished, Job

FORMATS = ("text", "json")

# The attributes every LogRecord has: anything else on a record is a structured field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's message with terminal colours
}

_SECRETS = (
    (re.compile(r"(?i)\b(whsec_)[A-Za-z0-9+/=_-]+"), r"\1***"),  # webhook secrets
    (re.compile(r"\b(hl_)[A-Za-z0-9_-]{8,}"), r"\1***"),  # API keys
    (re.compile(r"(?i)\b(bearer\s+)\S+"), r"\1***"),  # an Authorization value
    (re.compile(r"\b(v1[a]?,)[A-Za-z0-9+/=_-]{16,}"), r"\1***"),  # Standard Webhooks signatures
    (re.compile(r"(?i)\b(sha256=)[0-9a-f]{32,}"), r"\1***"),  # hex HMAC signatures
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1***@"),  # URL passwords
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was logged with."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def delivery_fields(job: Job) -> dict[str, str]:
    """The ids every log line about a delivery carries."""
    return {
        "event_id": job.event_id,
        "delivery_id": job.delivery_id,
        "webhook_id": job.target.webhook_id,
        "tenant_id": job.tenant_id,
    }


def attempt_fields(done: Finished) -> dict[str, Any]:
    """The debug line of a finished attempt: the ids, its number, the destination kind, the
    status (or error), the latency and what follows."""
    result, decision = done.result, done.decision
    line: dict[str, Any] = {
        **delivery_fields(done.job),
        "attempt": done.job.number,
        "destination": kind_of(done.job.target.url) or "unknown",
        "latency_ms": result.latency_ms,
    }
    if isinstance(result, Response):
        line["status"] = result.status_code
    elif isinstance(result, Accepted):
        line["status"] = "accepted"
    elif isinstance(result, Failure):
        line["error"] = result.error
    if done.job.batch_id is not None:
        line["batch_id"] = done.job.batch_id
    line["outcome"] = _OUTCOMES[type(decision)]
    return line


_OUTCOMES = {Delivered: "delivered", Retry: "retry", GiveUp: "failed", Disable: "disabled"}


def attempt_line(done: Finished) -> tuple[str, ...] | tuple[Any, ...]:
    """The message (with its arguments) of a finished attempt's debug line."""
    result = done.result
    if isinstance(result, Response):
        answer = f"status {result.status_code}"
    elif isinstance(result, Accepted):
        answer = "accepted"
    else:
        answer = f"error: {result.error}"
    return (
        "delivery %s attempt %d to %s: %s in %d ms, %s",
        done.job.delivery_id,
        done.job.number,
        kind_of(done.job.target.url) or "unknown",
        answer,
        result.latency_ms,
        _OUTCOMES[type(done.decision)],
    )


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


class TextFormatter(logging.Formatter):
    """`2026-12-02 16:40:00,123 INFO hookline.worker: message key=value ...`"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(f"{k}={_plain(v)}" for k, v in fields(record).items())
        if extra:
            head, newline, rest = line.partition("\n")  # after the message, before a traceback
            line = f"{head} {extra}{newline}{rest}"
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the fields, and
    `exception` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        created = time.gmtime(record.created)
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", created) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in fields(record).items():
            value = _plain(value)
            line.setdefault(key, redact(value) if isinstance(value, str) else value)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False)


def setup(level: str, format: str = "text") -> None:
    """Send every logger's lines (uvicorn's too) to stderr in `format`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    if root.getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # 7 lines a start
    else:  # the HTTP client's and drivers' own debug lines would show headers and URLs
        for chatty in ("httpcore", "httpx", "asyncio", "aiosqlite", "hpack", "aio_pika", "aiormq"):
            logging.getLogger(chatty).setLevel(logging.INFO)
