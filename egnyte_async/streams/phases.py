"""Freshness first: every sync reads the cheap listings before it spends anything on the costly fan-outs.

The listings (users, the group listing, notes) cost a call per 100 records; the fan-outs (a detail call per group,
a bookmark listing per user) a call per record. Under Egnyte's daily quota a sync that let both draw at once could
spend its share on fan-outs and leave the users scan unfinished for days. So each stream first reads its listing,
if it has one, then waits at this barrier until every stream's listing is over (finished, stopped by the quota, or
failed); only then do the fan-outs start, on what the listings gathered (see streams/roster.py), with what is left
of the sync's share. A stream without a fan-out simply ends; the pipeline tells the barrier when any stream's task
ends, so no stream waits for one that will never arrive.
"""

from __future__ import annotations

from collections.abc import Iterable

import anyio


class ListingsBarrier:
    """Opens once every stream of the sync has said its listing is over."""

    def __init__(self, streams: Iterable[str]) -> None:
        self._waiting_for = set(streams)
        self._open = anyio.Event()
        if not self._waiting_for:
            self._open.set()

    def listing_over(self, stream: str) -> None:
        """`stream` will read no more of its listing this sync (also called when its task ends, whatever the end)."""
        self._waiting_for.discard(stream)
        if not self._waiting_for:
            self._open.set()

    async def fan_out(self, stream: str) -> None:
        """`stream`'s listing is over: returns once every other stream's listing is too."""
        self.listing_over(stream)
        await self._open.wait()

    async def opened(self) -> None:
        """Returns once every stream's listing is over."""
        await self._open.wait()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()


#: The tiers of the fan-outs, in the order a short quota serves them: what the listings signal as changed (new
#: groups, new and active users), then the refreshes nothing signals, group members before bookmarks (a membership
#: has no other way to show a change; a bookmark's refresh is a safety net behind `lastActiveDate`).
SIGNALED = 0
MEMBERSHIP_REFRESH = 1
BOOKMARK_REFRESH = 2
_OVER = 1 << 30


class FanOutTiers:
    """Holds each fan-out's work of a tier until every fan-out has finished the tiers before it.

    Each fan-out stream reads its signaled work first, then calls `reach(stream, tier)` before the work of a later
    tier; it returns once no fan-out is still on an earlier tier. So when the sync's share runs out, it has gone to
    the signaled changes of every stream before any refresh. A stream whose task ends (whatever the end) is past
    every tier."""

    def __init__(self, streams: Iterable[str]) -> None:
        self._at = dict.fromkeys(streams, SIGNALED)
        self._changed = anyio.Event()

    async def reach(self, stream: str, tier: int) -> None:
        self._move(stream, tier)
        while self._at and min(self._at.values()) < tier:
            changed = self._changed
            await changed.wait()

    def leave(self, stream: str) -> None:
        if stream in self._at:
            self._move(stream, _OVER)

    def _move(self, stream: str, tier: int) -> None:
        if stream in self._at and tier > self._at[stream]:
            self._at[stream] = tier
            self._changed.set()
            self._changed = anyio.Event()
