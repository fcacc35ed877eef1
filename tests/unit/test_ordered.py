"""ordered_map: results in the items' order, whatever finishes first, with a bounded number in flight."""

from __future__ import annotations

import asyncio

from egnyte_async.ordered import ordered_map


def test_ordered_map_keeps_order_whatever_finishes_first():
    async def main():
        async def slow_for_small(n: int) -> int:
            await asyncio.sleep(0.001 * (10 - n))
            return n * n

        return [result async for _, result in ordered_map(range(10), slow_for_small, 4)]

    assert asyncio.run(main()) == [n * n for n in range(10)]


def test_ordered_map_never_has_more_than_limit_in_flight():
    in_flight = 0
    peak = 0

    async def work(n: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return n

    async def main():
        return [r async for _, r in ordered_map(range(50), work, 3)]

    assert asyncio.run(main()) == list(range(50))
    assert peak == 3  # the limit is reached, never passed
