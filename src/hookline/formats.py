"""Payload formats: what body a delivery carries (pure). See docs/formats.md.

A format turns an event (its stored standard envelope) into the exact bytes sent. `standard`
sends the envelope as stored; every other format reads it back and renders its own shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookline.errors import InvalidInput

STANDARD = "standard"


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


def render(spec: Spec, payload: str, context: Context) -> bytes:
    """The body of one delivery of the event whose standard envelope is `payload`."""
    if spec.name == STANDARD:
        return payload.encode()
    raise FormatError(f"format {spec.name!r} is not supported yet")


def check(spec: Spec, url: str) -> Spec:
    """A format as a webhook may be saved with; raises InvalidInput saying what to fix."""
    if spec.name != STANDARD:
        raise InvalidInput(f"format {spec.name!r} is not supported yet", loc=("format",))
    return spec
