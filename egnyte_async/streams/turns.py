"""Whose turn it is to be read again: a periodic refresh spread evenly over the syncs of its period.

Groups carry no timestamp, and `lastActiveDate` may miss what changes a user's bookmarks (a folder deleted under
them), so each group's members and each user's bookmarks are read again once in a period, whatever else tells.
Reading them all at once would spend a whole period's calls in one sync; instead the period holds
`slots = round(period_hours / sync_frequency_hours)` syncs (a *tick* is one `sync_frequency_hours` of UTC time),
and a record is due in the ticks where `tick % slots` is its slot, a stable hash of its id. A pass that begins in
tick T reads the records due in the ticks since the previous pass began (a whole period's worth at most: everyone),
so a sync that is late or skipped costs nobody their turn; when the quota cannot keep up, passes grow longer and the
refresh becomes a round of everyone as fast as the quota allows. Refreshes run behind every signaled change
(streams/phases.py), so a long refresh never holds new groups and active users back.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from egnyte_async.log import Log
from egnyte_async.state import report_unreadable


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
    """Whether one of the ticks in (after_tick, on_tick] is the record's (None, or a clock set back: the tick
    `on_tick` only; a pass in the tick of the one before reads no refresh). A range of `slots` ticks or more holds
    everyone's; one slot is every pass's."""
    if slots <= 1:
        return True
    first = on_tick if after_tick is None or after_tick > on_tick else after_tick + 1
    if on_tick - first + 1 >= slots:
        return first <= on_tick
    due = first + (slot_of(key, slots) - first) % slots
    return due <= on_tick


def read_tick(raw: Mapping[str, Any], key: str, stream: str, log: Log) -> int | None:
    """A saved tick; None when absent, or with a warning when it is not one (the turns are counted from now)."""
    value = raw.get(key)
    if value is None:
        return None
    if type(value) is not int or not 0 <= value < 2**40:
        again = "the records due for a refresh are counted from now"
        report_unreadable(log, stream, repr(key), value, again, "not a tick")
        return None
    return value
