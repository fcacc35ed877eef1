"""A tenant that shrinks below a scan's saved position: the next sync still finishes, and loses no user.

A users scan stopped by the quota far into a large tenant; most users were then deleted, so the listing now ends
long before the saved position. Walking back from there page by page spent every later sync's whole share of the
quota before reaching what the listing still held: nothing was saved, every sync resumed at the same record, and
the tables behind it waited forever.
"""

from __future__ import annotations

import random

from faultkit import VirtualTime, run, sandbox_app
from harness import SANDBOX_NOW, RecordingOperations, expected_rows

from tests.logs import RecordingLog

TENANT = {"users": 1000, "groups": 1, "members_per_group": 1, "notes": 1, "bookmarks_per_user": 0}
#: A page of 10 users (9 apart) and 25 calls a sync: about 215 users a sync.
SYNC = {"streams": ("users",), "max_records_per_page": 10, "daily_request_limit": 25, "sync_frequency_hours": 24}
DAY = 24 * 3600.0
KEPT = 40


def test_a_scan_saved_past_what_a_shrunken_tenant_still_holds_finishes_with_every_remaining_user():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, daily_quota=25)
    sandbox = app.state.sandbox
    operations = RecordingOperations()
    state = None
    while not state or state["streams"]["users"]["scan"]["index"] < 600:  # three syncs, each stopped by the quota
        report = run(app, state, operations, time, now=time.wall(), **SYNC)
        assert list(report.stopped) == ["users"], report.stopped
        state = operations.last_state
        time.advance(DAY)
    saved = state["streams"]["users"]["scan"]["index"]

    tenant = sandbox.tenant
    rng = random.Random(7)
    while tenant.user_count > KEPT:  # most users deleted: the listing ends far before the saved position
        position = rng.randrange(tenant.user_count)
        if not tenant.is_admin(tenant.users_page(position, 1)[0]["userName"]):
            tenant.remove_user(position)
    assert tenant.user_count == KEPT < saved - 1

    log = RecordingLog()
    before = sandbox.stats.api_requests
    report = run(app, state, operations, time, log=log, now=time.wall(), **SYNC)
    assert not report.stopped and "users" in report.finished
    spent = sandbox.stats.api_requests - before
    assert spent <= 12  # the token check, the saved page, the last page, 2 more back, then 5 pages of 40 users
    assert operations.last_state["streams"]["users"].get("scan") is None  # done: the next sync starts afresh
    assert any(f"startIndex={saved}" in text and "first record" in text for text in log.texts("warning"))

    remaining = expected_rows(tenant, SANDBOX_NOW, streams=("users",))["users"]
    assert len(remaining) == KEPT
    synced = operations.table("users")
    for key, row in remaining.items():
        assert synced.get(key) == row, key  # every remaining user, with its values
