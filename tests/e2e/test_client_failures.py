"""How a sync ends when Egnyte's answers are not what a sync can work with: the message says what happened."""

from __future__ import annotations

from faultkit import VirtualTime, run, sandbox_app
from harness import RecordingOperations

from tests.logs import RecordingLog

TENANT = {"users": 20, "groups": 4, "members_per_group": 2, "notes": 10, "bookmarks_per_user": 1}


def test_a_throttle_asking_for_hours_stops_the_sync_saying_it_was_the_throttle_not_the_budget():
    time = VirtualTime()
    app = sandbox_app(time, TENANT)

    async def throttled_users(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/pubapi/v2/users":
            await send({"type": "http.response.start", "status": 429, "headers": [(b"retry-after", b"99999")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    log = RecordingLog()
    report = run(throttled_users, None, RecordingOperations(), time, log=log, streams=("users",))
    assert report.stopped and not report.finished
    [warning] = log.texts("warning")
    assert warning.startswith("Egnyte's throttle asked to pause for 99999 s (Retry-After)"), warning
    assert "budget" not in warning and "Stopped early, everything fetched is written. users: 0 rows" in warning
    assert time.slept == []  # it never waited
