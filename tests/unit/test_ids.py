from hookline import ids


def test_ids_carry_their_prefix_and_sort_by_time() -> None:
    earlier = ids.new_id(ids.EVENT, now=1_700_000_000.000)
    later = ids.new_id(ids.EVENT, now=1_700_000_000.001)
    assert earlier.startswith("evt_")
    assert ids.has_prefix(earlier, ids.EVENT)
    assert earlier < later


def test_ids_are_unique_within_a_millisecond() -> None:
    made = {ids.new_id(ids.DELIVERY, now=1_700_000_000.0) for _ in range(10_000)}
    assert len(made) == 10_000


def test_ids_use_lowercase_crockford_base32() -> None:
    body = ids.new_id(ids.WEBHOOK).removeprefix("wh_")
    assert len(body) == 26
    assert set(body) <= set("0123456789abcdefghjkmnpqrstvwxyz")


def test_sequential_ids_sort_in_the_order_they_were_made_whatever_the_clock_says() -> None:
    # Delivery ids: a FIFO webhook's order. The same millisecond, and a clock stepping back.
    instants = [1_700_000_000.0] * 50 + [1_699_999_000.0] * 5 + [1_700_000_000.5]
    made = [ids.sequential_id("dlv", at) for at in instants]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(ids.has_prefix(i, "dlv") for i in made)
