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


#: Group and bookmark parts as the release before this layout wrote them: a scan that read each group's members
#: (and each user's bookmarks) as it went, with the ticks and instants of incremental reads.
LAST_RELEASE: dict[str, dict] = {
    "groups": {"scan": {"index": 3, "tail": ["g-1", "g-2"]}, "after_id": "g-2", "scan_tick": 123, "previous_tick": 122},
    "bookmarks": {
        "scan": {"index": 101, "tail": [5, 6]},
        "after_user_id": 6,
        "offset_base": 0,
        "page_cap": {"cap": None, "longest_end": 0, "echoes_index": True},
        "scan_started": "2026-11-28T08:00:00.000Z",
        "previous_scan_started": "2026-11-27T08:00:00.000Z",
    },
}
