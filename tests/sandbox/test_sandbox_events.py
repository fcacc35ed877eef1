"""The events feed: note events from every note added or removed, file_system events, the cursor, paging by id,
204 when nothing is newer, 404 once an id has aged out, 403 on a plan without the feed, and GET /notes/{id}."""

from __future__ import annotations

import random

import pytest

from .helpers import open_sandbox

EVENTS = "/pubapi/v1/events"
CURSOR = "/pubapi/v1/events/cursor"


async def test_notes_added_and_removed_are_note_events_in_id_order() -> None:
    async with open_sandbox(notes=20) as sbx:
        tenant = sbx.state.tenant
        empty = (await sbx.client.get(CURSOR)).json()
        assert empty["latest_event_id"] == 0 and empty["oldest_event_id"] == 1 and "timestamp" in empty
        added = tenant.add_note(len(list(tenant.iter_notes())))
        removed = tenant.remove_note(0)
        cursor = (await sbx.client.get(CURSOR)).json()
        assert cursor["latest_event_id"] == 2 and cursor["oldest_event_id"] == 1
        response = await sbx.client.get(EVENTS, params={"id": 0})
        assert response.status_code == 200
        body = response.json()
        assert (body["latest_id"], body["oldest_id"], body["count"]) == (2, 1, 2)
        first, second = body["events"]
        assert (first["id"], first["type"], first["action"], first["data"]) == (
            1,
            "note",
            "create",
            {"note_id": added["id"]},
        )
        assert first["object_detail"] == added["file_path"]
        assert set(first) == {"id", "timestamp", "action_source", "actor", "type", "action", "object_detail", "data"}
        assert (second["id"], second["action"], second["data"]["note_id"]) == (2, "delete", removed["id"])


async def test_nothing_newer_is_a_204_without_a_body_and_pages_follow_the_last_id() -> None:
    async with open_sandbox(notes=50) as sbx:
        tenant = sbx.state.tenant
        for _ in range(7):
            tenant.add_note()
        page = (await sbx.client.get(EVENTS, params={"id": 0, "count": 3})).json()["events"]
        assert [event["id"] for event in page] == [1, 2, 3]
        page = (await sbx.client.get(EVENTS, params={"id": 3, "count": 100})).json()["events"]
        assert [event["id"] for event in page] == [4, 5, 6, 7]
        quiet = await sbx.client.get(EVENTS, params={"id": 7})
        assert quiet.status_code == 204 and quiet.content == b""
        assert (await sbx.client.get(EVENTS, params={"id": 70})).status_code == 204


async def test_churn_logs_note_events_and_file_system_events_are_filtered_by_type() -> None:
    async with open_sandbox(notes=50, file_system_events_per_note=2) as sbx:
        tenant = sbx.state.tenant
        applied = tenant.churn("notes", 6, random.Random(3))
        tenant.add_file_event("move", "/Shared/a.txt", "/Shared/b.txt")
        everything = (await sbx.client.get(EVENTS, params={"id": 0})).json()["events"]
        assert len(everything) == 3 * applied + 1
        notes = (await sbx.client.get(EVENTS, params={"id": 0, "type": "note"})).json()["events"]
        assert len(notes) == applied and all(event["type"] == "note" for event in notes)
        files = (await sbx.client.get(EVENTS, params={"id": 0, "type": "file_system"})).json()["events"]
        assert files[-1]["data"] == {"target_path": "/Shared/b.txt", "is_folder": False}
        both = (await sbx.client.get(EVENTS, params={"id": 0, "type": "note,file_system"})).json()["events"]
        assert both == everything
        assert (await sbx.client.get(EVENTS, params={"id": 0, "type": "user"})).status_code == 400


async def test_an_id_older_than_the_retained_events_is_a_404() -> None:
    async with open_sandbox(notes=50, events_retention=5) as sbx:
        tenant = sbx.state.tenant
        for _ in range(8):
            tenant.add_note()
        cursor = (await sbx.client.get(CURSOR)).json()
        assert (cursor["latest_event_id"], cursor["oldest_event_id"]) == (8, 4)
        assert (await sbx.client.get(EVENTS, params={"id": 2})).status_code == 404
        kept = (await sbx.client.get(EVENTS, params={"id": 3})).json()["events"]
        assert [event["id"] for event in kept] == [4, 5, 6, 7, 8]


async def test_a_plan_without_the_feed_answers_403() -> None:
    async with open_sandbox(events_available=False) as sbx:
        assert (await sbx.client.get(CURSOR)).status_code == 403
        assert (await sbx.client.get(EVENTS, params={"id": 0})).status_code == 403


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("note_id", lambda data: data["note_id"]),
        ("id", lambda data: data["id"]),
        ("note.id", lambda data: data["note"]["id"]),
    ],
)
async def test_where_a_note_event_names_its_note(field, where) -> None:
    async with open_sandbox(notes=10, note_event_id_field=field, events_count_key=False) as sbx:
        note = sbx.state.tenant.add_note()
        body = (await sbx.client.get(EVENTS, params={"id": 0})).json()
        assert "count" not in body
        assert where(body["events"][0]["data"]) == note["id"]


async def test_one_note_by_its_id_and_404_once_deleted() -> None:
    async with open_sandbox(notes=10) as sbx:
        tenant = sbx.state.tenant
        note = tenant.add_note(3)
        assert (await sbx.client.get(f"/pubapi/v1/notes/{note['id']}")).json() == note
        base = next(iter(tenant.iter_notes()))
        assert (await sbx.client.get(f"/pubapi/v1/notes/{base['id']}")).json() == base
        position = [n["id"] for n in tenant.iter_notes()].index(note["id"])
        tenant.remove_note(position)
        assert (await sbx.client.get(f"/pubapi/v1/notes/{note['id']}")).status_code == 404
        assert (await sbx.client.get("/pubapi/v1/notes/no-such-note")).status_code == 404
