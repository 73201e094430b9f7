"""Batch webhooks' rules at save time (pure). See docs/destinations.md.

How batches are formed and sent lives with the flow: fan-out delays a batch webhook's
deliveries (hookline.fanout), ingest sends a full batch at once and the worker gathers one
(hookline.store.batches), and `deliver` renders and signs its one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookline import formats
from hookline.errors import InvalidInput


def check(
    batch: Mapping[str, Any] | None, *, ordering: str | None, format_name: str, url: str
) -> None:
    """Raise InvalidInput (saying what to fix) when a webhook cannot batch as it would be
    saved: not with FIFO ordering, and at most 10 events for Discord. (`url` is the masked
    URL; every kind of destination takes batches: a mailto: webhook sends one mail.)"""
    if batch is None:
        return
    if ordering == "fifo":
        raise InvalidInput(
            'batch: a FIFO webhook (ordering "fifo") sends one event at a time, in order; '
            "drop `batch`, or set ordering to null",
            loc=("batch",),
        )
    size = int(batch["max_events"])
    if format_name == formats.DISCORD and size > formats.MAX_DISCORD_BATCH:
        raise InvalidInput(
            f"batch.max_events: a Discord message holds at most {formats.MAX_DISCORD_BATCH} "
            f"embeds, one per event; got {size}: send at most {formats.MAX_DISCORD_BATCH}",
            loc=("batch", "max_events"),
        )
