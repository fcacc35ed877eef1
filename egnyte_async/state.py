"""The state Fivetran keeps between syncs: one position per stream and the day's request count.

    {"version": 1,
     "streams": {"users": {"scan": {"index": 201, "tail": [...]}}, "notes": {"cursor": "...", ...}, ...},
     "quota": {"window_started": "2026-11-28T00:00:00Z", "calls": 412},
     "round_done": ["users", "notes"]}

An empty position means "start a fresh scan". `round_done` lists the streams that finished a scan in the current
round: a sync works only on the others, and once every enabled stream is done a new round starts. So when the
day's quota cannot cover the tenant, the streams already read do not start over and eat the budget that the
unfinished ones need: successive syncs finish the tenant. Nothing secret is ever stored here.
"""

from __future__ import annotations

import copy
from typing import Any

STATE_VERSION = 1
STREAM_NAMES = ("users", "groups", "notes", "bookmarks")


class SyncState:
    def __init__(
        self, streams: dict[str, dict[str, Any]], quota: dict[str, Any] | None, round_done: set[str] | None = None
    ) -> None:
        self.streams = streams
        self.quota = quota
        self.round_done = round_done or set()

    @classmethod
    def load(cls, state: dict[str, Any] | None) -> SyncState:
        """Reads a saved state; anything unreadable restarts that part from scratch rather than failing."""
        state = state if isinstance(state, dict) else {}
        raw_streams = state.get("streams") if isinstance(state.get("streams"), dict) else {}
        streams = {
            name: copy.deepcopy(raw_streams[name]) for name in STREAM_NAMES if isinstance(raw_streams.get(name), dict)
        }
        quota = state.get("quota") if isinstance(state.get("quota"), dict) else None
        done = state.get("round_done") if isinstance(state.get("round_done"), list) else []
        return cls(streams, quota, {name for name in done if name in STREAM_NAMES})

    def position(self, stream: str) -> dict[str, Any]:
        return copy.deepcopy(self.streams.get(stream, {}))

    def advance(self, stream: str, position: dict[str, Any]) -> None:
        self.streams[stream] = position

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
