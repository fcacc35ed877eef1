"""Syncs through the SDK's real core into DuckDB against a sandbox served by uvicorn, checked row by row."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from harness import all_notes, assert_matches, expected_rows
from sdk_core import duplicate_keys, run_core, saved_state, warehouse_rows

from egnyte_async.dates import parse_egnyte_datetime
from egnyte_sandbox import SandboxConfig, run_server

TENANT = {"users": 130, "groups": 6, "members_per_group": 7, "notes": 400, "bookmarks_per_user": 2}


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


def configuration(sandbox, **overrides: str) -> dict[str, str]:
    values = {
        "domain": "sandbox",
        "api_token": sandbox.access_token,
        "base_url": sandbox.base_url,
        "requests_per_second": "1000",
        "daily_request_limit": "100000",
        "sync_frequency_hours": "24",
        "initial_sync_days": "365",
    }
    values.update(overrides)
    return values


def expected_now(project) -> tuple[dict, dict]:
    """What the warehouse must hold: notes strictly inside the synced window must all be there; notes within a
    day of its start may be (the window's start depends on the second the sync began)."""
    cursor = parse_egnyte_datetime(saved_state(project)["streams"]["notes"]["cursor"])
    return cursor, cursor - timedelta(days=365)


def check_against_tenant(project, tenant) -> int:
    end, start = expected_now(project)
    expected = expected_rows(tenant, end, initial_sync_days=364)
    rows = warehouse_rows(project)
    compared = assert_matches(rows.__getitem__, expected, allowed_extra={"notes": all_notes(tenant)})
    outside = [r for r in rows["notes"].values() if r["created_date"] < (start - timedelta(seconds=1)).isoformat()]
    assert not outside
    assert all(count == 0 for count in duplicate_keys(project).values())
    return compared


def test_full_sync_into_duckdb_matches_the_tenant(project):
    with run_server(SandboxConfig(**TENANT, qps_limit=None, daily_quota=None)) as sandbox:
        result = run_core(project, configuration(sandbox))
        assert result["Upserts"] > 0
        compared = check_against_tenant(project, sandbox.tenant)
    assert compared > 500
    state = saved_state(project)
    assert state["streams"]["users"] == {} and state["streams"]["bookmarks"].get("scan") is None


def test_second_sync_is_incremental_for_notes_and_still_complete(project):
    # The windowed scans, as on a plan without the events feed (with it, a later sync follows the feed instead:
    # tests/e2e/test_notes_feed.py).
    with run_server(SandboxConfig(**TENANT, qps_limit=None, daily_quota=None, events_available=False)) as sandbox:
        run_core(project, configuration(sandbox))
        first_cursor = saved_state(project)["streams"]["notes"]["cursor"]
        before = len(sandbox.state.requests)
        run_core(project, configuration(sandbox), saved_state(project))
        notes_calls = [r for r in sandbox.state.requests[before:] if r.path == "/pubapi/v1/notes"]
        # the second window starts an hour before the first one's end: a single page, no re-read of the year
        assert len(notes_calls) == 1
        start = datetime.strptime(notes_calls[0].query["start_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert start == parse_egnyte_datetime(first_cursor) - timedelta(hours=1)
        check_against_tenant(project, sandbox.tenant)


def test_throttled_tenant_syncs_completely_and_backs_off(project):
    # A bucket of 10 calls refilled at 10/s against a client paced at 200/s with 16 in flight: the 11th call, 50 ms
    # in, finds the bucket empty whatever the machine's speed.
    tenant = {"users": 20, "groups": 2, "members_per_group": 5, "notes": 60, "bookmarks_per_user": 1}
    with run_server(SandboxConfig(**tenant, qps_limit=10, daily_quota=None)) as sandbox:
        run_core(project, configuration(sandbox, requests_per_second="200"))
        assert sandbox.stats.throttled_qps > 0  # the connector was told to slow down, and did
        check_against_tenant(project, sandbox.tenant)
