"""The notes stream through Egnyte's events feed, against respx: the first scan takes the feed's cursor before it
reads, later syncs follow the feed (creates fetched and upserted, deletes soft-deleted, a quiet sync one call), and
the fallbacks: an id aged out of the feed (404) and a plan without it (403). A state of the previous release reads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import respx

from egnyte_async.items import Batch
from egnyte_async.pagination import Position
from egnyte_async.streams.context import StreamContext
from egnyte_async.streams.notes import FEED_RETRY, NotesState, Window, produce, read_state
from tests.clients import BASE, NOW, new_client
from tests.logs import RecordingLog

NOTES = f"{BASE}/pubapi/v1/notes"
EVENTS = f"{BASE}/pubapi/v1/events"
CURSOR = f"{BASE}/pubapi/v1/events/cursor"
NOW_TEXT = "2026-11-28T00:00:00Z"


def note(note_id: str) -> dict[str, Any]:
    return {
        "id": note_id, "message": f"text of {note_id}", "username": "jane", "formatted_name": "Jane Doe",
        "creation_time": "2026-11-27T10:00:00.000+0000", "file_path": "/Shared/a.txt", "group_id": "g",
        "can_delete": True,
    }  # fmt: skip


def event(event_id: int, action: str, note_id: str, **data: Any) -> dict[str, Any]:
    return {
        "id": event_id, "timestamp": "2026-11-27T10:00:00.000Z", "action_source": "WebUI", "actor": 7,
        "type": "note", "action": action, "object_detail": "/Shared/a.txt", "data": {"note_id": note_id, **data},
    }  # fmt: skip


def page(events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(200, json={"latest_id": 999, "oldest_id": 1, "count": len(events), "events": events})


def not_found() -> httpx.Response:
    return httpx.Response(404, json={"errors": [{"code": "404", "description": "Not found."}]})


def forbidden() -> httpx.Response:
    return httpx.Response(403, json={"errors": [{"code": "403", "description": "Events API not available."}]})


async def sync(fake_clock, state: NotesState, log: RecordingLog | None = None) -> list[Batch]:
    async with new_client(fake_clock) as client:
        ctx = StreamContext(client, log or RecordingLog(), client.settings, NOW, window=2)
        return [batch async for batch in produce(ctx, state)]


def upserted(batches: list[Batch]) -> list[str]:
    return [row["id"] for batch in batches for _, row in batch.rows]


def deleted(batches: list[Batch]) -> list[tuple[str, dict]]:
    return [item for batch in batches for item in batch.deletes]


def calls(route: respx.Route) -> list[dict[str, str]]:
    return [dict(call.request.url.params) for call in route.calls]


FOLLOWING = NotesState("iso", "2026-11-27T00:00:00Z", events_after=500)


@respx.mock
async def test_a_quiet_sync_costs_exactly_one_call_the_feeds_204(fake_clock):
    feed = respx.get(EVENTS).mock(return_value=httpx.Response(204))
    listing = respx.get(NOTES)
    batches = await sync(fake_clock, FOLLOWING)
    assert calls(feed) == [{"id": "500", "type": "note", "count": "100"}]
    assert len(respx.calls) == 1 and not listing.called
    assert upserted(batches) == [] and deleted(batches) == []
    final = batches[-1].state
    assert final.to_state() == {"time_format": "iso", "cursor": NOW_TEXT, "events_after": 500}


@respx.mock
async def test_creates_are_fetched_and_upserted_and_deletes_soft_deleted_page_by_page(fake_clock):
    first = [event(500 + k, "create", f"n{k}") for k in range(1, 100)] + [event(600, "delete", "old")]
    second = [event(601, "create", "n100"), event(602, "create", "gone"), event(603, "delete", "n1")]
    feed = respx.get(EVENTS).mock(side_effect=[page(first), page(second)])
    fetched: list[str] = []

    def one_note(request: httpx.Request, note_id: str) -> httpx.Response:
        fetched.append(note_id)
        return not_found() if note_id == "gone" else httpx.Response(200, json=note(note_id))

    respx.get(url__regex=rf"{NOTES}/(?P<note_id>[^/?]+)$").mock(side_effect=one_note)
    batches = await sync(fake_clock, FOLLOWING)

    assert [params["id"] for params in calls(feed)] == ["500", "600"]  # the next page after the last id received
    assert upserted(batches) == [f"n{k}" for k in range(1, 101)]  # "gone" 404: deleted since, skipped
    assert deleted(batches) == [("notes", {"id": "old"}), ("notes", {"id": "n1"})]
    assert sorted(fetched) == sorted([f"n{k}" for k in range(1, 101)] + ["gone"])
    # The state moves page by page, behind its rows and deletions; the end of the feed moves the cursor too.
    assert [batch.state.events_after for batch in batches] == [600, 603, 603]
    assert batches[1].deletes == (("notes", {"id": "n1"}),)
    assert batches[-1].state.cursor == NOW_TEXT
    row = batches[0].rows[0][1]
    assert row["note_text"] == "text of n1" and row["created_date"] == "2026-11-27T10:00:00.000Z"


@respx.mock
async def test_a_note_created_and_deleted_within_a_page_is_not_fetched_and_ends_deleted(fake_clock):
    respx.get(EVENTS).mock(side_effect=[page([event(501, "create", "brief"), event(502, "delete", "brief")])])
    single = respx.get(url__regex=rf"{NOTES}/.+")
    batches = await sync(fake_clock, FOLLOWING)
    assert not single.called
    assert deleted(batches) == [("notes", {"id": "brief"})]


@respx.mock
async def test_note_ids_are_read_wherever_the_event_names_them(fake_clock):
    events = [
        {**event(501, "create", "x"), "data": {"id": "a"}},
        {**event(502, "create", "x"), "data": {"note": {"id": "b"}}},
        {**event(503, "create", "x"), "data": {"file": "nothing"}},
    ]
    respx.get(EVENTS).mock(side_effect=[page(events)])
    respx.get(url__regex=rf"{NOTES}/(?P<note_id>[^/?]+)$").mock(
        side_effect=lambda request, note_id: httpx.Response(200, json=note(note_id))
    )
    log = RecordingLog()
    batches = await sync(fake_clock, FOLLOWING, log)
    assert upserted(batches) == ["a", "b"]
    assert log.texts("warning") == ["notes: 1 note event(s) after event 500 name no note or an unknown action; skipped"]
    assert batches[-1].state.events_after == 503


@respx.mock
async def test_the_first_scan_takes_the_feeds_cursor_before_its_first_page_and_keeps_it_when_done(fake_clock):
    order: list[str] = []
    respx.get(CURSOR).mock(
        side_effect=lambda request: (
            order.append("cursor")
            or httpx.Response(200, json={"timestamp": "x", "latest_event_id": 4242, "oldest_event_id": 7})
        )
    )
    respx.get(NOTES).mock(
        side_effect=lambda request: (
            order.append("notes") or httpx.Response(200, json={"offset": 0, "total_results": 1, "notes": [note("n1")]})
        )
    )
    batches = await sync(fake_clock, NotesState())
    assert order == ["cursor", "notes"]
    assert upserted(batches) == ["n1"]
    assert batches[-1].state.to_state() == {"time_format": "iso", "cursor": NOW_TEXT, "events_after": 4242}


@respx.mock
async def test_a_scan_under_way_keeps_the_cursor_taken_before_it(fake_clock):
    respx.get(CURSOR).mock(return_value=httpx.Response(200, json={"latest_event_id": 77, "oldest_event_id": 1}))
    notes = [note(f"n{k}") for k in range(5)]

    def listing(request: httpx.Request) -> httpx.Response:
        offset, count = int(request.url.params["offset"]), int(request.url.params["count"])
        return httpx.Response(200, json={"offset": offset, "total_results": 5, "notes": notes[offset : offset + count]})

    respx.get(NOTES).mock(side_effect=listing)
    async with new_client(fake_clock, max_records_per_page=2) as client:
        ctx = StreamContext(client, RecordingLog(), client.settings, NOW, window=1)
        batches = [batch async for batch in produce(ctx, NotesState())]
    middle = batches[0].state
    assert middle.to_state()["scan"]["events_from"] == 77 and "events_after" not in middle.to_state()
    assert read_state(middle.to_state(), RecordingLog()) == middle
    assert batches[-1].state.events_after == 77


@respx.mock
async def test_an_id_aged_out_of_the_feed_falls_back_to_one_window_from_the_cursor_then_a_fresh_feed_cursor(
    fake_clock,
):
    order: list[str] = []
    respx.get(EVENTS).mock(side_effect=lambda request: order.append("events") or not_found())
    respx.get(CURSOR).mock(
        side_effect=lambda request: (
            order.append("cursor") or httpx.Response(200, json={"latest_event_id": 9000, "oldest_event_id": 8000})
        )
    )
    window = respx.get(NOTES).mock(
        side_effect=lambda request: (
            order.append("notes") or httpx.Response(200, json={"offset": 0, "total_results": 1, "notes": [note("n9")]})
        )
    )
    log = RecordingLog()
    batches = await sync(fake_clock, FOLLOWING, log)
    assert order == ["events", "cursor", "notes"]
    assert calls(window)[0]["start_time"] == "2026-11-26T23:00:00Z"  # the saved cursor less an hour
    assert upserted(batches) == ["n9"]
    assert batches[-1].state.to_state() == {"time_format": "iso", "cursor": NOW_TEXT, "events_after": 9000}
    [warning] = log.texts("warning")
    assert "no longer holds the events after event 500" in warning and "fresh cursor" in warning


@respx.mock
async def test_a_plan_without_the_feed_scans_windows_and_asks_the_feed_again_a_week_later(fake_clock):
    cursor = respx.get(CURSOR).mock(return_value=forbidden())
    respx.get(NOTES).mock(return_value=httpx.Response(200, json={"offset": 0, "total_results": 0, "notes": []}))
    log = RecordingLog()
    batches = await sync(fake_clock, NotesState(), log)
    state = batches[-1].state
    assert state.to_state() == {"time_format": "iso", "cursor": NOW_TEXT, "feed_refused": NOW_TEXT}
    [warning] = log.texts("warning")
    assert "events feed is not available" in warning and "asked again in a week" in warning

    # The next syncs scan windows without asking the feed...
    async with new_client(fake_clock) as client:
        later = StreamContext(client, RecordingLog(), client.settings, NOW + timedelta(days=1), window=2)
        batches = [batch async for batch in produce(later, state)]
    assert cursor.call_count == 1
    assert batches[-1].state.feed_refused == NOW_TEXT and batches[-1].state.events_after is None
    # ...until a week has passed: then one call, which may now find the feed.
    cursor.mock(return_value=httpx.Response(200, json={"latest_event_id": 12, "oldest_event_id": 1}))
    async with new_client(fake_clock) as client:
        week = StreamContext(client, RecordingLog(), client.settings, NOW + FEED_RETRY, window=2)
        batches = [batch async for batch in produce(week, batches[-1].state)]
    assert cursor.call_count == 2
    assert batches[-1].state.events_after == 12 and batches[-1].state.feed_refused is None


@respx.mock
async def test_a_feed_refused_while_followed_falls_back_to_a_window(fake_clock):
    respx.get(EVENTS).mock(return_value=forbidden())
    cursor = respx.get(CURSOR)
    respx.get(NOTES).mock(return_value=httpx.Response(200, json={"offset": 0, "total_results": 0, "notes": []}))
    log = RecordingLog()
    batches = await sync(fake_clock, FOLLOWING, log)
    assert not cursor.called  # refused just now: not asked again in this sync
    assert batches[-1].state.to_state() == {"time_format": "iso", "cursor": NOW_TEXT, "feed_refused": NOW_TEXT}
    assert any("events feed is not available" in text for text in log.texts("warning"))


def test_a_state_of_the_previous_release_reads_and_its_next_scan_starts_the_feed():
    previous = {"time_format": "date", "cursor": "2026-11-27T10:00:00Z"}
    log = RecordingLog()
    state = read_state(previous, log)
    assert state == NotesState("date", "2026-11-27T10:00:00Z")
    assert state.to_state() == previous and log.lines == []
    scanning = {
        **previous,
        "scan": {"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-28T10:00:00Z",
                 "position": {"index": 99, "tail": ["n-97", "n-98"]}},
    }  # fmt: skip
    state = read_state(scanning, log)
    assert state.position == Position(99, ("n-97", "n-98")) and state.scan_events_from is None
    assert isinstance(state.window, Window) and state.to_state() == scanning and log.lines == []


@respx.mock
async def test_a_previous_release_state_takes_the_feeds_cursor_then_scans_from_its_cursor(fake_clock):
    respx.get(CURSOR).mock(return_value=httpx.Response(200, json={"latest_event_id": 31, "oldest_event_id": 1}))
    window = respx.get(NOTES).mock(
        return_value=httpx.Response(200, json={"offset": 0, "total_results": 0, "notes": []})
    )
    batches = await sync(
        fake_clock, read_state({"time_format": "iso", "cursor": "2026-11-27T10:00:00Z"}, RecordingLog())
    )
    assert calls(window)[0]["start_time"] == "2026-11-27T09:00:00Z"
    assert batches[-1].state.events_after == 31


def test_unreadable_feed_parts_are_reported_and_read_as_absent():
    log = RecordingLog()
    state = read_state({"time_format": "iso", "events_after": "many", "feed_refused": 3}, log)
    assert state == NotesState()
    assert len(log.texts("warning")) == 2
