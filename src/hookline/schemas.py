"""JSON Schema for event types: checked when an event type is saved, enforced on `send`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator, SchemaError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

from hookline.errors import InvalidInput


def _where(root: str, path: Iterable[str | int]) -> str:
    text = root
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for `schema`, or InvalidInput saying what is wrong with the schema."""
    cls = validators.validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = _where("schema", exc.absolute_path)
        raise InvalidInput(f"{where}: not a valid JSON Schema: {exc.message}") from None
    return cls(schema)


def check(validator: Validator, data: Any, event_type: str) -> None:
    """Raise InvalidInput naming the first place `data` breaks the event type's schema."""
    error = best_match(validator.iter_errors(data))
    if error is not None:
        where = _where("data", error.absolute_path)
        raise InvalidInput(
            f"{where}: {error.message} (the schema of event type {event_type!r} requires it)",
            path=where,
        )
