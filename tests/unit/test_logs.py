from __future__ import annotations

import json
import logging

from hookline.logs import JsonFormatter, TextFormatter, redact


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("hookline.worker", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_redact_masks_every_kind_of_secret() -> None:
    text = (
        "key hl_AbCdEfGh12345678xyz secret whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ= "
        "Authorization: Bearer abc.def sig v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= "
        "hex sha256=" + "ab" * 32 + " url redis://user:pa55word@host:6379/0"
    )
    masked = redact(text)
    for secret in ("AbCdEfGh", "c2VjcmV0", "abc.def", "K5oZfz", "ab" * 32, "pa55word"):
        assert secret not in masked
    assert "redis://user:***@host:6379/0" in masked


def test_json_lines_carry_the_fields_and_text_lines_show_them() -> None:
    line = record("delivery %s failed", "dlv_1", event_id="evt_1", url="https://u:pw@x.test/")
    parsed = json.loads(JsonFormatter().format(line))
    assert parsed["level"] == "info"
    assert parsed["logger"] == "hookline.worker"
    assert parsed["message"] == "delivery dlv_1 failed"
    assert parsed["event_id"] == "evt_1"
    assert parsed["url"] == "https://u:***@x.test/"
    assert parsed["time"].endswith("Z")
    text = TextFormatter().format(line)
    assert "delivery dlv_1 failed event_id=evt_1 url=https://u:***@x.test/" in text
