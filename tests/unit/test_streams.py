"""Small pieces of the streams: ordered concurrency, resuming inside a page, the notes window, the state."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from egnyte_async.log import RecordingLog
from egnyte_async.pagination import skip_through
from egnyte_async.state import SyncState
from egnyte_async.tables.notes import CURSOR_OVERLAP, new_window, time_params
from egnyte_async.tables.ordered import ordered_map

NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)


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
    assert peak <= 3


def test_skip_through_resumes_after_the_last_written_item():
    items = [{"id": i} for i in range(5)]
    assert skip_through(items, 2) == [{"id": 3}, {"id": 4}]
    assert skip_through(items, 4) == []
    assert skip_through(items, 99) == items  # no longer listed: the page is redone, harmlessly


class Ctx:
    def __init__(self):
        self.log = RecordingLog()
        self.now = NOW
        self.initial_sync_days = 30


def test_first_notes_window_reaches_back_initial_sync_days():
    assert new_window(Ctx(), {}) == (NOW - timedelta(days=30), NOW)


def test_later_notes_windows_start_an_hour_before_the_cursor():
    start, end = new_window(Ctx(), {"cursor": "2026-11-28T08:00:00Z"})
    assert start == datetime(2026, 11, 28, 8, tzinfo=timezone.utc) - CURSOR_OVERLAP
    assert end == NOW


def test_an_unreadable_cursor_is_reported_and_the_window_restarts():
    ctx = Ctx()
    assert new_window(ctx, {"cursor": "not a date"}) == (NOW - timedelta(days=30), NOW)
    assert any("unreadable" in text for text in ctx.log.texts("warning"))


def test_date_only_bounds_are_widened_by_a_day_each_side():
    params = time_params(datetime(2026, 11, 10, 5, tzinfo=timezone.utc), NOW, "date")
    assert params == {"start_time": "2026-11-09", "end_time": "2026-11-29"}
    assert time_params(datetime(2026, 11, 10, 5, tzinfo=timezone.utc), NOW, "iso") == {
        "start_time": "2026-11-10T05:00:00Z",
        "end_time": "2026-11-28T12:00:00Z",
    }


def test_state_load_ignores_garbage_and_keeps_known_streams():
    state = SyncState.load({"streams": {"users": {"scan": {"index": 5}}, "bogus": {}, "notes": "x"}, "quota": 3})
    assert state.streams == {"users": {"scan": {"index": 5}}}
    assert state.quota is None
    assert SyncState.load(None).streams == {}
    assert SyncState.load("nonsense").streams == {}


def test_state_positions_are_copies():
    state = SyncState.load({"streams": {"users": {"scan": {"index": 5}}}})
    position = state.position("users")
    position["scan"]["index"] = 99
    assert state.position("users") == {"scan": {"index": 5}}
