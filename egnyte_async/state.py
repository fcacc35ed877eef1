"""The state Fivetran keeps between syncs: each stream's own part, the day's request count and the round.

    {"version": 1,
     "streams": {"users": {"scan": {"index": 201, "tail": [...]}}, "notes": {"cursor": "...", ...}, ...},
     "quota": {"window_started": "2026-11-28T00:00:00Z", "calls": 412},
     "round_done": ["users", "notes"]}

What a stream's part means is the stream's business: each stream reads its part into a typed object (a
`StreamState`) and writes it back; this module only keeps the parts apart. An empty part means "start a fresh
scan". `round_done` lists the streams that finished a scan in the current round: a sync works only on the
others, and once every enabled stream is done a new round starts. So when the day's quota cannot cover the
tenant, the streams already read do not start over and eat the budget that the unfinished ones need: successive
syncs finish the tenant. Nothing secret is ever stored here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from egnyte_async.log import Log

STATE_VERSION = 1


class StreamState(Protocol):
    """One stream's resumable position, as the stream itself understands it."""

    def to_state(self) -> dict[str, Any]:
        """The JSON-ready dict saved in the state (and read back by the stream's `read_state`)."""
        ...

    def describe(self) -> str:
        """Where the next read of this stream starts, in a few words for the log."""
        ...


def readable_part(raw: Mapping[str, Any], key: str, stream: str, log: Log) -> dict[str, Any] | None:
    """`raw[key]` when it is a JSON object; None when absent; None with a warning when it is anything else, so that
    the part restarts instead of failing the sync."""
    value = raw.get(key)
    if value is None or isinstance(value, dict):
        return value
    log.warning(f"{stream}: the saved {key!r} is unreadable ({type(value).__name__}); that part starts afresh")
    return None


class SyncState:
    def __init__(
        self, streams: dict[str, dict[str, Any]], quota: dict[str, Any] | None, round_done: set[str] | None = None
    ) -> None:
        self.streams = streams
        self.quota = quota
        self.round_done = round_done or set()

    @classmethod
    def load(cls, state: Mapping[str, Any] | None, names: Iterable[str]) -> SyncState:
        """Reads a saved state, keeping the parts of the streams in `names`; anything unreadable restarts that part
        from scratch rather than failing."""
        known = tuple(names)
        saved: Mapping[str, Any] = state if isinstance(state, Mapping) else {}
        raw_streams = saved.get("streams")
        raw_streams = raw_streams if isinstance(raw_streams, dict) else {}
        streams = {name: copy.deepcopy(raw_streams[name]) for name in known if isinstance(raw_streams.get(name), dict)}
        quota = saved.get("quota")
        done = saved.get("round_done")
        round_done = {name for name in done if name in known} if isinstance(done, list) else set()
        return cls(streams, quota if isinstance(quota, dict) else None, round_done)

    def part(self, stream: str) -> dict[str, Any]:
        """The saved part of `stream` (a copy), for the stream to read."""
        return copy.deepcopy(self.streams.get(stream, {}))

    def advance(self, stream: str, position: StreamState) -> None:
        self.streams[stream] = position.to_state()

    def streams_to_sync(self, enabled: tuple[str, ...]) -> tuple[str, ...]:
        """The enabled streams not yet done in this round; all of them (a new round) when every one is done."""
        pending = tuple(name for name in enabled if name not in self.round_done)
        if pending:
            return pending
        self.round_done.clear()
        return enabled

    def finish(self, stream: str) -> None:
        self.round_done.add(stream)

    def to_dict(self, quota: dict[str, Any]) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "streams": copy.deepcopy(self.streams),
            "quota": quota,
            "round_done": sorted(self.round_done),
        }
