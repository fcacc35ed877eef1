"""Progress lines a person can act on: per stream, how far of how much, at what pace, how long to go; checked
against what really happened, on virtual time (a 3,000-user tenant at 2 calls a second takes 26 minutes)."""

from __future__ import annotations

import re

from faultkit import VirtualTime, run, sandbox_app
from harness import RecordingOperations

from tests.logs import RecordingLog

TENANT = {"users": 3000, "groups": 4, "members_per_group": 5, "notes": 20, "bookmarks_per_user": 1}
LINE = re.compile(
    r"bookmarks: ([\d,]+) of ([\d,]+) users' bookmarks checked \((\d+)%\), ([\d.]+)/s, about (\d+) (s|min) left"
)


class TimedLog(RecordingLog):
    """Keeps the virtual time of every line."""

    def __init__(self, time: VirtualTime) -> None:
        super().__init__()
        self.time = time
        self.at: list[float] = []

    def info(self, message: str) -> None:
        super().info(message)
        self.at.append(self.time.now)


def test_progress_tells_how_far_how_fast_and_how_long_and_is_right_by_halfway():
    time = VirtualTime()
    time.latency_up_to = 1.0
    app = sandbox_app(time, TENANT, latency_s=0.5)  # every call costs half a second: 2 calls a second
    log = TimedLog(time)
    started = time.now
    report = run(app, None, RecordingOperations(), time, log=log, max_concurrent_requests=4)
    ended = time.now
    lines = [(at, text) for (level, text), at in zip(log.lines, log.at, strict=False) if text.startswith("progress")]
    assert len(lines) >= (ended - started) / 30 - 2  # one every 30 s

    halfway = next((at, text) for at, text in lines if (m := LINE.search(text)) and int(m.group(3)) >= 50)
    at, text = halfway
    found = LINE.search(text)
    assert found is not None
    listed, total = int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))
    assert total == TENANT["users"]  # the total is the listing's, exactly
    pace = float(found.group(4))
    left = int(found.group(5)) * (60 if found.group(6) == "min" else 1)
    true_left = ended - at
    true_pace = (TENANT["users"] - listed) / true_left
    assert abs(left - true_left) <= 0.2 * true_left, (left, true_left)
    assert abs(pace - true_pace) <= 0.2 * true_pace, (pace, true_pace)
    assert "Calls: " in text and "of this sync's" in text and "the quota resets around" in text

    summary = next(text for text in log.texts("info") if text.startswith("sync summary"))
    assert "users 3000" in summary and "rows marked deleted: none" in summary and "Calls: " in summary
    assert report.rows_by_table["users"] == TENANT["users"]  # each user counted once, overlap or not
