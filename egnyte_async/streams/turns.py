"""Whose turn it is to be read again: a periodic refresh spread evenly over the syncs of its period.

Groups carry no timestamp, and `lastActiveDate` may miss what changes a user's bookmarks (a folder deleted under
them), so each group's members and each user's bookmarks are read again once in a period, whatever else tells.
Reading them all at once would spend a whole period's calls in one sync; instead the period holds
`slots = round(period_hours / sync_frequency_hours)` syncs (a *tick* is one `sync_frequency_hours` of UTC time),
and a record is due in the ticks where `tick % slots` is its slot, a stable hash of its id. A pass that begins in
tick T reads the records due in the ticks since the previous pass began, at most `MAX_TICKS_CAUGHT_UP` of them:
a sync late by a tick costs nobody their turn, and when the quota cannot keep up, passes stay short (active users
and new groups are not held behind a backlog of refreshes); the refresh then takes longer than its period.
"""

from __future__ import annotations

import zlib
from datetime import datetime

#: Ticks since the previous pass whose due records a pass reads: one late or skipped sync is caught up.
MAX_TICKS_CAUGHT_UP = 2


def tick_of(moment: datetime, sync_frequency_hours: float) -> int:
    """Which `sync_frequency_hours` of UTC time since the epoch `moment` falls in."""
    return int(moment.timestamp() // (sync_frequency_hours * 3600))


def refresh_slots(period_hours: float, sync_frequency_hours: float) -> int:
    """Syncs in a refresh period: each reads a share of the records, so that every one is read once in it."""
    return max(1, round(period_hours / sync_frequency_hours))


def slot_of(key: str, slots: int) -> int:
    """The tick of every `slots` a record is due in: a stable hash of its id (not Python's salted hash()), the same
    in every process."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % slots


def due_between(key: str, slots: int, after_tick: int | None, on_tick: int) -> bool:
    """Whether one of the ticks in (after_tick, on_tick], at most the last MAX_TICKS_CAUGHT_UP of them, is the
    record's (None, or a clock set back: the tick `on_tick` only; a pass in the tick of the one before reads no
    refresh). One slot is every pass's."""
    if slots <= 1:
        return True
    first = on_tick if after_tick is None or after_tick > on_tick else after_tick + 1
    first = max(first, on_tick - MAX_TICKS_CAUGHT_UP + 1)
    due = first + (slot_of(key, slots) - first) % slots
    return due <= on_tick
