"""Each stream's own pieces: its envelope, its typed state (round trips, states of the previous release, garbage),
and the notes window."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from egnyte_async.catalog import CATALOG, all_tables, stream_named
from egnyte_async.errors import InvalidBodyError
from egnyte_async.keysets import encode_int_set, encode_str_set
from egnyte_async.pagination import PageCap, Position
from egnyte_async.streams.bookmarks import BookmarksState, Recent, parse_bookmarks_page
from egnyte_async.streams.groups import GroupsState
from egnyte_async.streams.notes import CURSOR_OVERLAP, NotesState, Window, new_window, parse_notes_page, time_params
from egnyte_async.streams.passes import DoneSoFar
from egnyte_async.streams.scan_state import ScanState
from egnyte_async.streams.scim import parse_scim_page
from tests.logs import RecordingLog
from tests.states import LAST_RELEASE, PREVIOUS_RELEASE

NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)

# ---- the catalog ---------------------------------------------------------------------------------------------------


def test_every_stream_and_table_is_named_once():
    names = [stream.name for stream in CATALOG]
    tables = [table.name for table in all_tables()]
    assert names == ["users", "groups", "notes", "bookmarks", "events"]
    assert tables == ["users", "groups", "group_members", "notes", "bookmarks", "events"]
    assert [stream.flag for stream in CATALOG] == [f"enable_{name}" for name in names]
    assert stream_named("groups").tables[1].name == "group_members"
    with pytest.raises(KeyError, match="known: users, groups, notes, bookmarks, events"):
        stream_named("permissions")


# ---- envelopes -----------------------------------------------------------------------------------------------------


def test_the_envelope_check_needs_the_envelope_to_say_where_it_starts():
    assert parse_scim_page({"resources": []}).index is None
    assert parse_scim_page({"startIndex": 3, "resources": []}).index == 3
    with pytest.raises(InvalidBodyError):
        parse_scim_page({"resources": {"not": "a list"}})
    assert parse_scim_page({"resources": ["odd", {"id": 1}]}).items == ["odd", {"id": 1}]


def test_v1_envelopes_give_their_totals_and_starts():
    notes = parse_notes_page({"notes": [{"id": "n"}], "total_results": "7", "offset": 5})
    assert (notes.items, notes.total, notes.index) == ([{"id": "n"}], 7, 5)
    assert parse_bookmarks_page({"bookmarks": [], "totalResults": 4}).total == 4
    assert parse_bookmarks_page({"bookmarks": [], "total_results": True}).total is None  # a boolean is no count
    with pytest.raises(InvalidBodyError, match="no 'bookmarks' list"):
        parse_bookmarks_page({"notes": []})


# ---- typed states ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["users", "notes"])
def test_a_state_of_the_previous_release_is_read_and_written_back_unchanged(name):
    log = RecordingLog()
    stream = stream_named(name)
    state = stream.read_state(PREVIOUS_RELEASE[name], log)
    assert state.to_state() == PREVIOUS_RELEASE[name]
    assert "resumes at" in state.describe()
    assert log.lines == []


def test_the_typed_states_read_what_they_mean():
    log = RecordingLog()
    users = stream_named("users").read_state(PREVIOUS_RELEASE["users"], log)
    assert users == ScanState(Position(201, (199, 200)))
    notes = stream_named("notes").read_state(PREVIOUS_RELEASE["notes"], log)
    assert notes.time_format == "date" and notes.position == Position(99, ("n-97", "n-98"))
    window = Window(datetime(2026, 11, 27, 9, tzinfo=timezone.utc), datetime(2026, 11, 28, 10, tzinfo=timezone.utc))
    assert notes.window == window
    assert log.lines == []


def test_groups_states_of_earlier_releases_start_a_new_listing_and_keep_the_refresh_turns():
    """Their scans read members as they went: the listing starts again (a call per 100 groups), the last pass's
    tick is kept, so no group is read before its turn."""
    log = RecordingLog()
    read = stream_named("groups").read_state
    assert read(PREVIOUS_RELEASE["groups"], log) == GroupsState()
    assert read(LAST_RELEASE["groups"], log) == GroupsState(previous_tick=122)
    assert read({"previous_tick": 122}, log) == GroupsState(previous_tick=122)
    assert log.lines == []


def test_bookmarks_states_of_earlier_releases_become_passes():
    log = RecordingLog()
    read = stream_named("bookmarks").read_state
    oldest = read(PREVIOUS_RELEASE["bookmarks"], log)  # a scan under way without its start: everyone is listed
    assert (oldest.offset_base, oldest.page_cap["cap"], oldest.pass_started, oldest.previous_pass_started) == (
        1,
        40,
        None,
        None,
    )
    last = read(LAST_RELEASE["bookmarks"], log)  # its scan under way is the pass under way, nobody listed in it yet
    assert (last.pass_started, last.previous_pass_started, len(last.done)) == (
        "2026-11-28T08:00:00.000Z",
        "2026-11-27T08:00:00.000Z",
        0,
    )
    assert "goes on with the pass begun 2026-11-28T08:00:00.000Z" in last.describe()
    assert log.lines == []


def test_a_pass_under_way_is_written_and_read_back_with_what_it_read():
    done = DoneSoFar[str]().with_done("g-2").with_done("g-1")
    groups = GroupsState(None, frozenset({"g-9"}), 7, done, 6)
    again = stream_named("groups").read_state(groups.to_state(), RecordingLog())
    assert (again.undetailed, again.pass_tick, again.done.as_set(), again.previous_tick) == (
        frozenset({"g-9"}),
        7,
        {"g-1", "g-2"},
        6,
    )
    people = DoneSoFar[int]().with_done(12).with_done(3)
    bookmarks = BookmarksState(1, PageCap().to_state(), "2026-11-28T08:00:00.000Z", people, "2026-11-27T08:00:00.000Z")
    back = stream_named("bookmarks").read_state(bookmarks.to_state(), RecordingLog())
    assert (back.pass_started, back.done.as_set(), back.previous_pass_started, back.offset_base) == (
        "2026-11-28T08:00:00.000Z",
        {3, 12},
        "2026-11-27T08:00:00.000Z",
        1,
    )


def test_a_done_view_is_frozen_at_its_length_while_the_pass_goes_on():
    first = DoneSoFar[int]().with_done(1)
    second = first.with_done(2)
    assert (first.as_set(), second.as_set()) == ({1}, {1, 2})
    with pytest.raises(AssertionError):
        first.with_done(3)  # only the latest view may grow


@pytest.mark.parametrize(
    ("stream", "part", "garbage"),
    [
        ("groups", "undetailed", "s1:nonsense"),
        ("groups", "done", [1, 2]),
        ("groups", "pass_tick", "7"),
        ("groups", "previous_tick", -1),
        ("bookmarks", "done", "i1:???"),
        ("bookmarks", "pass_started", "yesterday"),
        ("bookmarks", "previous_pass_started", 5),
        ("bookmarks", "recent", ["i1:"]),
        ("bookmarks", "recent", {"not a tick": "i1:eNpjAAAAAQAB"}),
        ("bookmarks", "recent", {"7": "nonsense"}),
    ],
)
def test_garbage_in_a_pass_is_reported_and_that_part_starts_again(stream, part, garbage):
    good = {
        "groups": {"undetailed": encode_str_set({"g-1"}), "pass_tick": 7, "done": encode_str_set({"g-2"})},
        "bookmarks": {"pass_started": "2026-11-28T08:00:00.000Z", "done": encode_int_set({3})},
    }[stream]
    log = RecordingLog()
    state = stream_named(stream).read_state({**good, part: garbage}, log)
    [warning] = log.texts("warning")
    assert warning.startswith(f"{stream}: the saved '{part}' is unreadable (")
    json.dumps(state.to_state())
    state.describe()


@pytest.mark.parametrize("stream", CATALOG, ids=lambda stream: stream.name)
def test_a_first_sync_state_is_empty_and_says_it_starts_anew(stream):
    state = stream.read_state({}, RecordingLog())
    assert "resumes" not in state.describe()
    assert stream.read_state(state.to_state(), RecordingLog()) == state


@pytest.mark.parametrize("stream", CATALOG, ids=lambda stream: stream.name)
@pytest.mark.parametrize("garbage", [[1, 2], "x", 3])
def test_an_unreadable_scan_restarts_that_part_with_a_warning(stream, garbage):
    log = RecordingLog()
    state = stream.read_state({"scan": garbage}, log)
    assert "resumes" not in state.describe()
    assert any("unreadable" in line for line in log.texts("warning"))


SCANNING = ("users", "groups", "bookmarks")


@pytest.mark.parametrize("name", SCANNING)
@pytest.mark.parametrize(
    ("position", "why"),
    [
        ({"index": "many"}, "its index is not a whole number of at least 0"),
        ({"index": "5"}, "its index is not a whole number of at least 0"),
        ({"index": 5.7}, "its index is not a whole number of at least 0"),
        ({"index": True}, "its index is not a whole number of at least 0"),
        ({"index": -3}, "its index is not a whole number of at least 0"),
        ({"tail": [1, 2]}, "its index is not a whole number of at least 0"),
        ({"index": 5, "tail": "abc"}, "its tail is not a list of record ids"),
        ({"index": 5, "tail": {"id": 1}}, "its tail is not a list of record ids"),
        ({"index": 5, "tail": [1, {"id": 1}]}, "its tail is not a list of record ids"),
        ({"index": 5, "tail": [[1]]}, "its tail is not a list of record ids"),
    ],
)
def test_an_unreadable_position_restarts_the_scan_with_a_warning_naming_the_stream_and_the_part(name, position, why):
    log = RecordingLog()
    state: Any = stream_named(name).read_state({"scan": position}, log)
    assert state.scan is None and "resumes" not in state.describe()
    [warning] = log.texts("warning")
    assert warning.startswith(f"{name}: the saved 'scan' position is unreadable ({why}: dict ")
    assert warning.endswith("; the scan starts afresh")


@pytest.mark.parametrize("name", SCANNING)
def test_a_position_of_ids_of_every_kind_reads(name):
    log = RecordingLog()
    state: Any = stream_named(name).read_state({"scan": {"index": 7, "tail": ["a", 3, 2.5, False, None]}}, log)
    assert state.scan == Position(7, ("a", 3, 2.5, False, None))
    assert log.lines == []


NOTES_SCAN = PREVIOUS_RELEASE["notes"]["scan"]


@pytest.mark.parametrize(
    ("part", "garbage", "warning"),
    [
        ("time_format", "ISO", "notes: the saved 'time_format' is unreadable (str 'ISO'); ISO-8601 time bounds"),
        ("time_format", None, "notes: the saved 'time_format' is unreadable (NoneType None)"),
        ("time_format", ["date"], "notes: the saved 'time_format' is unreadable (list ['date'])"),
        ("cursor", 1764237600, "notes: the saved 'cursor' is unreadable (not an instant: int 1764237600); reading"),
        ("cursor", "yesterday", "notes: the saved 'cursor' is unreadable (not an instant: str 'yesterday')"),
        ("cursor", "", "notes: the saved 'cursor' is unreadable (not an instant: str '')"),
        ("cursor", "0001-01-01T00:00:00Z", "notes: the saved 'cursor' is unreadable (not an instant: str '0001-"),
        ("scan", [1, 2], "notes: the saved 'scan' is unreadable (list [1, 2]); that part starts afresh"),
        (
            "scan",
            {**NOTES_SCAN, "window_start": "2026-11-29T09:00:00Z"},
            "notes: the saved 'scan' window is unreadable (window_start and window_end must be two instants, the "
            "start first: dict",
        ),
        ("scan", {**NOTES_SCAN, "window_end": 17}, "notes: the saved 'scan' window is unreadable (window_start"),
        ("scan", {"position": NOTES_SCAN["position"]}, "notes: the saved 'scan' window is unreadable (window_start"),
        ("scan", {**NOTES_SCAN, "position": None}, "notes: the saved 'scan' position is unreadable (not an object"),
        ("scan", {**NOTES_SCAN, "position": {"index": -1}}, "notes: the saved 'scan' position is unreadable (its"),
    ],
)
def test_every_unreadable_part_of_the_notes_state_is_reported_and_read_as_on_a_first_sync(part, garbage, warning):
    log = RecordingLog()
    saved = {**PREVIOUS_RELEASE["notes"], part: garbage}
    state = stream_named("notes").read_state(saved, log)
    expected = {
        "time_format": NotesState("iso", "2026-11-27T10:00:00Z", state.window, state.position),
        "cursor": NotesState("date", None, state.window, state.position),
        "scan": NotesState("date", "2026-11-27T10:00:00Z"),
    }[part]
    assert state == expected
    if part != "scan":
        assert state.position == Position(99, ("n-97", "n-98"))  # the other parts are kept
    [line] = log.texts("warning")
    assert line.startswith(warning)


def test_what_bookmarks_learnt_is_kept_across_passes():
    state = BookmarksState(1, {"cap": 40, "longest_end": 0, "echoes_index": True})
    assert state.to_state() == {"offset_base": 1, "page_cap": {"cap": 40, "longest_end": 0, "echoes_index": True}}


def test_a_completed_notes_scan_keeps_only_its_cursor():
    done = NotesState("iso", "2026-11-28T12:00:00Z")
    assert done.to_state() == {"time_format": "iso", "cursor": "2026-11-28T12:00:00Z"}
    assert "since 2026-11-28T12:00:00Z" in done.describe()


# ---- the notes window ----------------------------------------------------------------------------------------------


def test_first_notes_window_reaches_back_initial_sync_days():
    assert new_window(NotesState(), NOW, 30, RecordingLog()) == Window(NOW - timedelta(days=30), NOW)


def test_later_notes_windows_start_an_hour_before_the_cursor():
    window = new_window(NotesState(cursor="2026-11-28T08:00:00Z"), NOW, 30, RecordingLog())
    assert window.start == datetime(2026, 11, 28, 8, tzinfo=timezone.utc) - CURSOR_OVERLAP
    assert window.end == NOW


def test_a_cursor_in_the_future_is_reported_and_the_window_starts_an_hour_before_now():
    log = RecordingLog()
    window = new_window(NotesState(cursor="2026-11-30T08:00:00Z"), NOW, 30, log)
    assert window == Window(NOW - CURSOR_OVERLAP, NOW)
    assert log.texts("warning") == [
        "notes: the saved cursor 2026-11-30T08:00:00Z is in the future (this sync began at 2026-11-28T12:00:00Z): a "
        "clock or state problem; reading the notes created since 2026-11-28T11:00:00Z (an hour before now) instead"
    ]


def test_an_unreadable_cursor_is_reported_and_the_window_restarts():
    log = RecordingLog()
    assert new_window(NotesState(cursor="not a date"), NOW, 30, log) == Window(NOW - timedelta(days=30), NOW)
    assert any("unreadable" in text for text in log.texts("warning"))


def test_date_only_bounds_are_widened_by_a_day_each_side():
    window = Window(datetime(2026, 11, 10, 5, tzinfo=timezone.utc), NOW)
    assert time_params(window, "date") == {"start_time": "2026-11-09", "end_time": "2026-11-29"}
    assert time_params(window, "iso") == {"start_time": "2026-11-10T05:00:00Z", "end_time": "2026-11-28T12:00:00Z"}


def test_who_was_listed_lately_is_kept_by_tick_and_old_ticks_are_dropped():
    recent = Recent.from_state({"5": encode_int_set({1, 2}), "9": encode_int_set({3})}, RecordingLog())
    kept, listed = recent.since(first_tick=6, tick=9)  # tick 5 is too old; tick 9 is the current one
    assert listed == {3}
    grown = kept.with_listed(4)
    assert grown.to_state() == {"9": encode_int_set({3, 4})}
    again, listed = Recent.from_state(grown.to_state(), RecordingLog()).since(first_tick=8, tick=10)
    assert listed == {3, 4} and again.to_state() == {"9": encode_int_set({3, 4})}
