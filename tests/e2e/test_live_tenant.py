"""A tenant that changes while the sync reads it: records created and deleted anywhere in every listing before
each list request (the sandbox's churn). Every record that exists from the start to the end of a scan is synced,
nothing crashes, and what a scan could not see is picked up by the next sync.
"""

from __future__ import annotations

import pytest
from faultkit import VirtualTime, run, sandbox_app
from harness import SANDBOX_NOW, RecordingOperations, expected_rows

from tests.logs import RecordingLog

TENANT = {"users": 60, "groups": 25, "members_per_group": 3, "notes": 240, "bookmarks_per_user": 3}
CHECKED = ("users", "groups", "notes", "bookmarks")


def snapshot(app) -> dict[str, dict[tuple, dict]]:
    return expected_rows(app.state.sandbox.tenant, SANDBOX_NOW)


def present_throughout(before, after) -> dict[str, dict[tuple, dict]]:
    return {table: {key: row for key, row in before[table].items() if after[table].get(key) == row} for table in before}


@pytest.mark.parametrize("page_size", [5, 13])
@pytest.mark.parametrize("churn", [1, 4])
def test_every_record_present_throughout_the_scan_is_synced_and_the_next_sync_catches_up(churn, page_size):
    time = VirtualTime()
    app = sandbox_app(time, TENANT, churn_per_list_request=churn)
    sandbox = app.state.sandbox
    before = snapshot(app)
    operations = RecordingOperations()
    log = RecordingLog()
    report = run(app, None, operations, time, log=log, max_records_per_page=page_size, checkpoint_rows=20)
    after = snapshot(app)
    assert sorted(report.finished) == sorted(CHECKED)
    assert sandbox.stats.churn_mutations > 50

    throughout = present_throughout(before, after)
    for table in CHECKED:
        got = operations.table(table)
        missing = [key for key in throughout[table] if key not in got]
        assert not missing, f"{table}: {len(missing)} records present throughout were skipped, e.g. {missing[:3]}"
        assert all(got[key] == row for key, row in throughout[table].items())
        # and nothing that never existed: every row is a record of the tenant, at its start or its end
        ever = {**before[table], **after[table]}
        unknown = [key for key in got if key not in ever]
        assert len(unknown) <= sandbox.stats.churn_mutations  # created and deleted again during the scan
    assert not [text for text in log.texts("warning") if "unexpected" in text]

    # The tenant stands still now: the next sync picks up what the first could not see.
    sandbox.config.churn_per_list_request = 0
    final = snapshot(app)
    run(app, operations.last_state, operations, time, max_records_per_page=page_size, checkpoint_rows=20)
    for table in ("users", "groups", "group_members", "bookmarks"):
        got = operations.table(table)
        missing = [key for key in final[table] if key not in got]
        assert not missing, f"{table}: still missing after the next sync: {missing[:3]}"
        assert all(got[key] == row for key, row in final[table].items())
    notes = operations.table("notes")
    assert all(key in notes for key in present_throughout(before, final)["notes"])


def test_a_group_deleted_between_the_listing_and_its_detail_is_reported_and_skipped():
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    tenant = app.state.sandbox.tenant
    doomed = list(tenant.iter_groups())[7]

    async def deleting(scope, receive, send):
        await app(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/pubapi/v2/groups":  # right after the first listing
            position = next((i for i, group in enumerate(tenant.iter_groups()) if group["id"] == doomed["id"]), None)
            if position is not None:
                tenant.remove_group(position)

    operations = RecordingOperations()
    log = RecordingLog()
    report = run(deleting, None, operations, time, log=log, streams=("groups",), max_records_per_page=10)
    assert report.finished == ["groups"]
    assert any(doomed["id"] in text and "deleted since it was listed" in text for text in log.texts("warning"))
    groups = operations.table("groups")
    assert (doomed["id"],) not in groups
    assert set(groups) == {(group["id"],) for group in tenant.iter_groups()}


def test_a_user_deleted_before_their_bookmarks_are_listed_is_skipped_with_a_warning():
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    tenant = app.state.sandbox.tenant
    doomed = list(tenant.iter_users())[3]

    async def deleting(scope, receive, send):
        await app(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/pubapi/v2/users" and tenant.find_user(doomed["userName"]):
            position = next(i for i, user in enumerate(tenant.iter_users()) if user["id"] == doomed["id"])
            tenant.remove_user(position)

    operations = RecordingOperations()
    log = RecordingLog()
    report = run(deleting, None, operations, time, log=log, streams=("bookmarks",), max_records_per_page=10)
    assert report.finished == ["bookmarks"]
    assert any(doomed["userName"] in text for text in log.texts("warning"))
    expected = expected_rows(tenant, SANDBOX_NOW, streams=("bookmarks",))["bookmarks"]
    assert set(operations.table("bookmarks")) == set(expected)
