"""TextBudget: the queue's bound in characters."""

from __future__ import annotations

import asyncio

from egnyte_async.backpressure import TextBudget


async def test_a_batch_waits_until_the_text_before_it_is_taken_out():
    budget = TextBudget(100)
    await budget.take(60)
    second = asyncio.ensure_future(budget.take(60))
    await asyncio.sleep(0)
    assert not second.done() and budget.held == 60
    await budget.give_back(60)
    await second
    assert budget.held == 60


async def test_a_batch_larger_than_the_bound_passes_alone():
    budget = TextBudget(100)
    await budget.take(500)  # nothing held: it passes, or it would wait forever
    assert budget.held == 500
    blocked = asyncio.ensure_future(budget.take(1))
    await asyncio.sleep(0)
    assert not blocked.done()
    await budget.give_back(500)
    await blocked
    assert budget.held == 1
