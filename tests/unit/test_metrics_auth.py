"""Who may read /metrics: anyone without a token, else only `Authorization: Bearer <token>`."""

from __future__ import annotations

import pytest

from hookline.metrics import authorized


@pytest.mark.parametrize(
    ("header", "token", "allowed"),
    [
        (None, None, True),
        ("Bearer anything", None, True),
        (None, "s3cret", False),
        ("", "s3cret", False),
        ("Bearer s3cret", "s3cret", True),
        ("bearer s3cret", "s3cret", True),
        ("Bearer s3cret ", "s3cret", True),
        ("Bearer s3cre", "s3cret", False),
        ("Bearer s3crett", "s3cret", False),
        ("Basic s3cret", "s3cret", False),
        ("s3cret", "s3cret", False),
        ("Bearer ", "s3cret", False),
    ],
)
def test_authorized(header: str | None, token: str | None, allowed: bool) -> None:
    assert authorized(header, token) is allowed
