"""Notes through the events feed, end to end against the in-process sandbox: a full sync, notes added and deleted in
the tenant, a second sync that follows the feed (new notes upserted, deleted ones marked deleted) and a quiet third
sync of exactly one notes call; the fallbacks (an id aged out of the feed, a plan without it) and the opt-in events
table."""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta, timezone

import pytest
from faultkit import KillableOperations, VirtualTime, run, sandbox_app
from harness import SANDBOX_NOW, Killed, RecordingOperations, assert_matches, expected_rows

from egnyte_sandbox import FaultPlan
from tests.logs import RecordingLog

TENANT = {"users": 20, "groups": 1, "members_per_group": 2, "notes": 300, "bookmarks_per_user": 0}
NOTES_PATHS = ("/pubapi/v1/notes", "/pubapi/v1/events")


def notes_calls(app, since: int) -> list:
    """The calls of the notes stream (listings, single notes, the feed and its cursor) since request `since`."""
    return [r for r in app.state.sandbox.requests[since:] if r.path.startswith(NOTES_PATHS)]


def in_window(app) -> dict[str, dict[tuple, dict]]:
    return expected_rows(app.state.sandbox.tenant, SANDBOX_NOW, streams=("notes",))


def add_recent_notes(tenant, count: int, rng: random.Random) -> list[str]:
    """Notes created among the newest ones (within any window), each with its create event."""
    added = []
    for _ in range(count):
        size = tenant.note_count
        note = tenant.add_note(rng.randrange(size - 40, size + 1))
        if note is not None:
            added.append(note["id"])
    return added


def newest_note_moment(tenant) -> datetime:
    """Just after the newest note's creation: a first sync then, and notes added at the end are created after it
    (the sandbox's notes are created between their neighbours, never after its fixed "now")."""
    newest = max(note["creation_time"] for note in tenant.canonical_notes())
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=newest + 1)


def add_newest_notes(tenant, count: int) -> None:
    for _ in range(count):
        tenant.add_note(tenant.note_count)


def since(app, first_now: datetime) -> dict[str, dict[tuple, dict]]:
    """The notes a first sync at `first_now` and later syncs at SANDBOX_NOW must hold."""
    days = (SANDBOX_NOW - first_now) / timedelta(days=1)
    return expected_rows(app.state.sandbox.tenant, SANDBOX_NOW, initial_sync_days=365 + days, streams=("notes",))


def remove_notes(tenant, ids: list[str]) -> None:
    for note_id in ids:
        tenant.remove_note([note["id"] for note in tenant.iter_notes()].index(note_id))


@pytest.mark.parametrize("id_field", ["note_id", "id", "note.id"])
def test_added_and_deleted_notes_arrive_through_the_feed_and_a_quiet_sync_costs_one_call(id_field):
    time = VirtualTime()
    app = sandbox_app(time, TENANT, note_event_id_field=id_field, file_system_events_per_note=1)
    tenant = app.state.sandbox.tenant
    rng = random.Random(5)
    operations = RecordingOperations()
    first = run(app, None, operations, time, streams=("notes",))
    assert first.finished == ["notes"]
    assert_matches(operations.table, in_window(app), tables=["notes"])
    assert operations.last_state["streams"]["notes"]["events_after"] == 0  # the cursor taken before the scan

    synced = sorted(key[0] for key in operations.table("notes"))
    doomed = rng.sample(synced, 6)
    added = add_recent_notes(tenant, 9, rng)
    remove_notes(tenant, doomed)
    brief = added[:2]  # created and deleted between the two syncs: never fetched, marked deleted
    remove_notes(tenant, brief)

    before = len(app.state.sandbox.requests)
    log = RecordingLog()
    second = run(app, operations.last_state, operations, time, streams=("notes",), log=log)
    calls = notes_calls(app, before)
    assert_matches(operations.table, in_window(app), tables=["notes"])
    assert {(note_id,) for note_id in doomed} <= operations.deleted("notes")
    assert operations.deleted("notes") == {(note_id,) for note_id in doomed + brief}
    assert second.deleted_by_table == {"notes": 8}
    assert [r.path for r in calls if not r.path.startswith("/pubapi/v1/notes/")] == ["/pubapi/v1/events"]
    assert len(calls) == 1 + 7  # one page of 17 note events, the 7 notes still there fetched one by one
    assert not log.texts("warning")
    state = operations.last_state["streams"]["notes"]
    assert state["events_after"] == tenant.events.latest_id - 1  # the last note event; a file_system one follows

    before = len(app.state.sandbox.requests)
    third = run(app, operations.last_state, operations, time, streams=("notes",))
    assert [r.path for r in notes_calls(app, before)] == ["/pubapi/v1/events"]  # exactly one: the 204
    assert third.rows_by_table == {"notes": 0} and third.deleted_by_table == {}  # every enabled table reported
    assert_matches(operations.table, in_window(app), tables=["notes"])


def test_notes_created_during_the_first_scan_are_replayed_from_the_feed():
    """The cursor is taken before the scan's first page: a note created while the scan runs, wherever it lands,
    has an event after it, so the next sync fetches it (a note the scan also met is upserted again, harmlessly)."""
    time = VirtualTime()
    app = sandbox_app(time, TENANT, churn_per_list_request=1)
    operations = RecordingOperations()
    run(app, None, operations, time, streams=("notes",), max_records_per_page=25)
    app.state.sandbox.config.churn_per_list_request = 0
    run(app, operations.last_state, operations, time, streams=("notes",))
    tenant = app.state.sandbox.tenant
    expected = in_window(app)
    # Churn adds notes anywhere in three years: those outside the window arrive through their events too.
    everything = expected_rows(tenant, SANDBOX_NOW, initial_sync_days=4 * 365, streams=("notes",))
    assert_matches(operations.table, expected, tables=["notes"], allowed_extra=everything)
    assert not set(operations.deleted("notes")) & set(everything["notes"])


