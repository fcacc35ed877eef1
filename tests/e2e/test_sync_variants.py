"""Whole syncs against the in-process sandbox, one per undocumented API variant, compared row by row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from harness import (
    SANDBOX_NOW,
    RecordingOperations,
    all_notes,
    assert_matches,
    expected_rows,
    run_sync,
)

from egnyte_sandbox import SandboxConfig, create_app
from tests.logs import RecordingLog

SMALL = {"users": 130, "groups": 6, "members_per_group": 8, "notes": 260, "bookmarks_per_user": 2}
VARIANTS = {
    "documented": {},
    "items per page echoes the request": {"items_per_page": "requested"},
    "count over 100 rejected": {"over_max_count": "reject"},
    "string user ids": {"user_id_type": "string"},
    "dates with Z": {"date_format": "z"},
    "dates with +00:00": {"date_format": "offset"},
    "plain dates": {"date_format": "date"},
    "RFC 1123 dates": {"date_format": "rfc1123"},
    "epoch millisecond dates": {"date_format": "epoch_ms"},
    "notes filter takes dates only": {"notes_time_filter": "date"},
    "notes filter ignored": {"notes_time_filter": "ignore"},
    "exclusive notes bounds": {"notes_bounds": "exclusive"},
    "notes newest first": {"notes_order": "desc"},
    "notes without total or count": {"notes_total": False, "notes_count_key": False},
    "notes with file_id": {"notes_file_id": True},
    "bookmarks with a total": {"bookmarks_total": True},
    "bookmark offsets from 1": {"bookmarks_offset_base": 1},
    "no SCIM schemas": {"scim_schemas": False},
    "no optional user dates": {"optional_user_dates": False},
    "lower page caps": {"scim_max_count": 40, "notes_max_count": 30, "bookmarks_max_count": 1},
    "v1 errors as text": {"v1_error_style": "text"},
    "userNames not in ASCII": {"usernames": "unicode"},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_full_sync_matches_the_tenant(variant):
    config = SandboxConfig(**SMALL, qps_limit=None, daily_quota=None, **VARIANTS[variant])
    app = create_app(config)
    tenant = app.state.sandbox.tenant
    operations = RecordingOperations()
    log = RecordingLog()
    report = run_sync(app, config.static_token, None, operations, now=SANDBOX_NOW, log=log, max_records_per_page=100)
    assert sorted(report.finished) == ["bookmarks", "groups", "notes", "users"]
    assert not report.stopped
    expected = expected_rows(tenant, SANDBOX_NOW)
    loose_notes = config.notes_time_filter != "iso"
    compared = assert_matches(
        operations.table, expected, allowed_extra={"notes": all_notes(tenant)} if loose_notes else None
    )
    assert compared >= sum(len(rows) for rows in expected.values())
    assert not log.texts("warning"), log.texts("warning")
    assert operations.last_state["streams"]["users"] == {}


def test_second_sync_reads_only_new_notes():
    # The windowed scans, as on a plan without the events feed: the sandbox's notes created between the two syncs'
    # moments have no events (with the feed: tests/e2e/test_notes_feed.py).
    config = SandboxConfig(**SMALL, qps_limit=None, daily_quota=None, events_available=False)
    app = create_app(config)
    tenant = app.state.sandbox.tenant
    first_now = SANDBOX_NOW - timedelta(days=20)
    operations = RecordingOperations()
    run_sync(app, config.static_token, None, operations, now=first_now, streams=("notes",))
    first_count = len(operations.table("notes"))
    cursor = operations.last_state["streams"]["notes"]["cursor"]
    assert cursor == first_now.strftime("%Y-%m-%dT%H:%M:%SZ")
    requests_before = len(app.state.sandbox.requests)

    run_sync(app, config.static_token, operations.last_state, operations, now=SANDBOX_NOW, streams=("notes",))
    new_requests = app.state.sandbox.requests[requests_before:]
    note_requests = [r for r in new_requests if r.path == "/pubapi/v1/notes"]
    assert note_requests and all(
        r.query["start_time"] == (first_now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ") for r in note_requests
    )
    expected = expected_rows(tenant, SANDBOX_NOW, initial_sync_days=365 + 20, streams=("notes",))
    expected["notes"] = {
        key: row for key, row in expected["notes"].items() if row["created_date"] >= "2025-11-11T00:00:00.000Z"
    }
    assert len(operations.table("notes")) > first_count
    assert_matches(operations.table, expected, tables=["notes"], allowed_extra={"notes": all_notes(tenant)})
