"""The saved state: its parts kept apart, garbage restarting a part with a warning, the round of streams, the
version."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egnyte_async.errors import FatalError
from egnyte_async.pipeline import Sync
from egnyte_async.settings import Settings
from egnyte_async.state import STATE_VERSION, SyncState
from tests.logs import RecordingLog
from tests.states import PREVIOUS_RELEASE

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
    for empty in (None, {}, {"streams": {}}):
        state, warnings = load(empty)
        assert (state.streams, state.fan_outs_pending, warnings) == ({}, False, [])


@pytest.mark.parametrize(
    ("saved", "warning"),
    [
        ("nonsense", "state: the saved state is unreadable (str 'nonsense'); every stream starts afresh"),
        ([1, 2], "state: the saved state is unreadable (list [1, 2]); every stream starts afresh"),
        ({"streams": [1]}, "state: the saved 'streams' is unreadable (list [1]); every stream starts afresh"),
    ],
)
def test_an_unreadable_part_of_the_state_is_reported_and_starts_afresh(saved, warning):
    state, warnings = load(saved)
    assert state.streams == {}
    assert warnings == [warning]


def test_a_stream_not_enabled_keeps_no_part():
    assert load({"streams": {"users": {"scan": {"index": 5}}}}, ("notes",))[0].streams == {}


def test_state_parts_are_copies():
    state, _ = load({"streams": {"users": {"scan": {"index": 5}}}})
    part = state.part("users")
    part["scan"]["index"] = 99
    assert state.part("users") == {"scan": {"index": 5}}


@pytest.mark.parametrize("round_done", [["users", "notes"], "users", ["users", 3], None])
def test_the_rounds_of_the_previous_release_are_read_as_nothing_every_stream_syncs(round_done):
    """No stream waits for the others now: whatever the previous release saved of its rounds, every stream runs."""
    log = RecordingLog()
    sync = new_sync({"streams": {"users": {"scan": {"index": 5}}}, "round_done": round_done}, log)
    assert [stream.name for stream in sync.streams] == list(ALL)
    assert log.lines == []
    assert "round_done" not in sync.state.to_dict({})


def test_a_sync_that_never_got_to_its_fan_outs_is_remembered():
    state, _ = load({"fan_outs_pending": True})
    assert state.fan_outs_pending
    assert state.to_dict({}, fan_outs_pending=True)["fan_outs_pending"] is True
    assert "fan_outs_pending" not in state.to_dict({}, fan_outs_pending=False)
    for garbage in ("yes", 1, [True]):  # only true itself holds the listings back: anything else syncs as usual
        assert not load({"fan_outs_pending": garbage})[0].fan_outs_pending


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
    saved = {"streams": {"users": {"scan": {"index": 5, "tail": [3, 4]}}}}
    if version is not None:
        saved["version"] = version
    log = RecordingLog()
    sync = new_sync(saved, log)
    assert sync.positions["users"].describe() == "resumes at record 5"
    assert [stream.name for stream in sync.streams] == list(ALL)
    assert log.texts("warning") == []


@pytest.mark.parametrize("version", ["2", 1.0, True, [2], {"major": 2}])
def test_an_unreadable_version_is_reported_and_the_state_read_as_this_releases(version):
    state, warnings = load({"version": version, "streams": {"users": {"scan": {"index": 5}}}})
    assert state.streams == {"users": {"scan": {"index": 5}}}
    assert len(warnings) == 1
    assert warnings[0].startswith("state: the saved 'version' is unreadable (")
    assert warnings[0].endswith(f"); reading the state as version {STATE_VERSION}")


# ---- garbage in every part -----------------------------------------------------------------------------------------

SCALAR_VALUES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON_VALUES = st.recursive(
    SCALAR_VALUES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
NOT_AN_INSTANT = st.sampled_from(["", "yesterday", "2026-13-45T00:00:00Z", "0001-01-01T00:00:00Z"])
NOT_A_QUOTA_START = st.sampled_from(["", "yesterday", "2026-13-45T00:00:00Z", "2026-11-28T09:00:00.000+00:00"])


def _is_count(value) -> bool:
    return type(value) is int and value >= 0


def _is_scalar_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(key, (str, int, float, bool, type(None))) for key in value)


def _is_quota_start(value) -> bool:
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return False
    return True


def garbage(accepted) -> st.SearchStrategy:
    """JSON values that the part does not accept."""
    return JSON_VALUES.filter(lambda value: not accepted(value))


def _position(stream: str, *path: str) -> dict:
    return {
        (*path, "index"): (garbage(_is_count), (stream, "'scan' position", "index")),
        (*path, "tail"): (garbage(lambda v: v is None or _is_scalar_list(v)), (stream, "'scan' position", "tail")),
    }


def _scanning(stream: str) -> dict:
    return {
        ("streams", stream): (garbage(lambda v: v is None or isinstance(v, dict)), (stream, "state of this stream")),
        ("streams", stream, "scan"): (garbage(lambda v: v is None or isinstance(v, dict)), (stream, "'scan'")),
        **_position(stream, "streams", stream, "scan"),
    }


#: Each part of a state: garbage for it, and the words the warning must hold (the stream or "state", the part).
PARTS: dict[tuple[str, ...], tuple[st.SearchStrategy, tuple[str, ...]]] = {
    ("version",): (garbage(lambda v: v is None or type(v) is int), ("state", "'version'")),
    ("streams",): (garbage(lambda v: v is None or isinstance(v, dict)), ("state", "'streams'")),
    ("quota",): (garbage(lambda v: v is None or isinstance(v, dict)), ("quota", "'quota'")),
    ("quota", "window_started"): (garbage(_is_quota_start) | NOT_A_QUOTA_START, ("quota", "'quota'")),
    ("quota", "calls"): (garbage(_is_count), ("quota", "'quota'")),
    **_scanning("users"),
    ("streams", "groups"): (garbage(lambda v: v is None or isinstance(v, dict)), ("groups", "state of this stream")),
    ("streams", "notes"): (garbage(lambda v: v is None or isinstance(v, dict)), ("notes", "state of this stream")),
    ("streams", "notes", "time_format"): (garbage(lambda v: v in ("iso", "date")), ("notes", "'time_format'")),
    ("streams", "notes", "cursor"): (garbage(lambda v: v is None or type(v) is str) | NOT_AN_INSTANT,
                                     ("notes", "'cursor'")),
    ("streams", "notes", "scan"): (garbage(lambda v: v is None or isinstance(v, dict)), ("notes", "'scan'")),
    ("streams", "notes", "scan", "window_start"): (garbage(lambda v: type(v) is str) | NOT_AN_INSTANT,
                                                   ("notes", "'scan' window", "window_start")),
    ("streams", "notes", "scan", "window_end"): (garbage(lambda v: type(v) is str) | NOT_AN_INSTANT,
                                                 ("notes", "'scan' window", "window_end")),
    ("streams", "notes", "scan", "position"): (garbage(lambda v: isinstance(v, dict)), ("notes", "'scan' position")),
    **_position("notes", "streams", "notes", "scan", "position"),
    ("streams", "bookmarks"): (garbage(lambda v: v is None or isinstance(v, dict)),
                               ("bookmarks", "state of this stream")),
}  # fmt: skip
#: Parts that bookmarks.py still reads silently (a value it cannot use is replaced by its default without a word).
BOOKMARKS_PARTS = {
    ("streams", "bookmarks", "offset_base"): (garbage(lambda v: v in (0, 1) and type(v) is int),
                                              ("bookmarks", "offset_base")),
    ("streams", "bookmarks", "page_cap"): (garbage(lambda v: isinstance(v, dict)), ("bookmarks", "page_cap")),
}  # fmt: skip


def full_state() -> dict:
    """A state in which every part is present and readable."""
    return {
        "version": STATE_VERSION,
        "streams": copy.deepcopy(PREVIOUS_RELEASE),
        "quota": {"window_started": "2026-11-28T09:00:00Z", "calls": 412},
    }


def put(state: dict, path: tuple[str, ...], value) -> dict:
    *parents, key = path
    part = state
    for name in parents:
        part = part[name]
    part[key] = value
    return state


def warned(log: RecordingLog, words: tuple[str, ...]) -> bool:
    label, *rest = words
    return any(line.startswith(f"{label}: ") and all(w in line for w in rest) for line in log.texts("warning"))


def test_a_full_state_reads_without_a_word():
    log = RecordingLog()
    new_sync(full_state(), log)
    assert log.lines == []


PART_PARAMS = [pytest.param(path, id=".".join(path)) for path in (*PARTS, *BOOKMARKS_PARTS)]


@pytest.mark.parametrize("path", PART_PARAMS)
@given(data=st.data())
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much])
def test_garbage_in_any_part_of_the_state_restarts_that_part_with_a_warning_naming_it(path, data):
    strategy, words = {**PARTS, **BOOKMARKS_PARTS}[path]
    value = data.draw(strategy, label=".".join(path))
    log = RecordingLog()
    sync = new_sync(put(full_state(), path, value), log)  # never raises
    assert warned(log, words), log.lines
    for position in sync.positions.values():
        position.describe()
        json.dumps(position.to_state())


@given(data=st.data())
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
def test_garbage_in_every_part_at_once_never_fails_the_sync_and_is_reported(data):
    state = full_state()
    leaves = [path for path in PARTS if not any(other[: len(path)] == path and other != path for other in PARTS)]
    for path in leaves:
        put(state, path, data.draw(PARTS[path][0], label=".".join(path)))
    log = RecordingLog()
    sync = new_sync(state, log)
    assert [stream.name for stream in sync.streams] == list(ALL)
    for stream in ("state", "quota", *ALL):
        assert any(line.startswith(f"{stream}: ") for line in log.texts("warning")), (stream, log.lines)
    for position in sync.positions.values():
        assert "resumes" not in position.describe()  # every scan under way was unreadable: each starts afresh
        json.dumps(position.to_state())


# ---- the tenant a state belongs to -----------------------------------------------------------------------------


def test_a_state_of_another_tenant_is_never_used_and_says_how_to_clear_the_old_rows():
    saved = SyncState.load(full_state(), ALL, RecordingLog(), "demo.local").to_dict({"calls": 999})
    log = RecordingLog()
    state = SyncState.load(saved, ALL, log, "acme.egnyte.com")
    assert state.streams == {} and state.quota is None and not state.fan_outs_pending
    (warning,) = log.texts("warning")
    assert "written for demo.local" in warning and "acme.egnyte.com" in warning and "fivetran reset" in warning
    assert state.to_dict({})["tenant"] == "acme.egnyte.com"


def test_a_state_of_the_same_tenant_is_used():
    saved = SyncState.load(full_state(), ALL, RecordingLog(), "acme.egnyte.com").to_dict({"calls": 5})
    log = RecordingLog()
    state = SyncState.load(saved, ALL, log, "acme.egnyte.com")
    assert state.streams and state.quota == {"calls": 5} and log.lines == []


def test_a_state_of_the_previous_release_names_no_tenant_and_is_taken_as_this_ones():
    previous = {key: value for key, value in full_state().items() if key != "tenant"}
    log = RecordingLog()
    state = SyncState.load(previous, ALL, log, "acme.egnyte.com")
    assert state.streams == {name: previous["streams"][name] for name in ALL} and log.lines == []


def test_the_tenant_is_the_host_whatever_the_port():
    def tenant(base_url: str) -> str:
        return Settings(domain="x", base_url=base_url).tenant

    assert tenant("https://Acme.egnyte.com") == "acme.egnyte.com"
    assert tenant("http://127.0.0.1:8765") == tenant("http://127.0.0.1:40111") == "127.0.0.1"