def test_an_id_aged_out_of_the_feed_falls_back_to_one_window_scan_then_follows_the_feed_again():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, events_retention=5)
    tenant = app.state.sandbox.tenant
    first_now = newest_note_moment(tenant)
    operations = RecordingOperations()
    run(app, None, operations, time, streams=("notes",), now=first_now)
    add_newest_notes(tenant, 12)  # 12 events, only the last 5 kept: event 1 is gone
    log = RecordingLog()
    before = len(app.state.sandbox.requests)
    run(app, operations.last_state, operations, time, streams=("notes",), log=log)
    paths = [r.path for r in notes_calls(app, before)]
    assert paths[:2] == ["/pubapi/v1/events", "/pubapi/v1/events/cursor"] and set(paths[2:]) == {"/pubapi/v1/notes"}
    assert any("no longer holds the events after event 0" in text for text in log.texts("warning"))
    assert_matches(operations.table, since(app, first_now), tables=["notes"])
    assert operations.last_state["streams"]["notes"]["events_after"] == tenant.events.latest_id

    before = len(app.state.sandbox.requests)
    run(app, operations.last_state, operations, time, streams=("notes",))
    assert [r.path for r in notes_calls(app, before)] == ["/pubapi/v1/events"]


def test_without_the_feed_every_sync_scans_a_window_and_says_why_once():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, events_available=False)
    tenant = app.state.sandbox.tenant
    first_now = newest_note_moment(tenant)
    operations = RecordingOperations()
    log = RecordingLog()
    run(app, None, operations, time, streams=("notes",), log=log, now=first_now)
    assert [text for text in log.texts("warning") if "events feed is not available" in text]
    add_newest_notes(tenant, 3)
    before = len(app.state.sandbox.requests)
    log = RecordingLog()
    run(app, operations.last_state, operations, time, streams=("notes",), log=log)
    assert {r.path for r in notes_calls(app, before)} == {"/pubapi/v1/notes"}  # the feed is not asked for a week
    assert not log.texts("warning")
    assert_matches(operations.table, since(app, first_now), tables=["notes"])


def test_the_events_table_holds_every_event_of_the_feed_and_follows_it():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, file_system_events_per_note=2)
    tenant = app.state.sandbox.tenant
    rng = random.Random(9)
    add_recent_notes(tenant, 40, rng)
    tenant.add_file_event("move", "/Shared/a.txt", "/Shared/b.txt")
    operations = RecordingOperations()
    run(app, None, operations, time, streams=("events",))
    logged = {(event["id"],): event for event in tenant.events.all()}
    assert set(operations.table("events")) == set(logged) and len(logged) == 121
    row = operations.table("events")[(121,)]
    assert (row["type"], row["action"], row["object_detail"]) == ("file_system", "move", "/Shared/a.txt")
    assert row["data"] == {"target_path": "/Shared/b.txt", "is_folder": False}
    assert row["timestamp"] == "2026-11-01T00:00:00.000Z" and row["extra"] is None

    remove_notes(tenant, [note["id"] for note in list(tenant.iter_notes())[:2]])
    before = len(app.state.sandbox.requests)
    run(app, operations.last_state, operations, time, streams=("events",))
    assert len(operations.table("events")) == 121 + 6
    assert [r.path for r in app.state.sandbox.requests[before:] if r.path.startswith("/pubapi/v1/events")] == [
        "/pubapi/v1/events"
    ]


@pytest.mark.parametrize("kill_at", [5, 40, 130])
def test_a_sync_killed_while_following_the_feed_resumes_to_exactly_the_tenant(kill_at):
    """Three pages of events (250 notes created, 30 deleted), faults on the feed and the single notes, the process
    killed anywhere: the rerun from the last checkpoint leaves exactly the tenant's notes, deletions included."""
    time = VirtualTime()
    faults = FaultPlan(path_schedule={"/pubapi/v1/events": {2: "500", 3: "truncated"}})
    app = sandbox_app(time, TENANT, faults=faults)
    tenant = app.state.sandbox.tenant
    operations = RecordingOperations()
    run(app, None, operations, time, streams=("notes",))
    rng = random.Random(kill_at)
    doomed = rng.sample(sorted(key[0] for key in operations.table("notes")), 30)
    add_recent_notes(tenant, 250, rng)
    remove_notes(tenant, doomed)

    killed = KillableOperations(operations.committed, kill_after_upserts=kill_at)
    with contextlib.suppress(Killed):
        run(app, operations.last_state, killed, time, streams=("notes",), checkpoint_rows=15)
    assert killed.dead
    survivor = killed.survivor()
    state = killed.last_state or operations.last_state
    run(app, state, survivor, time, streams=("notes",))
    assert_matches(survivor.table, in_window(app), tables=["notes"])
    assert {(note_id,) for note_id in doomed} <= survivor.deleted("notes")
    assert not survivor.deleted("notes") & set(in_window(app)["notes"])
    assert app.state.sandbox.stats.faults["500"] == 1 and app.state.sandbox.stats.faults["truncated"] == 1
