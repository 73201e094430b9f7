"""Cursors are opaque, and only the ones the store made are read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.errors import BadRequest
from hookline.store import pages


def test_a_cursor_is_refused_unless_it_is_exactly_one_this_store_made() -> None:
    made = pages.encode_cursor("tenants.id", "ten_01m8v0vaaqt50bnvsjrf3fatq3")
    assert pages.decode_cursor(made, "tenants.id") == "ten_01m8v0vaaqt50bnvsjrf3fatq3"
    for scope, key in [
        ("webhooks.id", "wh_01m8v0vaaqt50bnvsjrf3fatq3"),  # another list's
        ("tenants.id", ""),  # no key
        ("tenants.id", "ten_' OR 1=1 --"),  # not a key any list has
        ("tenants.id", "ten_\x00"),
    ]:
        with pytest.raises(BadRequest, match="next_cursor"):
            pages.decode_cursor(pages.encode_cursor(scope, key), "tenants.id")
    for edited in (made[:-1], made + "A", made[:4] + made[5:], made.swapcase()):
        with pytest.raises(BadRequest, match="next_cursor"):
            pages.decode_cursor(edited, "tenants.id")


@given(
    st.from_regex(pages.KEY, fullmatch=True), st.sampled_from(["tenants.id", "event_types.name"])
)
def test_every_key_a_list_has_goes_through_a_cursor_unchanged(key: str, scope: str) -> None:
    cursor = pages.encode_cursor(scope, key)
    assert len(key) < 8 or key not in cursor  # opaque
    assert pages.decode_cursor(cursor, scope) == key


@given(st.text(max_size=600))
def test_text_that_is_not_a_cursor_is_refused(text: str) -> None:
    with pytest.raises(BadRequest, match="next_cursor"):
        pages.decode_cursor(text, "tenants.id")
