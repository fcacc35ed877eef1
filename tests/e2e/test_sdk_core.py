"""Syncs through the SDK's real core into DuckDB against a sandbox served by uvicorn, checked row by row."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from harness import all_notes, assert_matches, expected_rows
from sdk_core import deleted_keys, duplicate_keys, run_core, saved_state, warehouse_rows
from test_deletions import delete_some_and_bring_some_back

from egnyte_async.dates import parse_egnyte_datetime
from egnyte_sandbox import SandboxConfig, run_server

TENANT = {"users": 130, "groups": 6, "members_per_group": 7, "notes": 400, "bookmarks_per_user": 2}


def live_clock() -> datetime:
    return datetime.now(timezone.utc)


#: The connector runs on the real clock here, so the tenant's must agree, as Egnyte's does: a bookmark edited in the
#: tenant makes its owner active (lastActiveDate) now, after the last scan began, so the next sync lists them.
LIVE = {"wall_clock": live_clock}


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
    # in, finds the bucket empty whatever the machine's speed. The server states no limits (no X-Accesstoken
    # headers): told, the connector would pace to 10/s from the first answer on (the next test) and never be
    # throttled.
    tenant = {"users": 20, "groups": 2, "members_per_group": 5, "notes": 60, "bookmarks_per_user": 1}
    with run_server(SandboxConfig(**tenant, qps_limit=10, daily_quota=None, accesstoken_headers=False)) as sandbox:
        run_core(project, configuration(sandbox, requests_per_second="200"))
        assert sandbox.stats.throttled_qps > 0  # the connector was told to slow down, and did
        check_against_tenant(project, sandbox.tenant)


def test_the_pace_egnyte_states_is_kept_to_from_its_first_answer(project):
    # The same server stating its 10 calls a second: the connector (capped at 200/s, auto likewise) paces to it.
    tenant = {"users": 20, "groups": 2, "members_per_group": 5, "notes": 60, "bookmarks_per_user": 1}
    with run_server(SandboxConfig(**tenant, qps_limit=10, daily_quota=None)) as sandbox:
        run_core(project, configuration(sandbox, requests_per_second="200"))
        assert sandbox.stats.throttled_qps == 0
        assert sandbox.stats.requests > 20  # enough calls to have emptied the bucket at 200/s
        check_against_tenant(project, sandbox.tenant)


def test_deletions_reach_duckdb_as_soft_deletes_and_nothing_existing_is_marked(project):
    """Users (with their memberships and bookmarks), a group, single memberships, bookmarks and notes deleted in
    Egnyte are marked `_fivetran_deleted` by the next sync; a user brought in meanwhile is live; nothing existing is
    marked deleted."""
    with run_server(SandboxConfig(**TENANT, qps_limit=None, daily_quota=None, **LIVE)) as sandbox:
        run_core(project, configuration(sandbox))
        before = warehouse_rows(project)
        assert all(not keys for keys in deleted_keys(project).values())

        # delete_some_and_bring_some_back reaches for app.state.sandbox.tenant
        delete_some_and_bring_some_back(SimpleNamespace(state=SimpleNamespace(sandbox=sandbox)), random.Random(3))
        tenant = sandbox.tenant
        synced_notes = [note["id"] for note in tenant.iter_notes() if (note["id"],) in before["notes"]]
        removed_notes = set(synced_notes[-3:])  # through the events feed: their delete events
        for note_id in removed_notes:
            tenant.remove_note([note["id"] for note in tenant.iter_notes()].index(note_id))
        run_core(project, configuration(sandbox), saved_state(project))
        check_against_tenant(project, tenant)
        now = expected_rows(tenant, parse_egnyte_datetime(saved_state(project)["streams"]["notes"]["cursor"]))
        deleted = deleted_keys(project)
        for table in ("users", "groups", "group_members", "bookmarks"):
            gone = {tuple(str(v) for v in key) for key in set(before[table]) - set(now[table])}
            marked = {tuple(str(v) for v in key) for key in deleted[table]}
            assert gone and marked == gone, (table, marked ^ gone)
        assert {key[0] for key in deleted["notes"]} == removed_notes


def test_a_quota_stop_between_deletions_marks_nothing_existing_and_the_next_sync_completes_them(project):
    with run_server(SandboxConfig(**TENANT, qps_limit=None, daily_quota=None, **LIVE)) as sandbox:
        run_core(project, configuration(sandbox))
        before = warehouse_rows(project)
        calls = saved_state(project)["quota"]["calls"]
        delete_some_and_bring_some_back(SimpleNamespace(state=SimpleNamespace(sandbox=sandbox)), random.Random(5))
        for user in list(sandbox.tenant.iter_users()):  # everyone active: the second scan lists every user again
            sandbox.tenant.touch_user(user["userName"])
        # The same day, with half a full sync's calls left: the second scan stops halfway.
        run_core(project, configuration(sandbox, daily_request_limit=str(calls + calls // 2)), saved_state(project))
        assert saved_state(project)["streams"]["bookmarks"].get("pass_started")  # the pass is under way
        now = expected_rows(sandbox.tenant, parse_egnyte_datetime(saved_state(project)["streams"]["notes"]["cursor"]))
        marked = deleted_keys(project)
        for table in ("users", "groups", "group_members", "bookmarks"):
            existing = {tuple(str(v) for v in key) for key in now[table]}
            assert not {tuple(str(v) for v in key) for key in marked[table]} & existing, table
        for _ in range(3):  # what the quota left undone
            run_core(project, configuration(sandbox), saved_state(project))
        check_against_tenant(project, sandbox.tenant)
        deleted = deleted_keys(project)
        for table in ("users", "groups", "group_members", "bookmarks"):
            gone = {tuple(str(v) for v in key) for key in set(before[table]) - set(now[table])}
            assert {tuple(str(v) for v in key) for key in deleted[table]} == gone, table
