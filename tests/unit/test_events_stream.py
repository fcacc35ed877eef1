"""The opt-in events stream against respx: the first sync starts at the oldest event kept, later ones after the
last id written, 100 at a time; 204 is nothing new, 404 a gap (warned, resumed at the oldest), 403 a clear failure
naming enable_events. Rows keep every field: the columns, `data` as JSON and unknown fields in `extra`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from egnyte_async.catalog import CATALOG, stream_named
from egnyte_async.errors import PermissionDeniedError
from egnyte_async.items import Batch
from egnyte_async.mapping import map_event
from egnyte_async.settings import parse_settings
from egnyte_async.streams.context import StreamContext
from egnyte_async.streams.events import EventsState, produce, read_state
from tests.clients import BASE, NOW, new_client
from tests.logs import RecordingLog

EVENTS = f"{BASE}/pubapi/v1/events"
CURSOR = f"{BASE}/pubapi/v1/events/cursor"


def event(event_id: int, kind: str = "file_system", action: str = "create", **more: Any) -> dict[str, Any]:
    return {
        "id": event_id, "timestamp": "2026-11-27T10:00:00.975+0000", "action_source": "WebUI", "actor": 17,
        "type": kind, "action": action, "object_detail": f"/Shared/f{event_id}.txt",
        "data": {"target_path": None, "is_folder": False}, **more,
    }  # fmt: skip


def page(events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(200, json={"latest_id": 999, "oldest_id": 1, "count": len(events), "events": events})


async def sync(fake_clock, state: EventsState, log: RecordingLog | None = None) -> list[Batch]:
    async with new_client(fake_clock) as client:
        ctx = StreamContext(client, log or RecordingLog(), client.settings, NOW, window=2)
        return [batch async for batch in produce(ctx, state)]


def ids(batches: list[Batch]) -> list[int]:
    return [row["id"] for batch in batches for _, row in batch.rows]


def test_the_events_table_is_opt_in():
    stream = stream_named("events")
    assert stream.flag == "enable_events" and not stream.enabled_by_default
    settings = parse_settings({"domain": "acme", "api_token": "t"}, CATALOG)
    assert "events" not in settings.streams
    assert "events" in parse_settings({"domain": "acme", "api_token": "t", "enable_events": "true"}, CATALOG).streams


def test_an_event_becomes_a_row_with_its_data_as_json_and_unknown_fields_in_extra():
    row = map_event(event(5, "note", "delete", data={"note_id": "n1"}, folder_id="f9"))
    assert row == {
        "id": 5, "timestamp": "2026-11-27T10:00:00.975Z", "type": "note", "action": "delete",
        "action_source": "WebUI", "actor": 17, "object_detail": "/Shared/f5.txt", "data": {"note_id": "n1"},
        "extra": {"folder_id": "f9"},
    }  # fmt: skip
    warnings: list[str] = []
    odd = map_event({**event(6), "actor": "jane", "timestamp": "someday"}, warn=warnings.append)
    assert odd["actor"] is None and odd["timestamp"] is None
    assert odd["extra"] == {"unparsed_actor": "jane", "unparsed_timestamp": "someday"}
    assert len(warnings) == 2


@respx.mock
async def test_the_first_sync_starts_at_the_oldest_event_kept_and_pages_by_the_last_id(fake_clock):
    respx.get(CURSOR).mock(return_value=httpx.Response(200, json={"latest_event_id": 400, "oldest_event_id": 201}))
    feed = respx.get(EVENTS).mock(
        side_effect=[page([event(i) for i in range(201, 301)]), page([event(i, "note") for i in range(301, 351)])]
    )
    batches = await sync(fake_clock, EventsState())
    assert [dict(call.request.url.params) for call in feed.calls] == [
        {"id": "200", "count": "100"}, {"id": "300", "count": "100"},
    ]  # fmt: skip
    assert ids(batches) == list(range(201, 351))
    assert [batch.state.to_state() for batch in batches] == [{"scan": {"after_id": 300}}, {"scan": {"after_id": 350}}]


@respx.mock
async def test_a_quiet_sync_is_one_204(fake_clock):
    feed = respx.get(EVENTS).mock(return_value=httpx.Response(204))
    batches = await sync(fake_clock, EventsState(350))
    assert feed.call_count == 1 and len(respx.calls) == 1 and batches == []


@respx.mock
async def test_an_aged_out_id_is_a_warned_gap_and_the_read_resumes_at_the_oldest_event_kept(fake_clock):
    respx.get(CURSOR).mock(return_value=httpx.Response(200, json={"latest_event_id": 9100, "oldest_event_id": 9001}))
    feed = respx.get(EVENTS).mock(
        side_effect=[httpx.Response(404, json={"errors": [{"description": "gone"}]}), page([event(9001)])]
    )
    log = RecordingLog()
    batches = await sync(fake_clock, EventsState(350), log)
    assert [call.request.url.params["id"] for call in feed.calls] == ["350", "9000"]
    assert ids(batches) == [9001]
    [warning] = log.texts("warning")
    assert "events 351 to 9000 are lost" in warning and "resuming at event 9001" in warning


@respx.mock
async def test_a_plan_without_the_feed_fails_naming_enable_events(fake_clock):
    respx.get(CURSOR).mock(return_value=httpx.Response(403, json={"errors": [{"description": "Not available."}]}))
    with pytest.raises(PermissionDeniedError, match="enable_events to false"):
        await sync(fake_clock, EventsState())


def test_the_events_state_reads_what_it_wrote_and_reports_garbage():
    log = RecordingLog()
    assert read_state({"scan": {"after_id": 12}}, log) == EventsState(12)
    assert read_state({"scan": {"after_id": -1}}, log) == EventsState()
    assert len(log.texts("warning")) == 1
