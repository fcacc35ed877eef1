"""A bound on the text waiting between the fetching side and the writing side, in characters, not items.

The queue between them holds a fixed number of pages; pages of long notes (a comment can hold a million
characters) would make that fixed number a few gigabytes. A producer takes room for a batch here before it puts
the batch in the queue, and the room is given back when the drain loop takes the batch out. A batch larger than
the whole bound still passes, alone, so nothing ever waits forever.
"""

from __future__ import annotations

import asyncio


class TextBudget:
    """Room for `limit` characters of rows in the queue; use from the event loop only."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._changed = asyncio.Condition()

    async def take(self, size: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.held == 0 or self.held + size <= self.limit)
            self.held += size

    async def give_back(self, size: int) -> None:
        async with self._changed:
            self.held -= size
            self._changed.notify_all()
