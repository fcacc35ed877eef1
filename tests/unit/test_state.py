"""The saved state: its parts kept apart, garbage restarting a part with a warning, the round of streams, the
version."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from egnyte_async.errors import FatalError
from egnyte_async.pipeline import Sync
from egnyte_async.settings import Settings
from egnyte_async.state import STATE_VERSION, SyncState
from tests.logs import RecordingLog

ALL = ("users", "groups", "notes", "bookmarks")
NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)


def load(state, names=ALL) -> tuple[SyncState, list[str]]:
    log = RecordingLog()
    return SyncState.load(state, names, log), log.texts("warning")


def test_state_load_keeps_known_streams_and_reports_unreadable_ones():
    state, warnings = load({"streams": {"users": {"scan": {"index": 5}}, "bogus": {}, "notes": "x"}})
    assert state.streams == {"users": {"scan": {"index": 5}}}
    assert warnings == ["notes: the saved state of this stream is unreadable (str 'x'); the stream starts afresh"]


def test_a_missing_state_is_a_first_sync_without_a_word():
    for empty in (None, {}, {"streams": {}, "round_done": []}):
        state, warnings = load(empty)
        assert (state.streams, state.round_done, warnings) == ({}, set(), [])


@pytest.mark.parametrize(
    ("saved", "warning"),
    [
        ("nonsense", "state: the saved state is unreadable (str 'nonsense'); every stream starts afresh"),
        ([1, 2], "state: the saved state is unreadable (list [1, 2]); every stream starts afresh"),
        ({"streams": [1]}, "state: the saved 'streams' is unreadable (list [1]); every stream starts afresh"),
        (
            {"round_done": "users"},
            "state: the saved 'round_done' is unreadable (str 'users'); a new round of every enabled stream starts",
        ),
        (
            {"round_done": ["users", 3]},
            "state: the saved 'round_done' is unreadable (list ['users', 3]); a new round of every enabled stream "
            "starts",
        ),
    ],
)
def test_an_unreadable_part_of_the_state_is_reported_and_starts_afresh(saved, warning):
    state, warnings = load(saved)
    assert (state.streams, state.round_done) == ({}, set())
    assert warnings == [warning]


def test_a_stream_not_enabled_keeps_no_part():
    assert load({"streams": {"users": {"scan": {"index": 5}}}}, ("notes",))[0].streams == {}


def test_state_parts_are_copies():
    state, _ = load({"streams": {"users": {"scan": {"index": 5}}}})
    part = state.part("users")
    part["scan"]["index"] = 99
    assert state.part("users") == {"scan": {"index": 5}}


def test_streams_done_in_the_round_wait_until_every_stream_is_done():
    state, warnings = load({"round_done": ["users", "notes", "unknown"]})
    assert warnings == []
    enabled = ("users", "groups", "notes", "bookmarks")
    assert state.streams_to_sync(enabled) == ("groups", "bookmarks")
    state.finish("groups")
    state.finish("bookmarks")
    assert state.streams_to_sync(enabled) == enabled  # all done: a new round, and the record starts afresh
    assert state.to_dict({})["round_done"] == []


# ---- the version ---------------------------------------------------------------------------------------------------


class NoOperations:
    def upsert(self, table, data):
        raise AssertionError("nothing may be written")

    def checkpoint(self, state):
        raise AssertionError("nothing may be checkpointed")


def new_sync(state, log=None) -> Sync:
    settings = Settings(domain="acme", base_url="https://acme.egnyte.com", api_token="t", streams=ALL)
    return Sync(settings, state, NoOperations(), log or RecordingLog(), now=NOW)


def test_a_state_of_a_newer_release_is_refused_before_any_request():
    newer = {"version": STATE_VERSION + 1, "streams": {"users": {"scan": {"index": 5}}}}
    with pytest.raises(FatalError) as caught:
        new_sync(newer)  # the constructor: no event loop, no client, no request yet
    assert type(caught.value).__name__ == "StateVersionError"
    message = str(caught.value)
    assert f"the saved state has version {STATE_VERSION + 1}, written by a newer release of this connector" in message
    assert "Upgrade the connector, or reset the connection's state" in message


@pytest.mark.parametrize("version", [None, 0, STATE_VERSION])
def test_a_state_without_a_version_or_an_older_one_is_read_as_it_is(version):
    saved = {"streams": {"users": {"scan": {"index": 5, "tail": [3, 4]}}}, "round_done": ["groups"]}
    if version is not None:
        saved["version"] = version
    log = RecordingLog()
    sync = new_sync(saved, log)
    assert sync.positions["users"].describe() == "resumes at record 5"
    assert [stream.name for stream in sync.streams] == ["users", "notes", "bookmarks"]
    assert log.texts("warning") == []


@pytest.mark.parametrize("version", ["2", 1.0, True, [2], {"major": 2}])
def test_an_unreadable_version_is_reported_and_the_state_read_as_this_releases(version):
    state, warnings = load({"version": version, "streams": {"users": {"scan": {"index": 5}}}})
    assert state.streams == {"users": {"scan": {"index": 5}}}
    assert len(warnings) == 1
    assert warnings[0].startswith("state: the saved 'version' is unreadable (")
    assert warnings[0].endswith(f"); reading the state as version {STATE_VERSION}")
