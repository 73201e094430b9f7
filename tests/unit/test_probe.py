"""`hookline test`'s pure parts: which types `--type` picks, and the lines it prints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookline.models import EventType
from hookline.probe import Tried, choices, line, matching, summary, target
from hookline.signing import generate_secret

AT = datetime(2026, 12, 2, tzinfo=UTC)


def event_type(name: str, group: str | None = None) -> EventType:
    return EventType.model_validate(
        {
            "name": name,
            "description": "",
            "schema": None,
            "group": group,
            "archived": False,
            "created_at": AT,
            "updated_at": AT,
        }
    )


CATALOG = [
    event_type("LIQUIDATION_CASCADE", "CASCADE"),
    event_type("CASCADE_EXHAUSTED", "CASCADE"),
    event_type("FUNDING_ANOMALY", "FUNDING"),
    event_type("order.filled"),
]


@pytest.mark.parametrize(
    ("wanted", "picked"),
    [
        (None, ["LIQUIDATION_CASCADE", "CASCADE_EXHAUSTED", "FUNDING_ANOMALY", "order.filled"]),
        ("cascade", ["LIQUIDATION_CASCADE", "CASCADE_EXHAUSTED"]),  # seed 000's --type cascade
        (" Funding ", ["FUNDING_ANOMALY"]),
        ("funding_anomaly", ["FUNDING_ANOMALY"]),
        ("ORDER.FILLED", ["order.filled"]),
        ("order", []),  # a name is matched whole
        ("", []),
    ],
)
def test_type_picks_names_and_groups_in_any_case(wanted: str | None, picked: list[str]) -> None:
    assert [t.name for t in matching(CATALOG, wanted)] == picked


def test_choices_list_live_names_and_groups() -> None:
    assert choices(CATALOG) == (
        "event types: CASCADE_EXHAUSTED, FUNDING_ANOMALY, LIQUIDATION_CASCADE, order.filled; "
        "groups: CASCADE, FUNDING"
    )
    assert choices([event_type("a.b")]) == "event types: a.b"


def test_lines_and_summary() -> None:
    ok = Tried("LIQUIDATION_CASCADE", True, 200, 12, None)
    refused = Tried("order.filled", False, None, 3, "connection refused by 127.0.0.1:9")
    failed = Tried("FUNDING_ANOMALY", False, 500, 40, "HTTP 500")
    assert line(ok, 19) == "  ✓ LIQUIDATION_CASCADE  200  12 ms"
    assert (
        line(refused, 19) == "  ✗ order.filled         ---  3 ms  connection refused by 127.0.0.1:9"
    )
    assert line(failed, 15) == "  ✗ FUNDING_ANOMALY  500  40 ms  HTTP 500"
    assert summary([ok]) == "all 1 succeeded"
    assert summary([ok, refused, failed]) == "2 of 3 failed"


def test_a_sample_takes_the_format_its_url_would_get() -> None:
    secret = generate_secret()
    chat = target("https://discord.com/api/webhooks/1/token", secret, format_name=None, scheme=None)
    plain = target("https://example.com/hooks", secret, format_name=None, scheme=None)
    chosen = target(
        "https://hooks.slack.com/services/T/B/x", secret, format_name="data", scheme=None
    )
    assert (chat.format.name, plain.format.name, chosen.format.name) == (
        "discord",
        "standard",
        "data",
    )
