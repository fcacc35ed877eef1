"""The saved state: its parts kept apart, garbage restarting a part, the round of streams."""

from __future__ import annotations

from egnyte_async.state import SyncState

ALL = ("users", "groups", "notes", "bookmarks")


def test_state_load_ignores_garbage_and_keeps_known_streams():
    state = SyncState.load({"streams": {"users": {"scan": {"index": 5}}, "bogus": {}, "notes": "x"}, "quota": 3}, ALL)
    assert state.streams == {"users": {"scan": {"index": 5}}}
    assert state.quota is None
    assert SyncState.load(None, ALL).streams == {}
    assert SyncState.load("nonsense", ALL).streams == {}


def test_a_stream_not_enabled_keeps_no_part():
    assert SyncState.load({"streams": {"users": {"scan": {"index": 5}}}}, ("notes",)).streams == {}


def test_state_parts_are_copies():
    state = SyncState.load({"streams": {"users": {"scan": {"index": 5}}}}, ALL)
    part = state.part("users")
    part["scan"]["index"] = 99
    assert state.part("users") == {"scan": {"index": 5}}


def test_streams_done_in_the_round_wait_until_every_stream_is_done():
    state = SyncState.load({"round_done": ["users", "notes", "unknown"]}, ALL)
    enabled = ("users", "groups", "notes", "bookmarks")
    assert state.streams_to_sync(enabled) == ("groups", "bookmarks")
    state.finish("groups")
    state.finish("bookmarks")
    assert state.streams_to_sync(enabled) == enabled  # all done: a new round, and the record starts afresh
    assert state.to_dict({})["round_done"] == []
    assert SyncState.load({"round_done": "users"}, ALL).streams_to_sync(enabled) == enabled
