"""Saved states shared by the tests of the state and of the streams."""

from __future__ import annotations

#: Stream parts exactly as the previous release wrote them (hand-built dicts, before streams had typed states).
PREVIOUS_RELEASE: dict[str, dict] = {
    "users": {"scan": {"index": 201, "tail": [199, 200]}},
    "groups": {"scan": {"index": 100, "tail": ["g-98", "g-99"]}, "after_id": "g-140"},
    "notes": {
        "time_format": "date",
        "cursor": "2026-11-27T10:00:00Z",
        "scan": {
            "window_start": "2026-11-27T09:00:00Z",
            "window_end": "2026-11-28T10:00:00Z",
            "position": {"index": 99, "tail": ["n-97", "n-98"]},
        },
    },
    "bookmarks": {
        "scan": {"index": 1, "tail": []},
        "after_user_id": 12824215693,
        "offset_base": 1,
        "page_cap": {"cap": 40, "longest_end": 0, "echoes_index": True},
    },
}

