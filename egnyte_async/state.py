"""The state Fivetran keeps between syncs: one position per stream and the day's request count.

    {"version": 1,
     "streams": {"users": {"scan": {"index": 201, "tail": [...]}}, "notes": {"cursor": "...", ...}, ...},
     "quota": {"window_started": "2026-11-28T00:00:00Z", "calls": 412}}

An empty position means "start a fresh scan". Nothing secret is ever stored here.
"""

from __future__ import annotations

import copy
from typing import Any

STATE_VERSION = 1
STREAM_NAMES = ("users", "groups", "notes", "bookmarks")


class SyncState:
    def __init__(self, streams: dict[str, dict[str, Any]], quota: dict[str, Any] | None) -> None:
        self.streams = streams
        self.quota = quota

    @classmethod
    def load(cls, state: dict[str, Any] | None) -> SyncState:
        """Reads a saved state; anything unreadable restarts that part from scratch rather than failing."""
        state = state if isinstance(state, dict) else {}
        raw_streams = state.get("streams") if isinstance(state.get("streams"), dict) else {}
        streams = {
            name: copy.deepcopy(raw_streams[name]) for name in STREAM_NAMES if isinstance(raw_streams.get(name), dict)
        }
        quota = state.get("quota") if isinstance(state.get("quota"), dict) else None
        return cls(streams, quota)

    def position(self, stream: str) -> dict[str, Any]:
        return copy.deepcopy(self.streams.get(stream, {}))

    def advance(self, stream: str, position: dict[str, Any]) -> None:
        self.streams[stream] = position

    def to_dict(self, quota: dict[str, Any]) -> dict[str, Any]:
        return {"version": STATE_VERSION, "streams": copy.deepcopy(self.streams), "quota": quota}
