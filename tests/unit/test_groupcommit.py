import asyncio

import pytest

from hookline.errors import Unavailable
from hookline.groupcommit import Batcher


async def test_concurrent_submissions_share_a_flush_and_each_gets_its_own_result() -> None:
    flushed: list[list[int]] = []

    async def flush(items: list[int]) -> list[int | Exception]:
        flushed.append(items)
        await asyncio.sleep(0.01)
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(flush, max_batch=100, name="t")
    batcher.start()
    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)), return_exceptions=True)
    await batcher.close()
    assert (results[0], results[4]) == (0, 40)
    assert isinstance(results[3], ValueError)
    assert len(flushed) < 10  # grouped, not one flush per item
    assert sorted(i for batch in flushed for i in batch) == list(range(10))


async def test_batches_respect_the_maximum_size() -> None:
    sizes: list[int] = []

    async def flush(items: list[int]) -> list[int | Exception]:
        sizes.append(len(items))
        return list(items)

    batcher: Batcher[int, int] = Batcher(flush, max_batch=3, name="t")
    batcher.start()
    await asyncio.gather(*(batcher.submit(i) for i in range(10)))
    await batcher.close()
    assert max(sizes) <= 3


async def test_a_failing_flush_fails_every_item_in_it() -> None:
    async def flush(items: list[int]) -> list[int | Exception]:
        raise RuntimeError("database down")

    batcher: Batcher[int, int] = Batcher(flush, max_batch=10, name="t")
    batcher.start()
    with pytest.raises(RuntimeError, match="database down"):
        await batcher.submit(1)
    await batcher.close()


async def test_close_finishes_what_was_submitted_and_refuses_more() -> None:
    done: list[int] = []

    async def flush(items: list[int]) -> list[int | Exception]:
        await asyncio.sleep(0.02)
        done.extend(items)
        return list(items)

    batcher: Batcher[int, int] = Batcher(flush, max_batch=2, name="t")
    batcher.start()
    pending = [asyncio.create_task(batcher.submit(i)) for i in range(5)]
    await asyncio.sleep(0)
    await batcher.close()
    assert sorted(done) == list(range(5))
    assert [t.result() for t in pending] == list(range(5))
    with pytest.raises(Unavailable):
        await batcher.submit(9)


async def test_a_flush_that_miscounts_fails_its_batch_and_the_batcher_lives_on() -> None:
    calls = 0

    async def flush(items: list[int]) -> list[int | Exception]:
        nonlocal calls
        calls += 1
        return [] if calls == 1 else list(items)

    batcher: Batcher[int, int] = Batcher(flush, max_batch=10, name="t")
    batcher.start()
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        await batcher.submit(1)
    assert await batcher.submit(2) == 2
    await batcher.close()
