"""Every input model is strict about booleans and numbers: `"yes"` is not true, `"5"` is not 5,
`5.0` is not an integer. Instants still come as ISO 8601 strings, and a float field still takes
an integer."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

import pytest
from pydantic import AwareDatetime, BaseModel, StrictFloat, ValidationError
from pydantic.types import Strict

from hookline import models


def inputs() -> list[type[models.Input]]:
    found: list[type[models.Input]] = []
    todo = [models.Input]
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return found


def lax_scalars(annotation: Any, strict: bool = False) -> list[str]:
    """The bool/int/float types in `annotation` that pydantic would coerce."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *metadata = typing.get_args(annotation)
        return lax_scalars(base, strict or any(isinstance(m, Strict) for m in metadata))
    if origin in (typing.Union, types.UnionType, list, dict, tuple):
        return [lax for arg in typing.get_args(annotation) for lax in lax_scalars(arg, strict)]
    if annotation in (bool, int, float) and not strict:
        return [annotation.__name__]
    return []


def test_there_are_inputs_to_check() -> None:
    assert {m.__name__ for m in inputs()} >= {"TenantCreate", "WebhookCreate", "WebhookUpdate"}


@pytest.mark.parametrize("model", inputs(), ids=lambda m: m.__name__)
def test_every_input_field_is_strict_about_booleans_and_numbers(
    model: type[models.Input],
) -> None:
    for name, field in model.model_fields.items():
        strict = any(isinstance(m, Strict) for m in field.metadata)
        assert not lax_scalars(field.annotation, strict), (
            f"{model.__name__}.{name} is {field.annotation}: use StrictBool, StrictInt or "
            "StrictFloat, so that strings and floats are not coerced"
        )


def test_the_strict_types_refuse_coercion_but_take_their_own_kind() -> None:
    class Example(BaseModel):
        ratio: StrictFloat = 0.0
        at: AwareDatetime | None = None

    assert Example.model_validate({"ratio": 3}).ratio == 3.0  # a JSON integer is a number
    assert Example.model_validate({"at": "2026-01-01T00:00:00Z"}).at is not None
    for bad in ("3", True):
        with pytest.raises(ValidationError):
            Example.model_validate({"ratio": bad})
    coercions: list[tuple[type[BaseModel], str, list[object]]] = [
        (models.TenantCreate, "max_webhooks", ["5", 5.0, True]),
        (models.WebhookUpdate, "is_active", ["yes", 1, "true"]),
        (models.EventTypeUpdate, "archived", ["no", 0]),
        (models.SecretRotation, "grace_seconds", ["60", 60.0, False]),
    ]
    for model, field, values in coercions:
        base = {"name": "x"} if model is models.TenantCreate else {}
        for value in values:
            with pytest.raises(ValidationError):
                model.model_validate({**base, field: value})
