"""Whose bookmarks a sync can list: deactivated users (not asked), users deleted while the sync runs (skipped with
a warning), and users whose userName is not ASCII (acted as by e-mail address, or skipped with a warning)."""

from __future__ import annotations

import pytest
from faultkit import VirtualTime, run, sandbox_app
from harness import SANDBOX_NOW, RecordingOperations, assert_matches, expected_rows

from tests.logs import RecordingLog

TENANT = {"users": 60, "groups": 2, "notes": 10, "bookmarks_per_user": 3}


def acted_as(app) -> list[str]:
    """Whom the bookmarks calls acted as (by username or by e-mail address)."""
    return [
        record.headers.get("x-egnyte-act-as") or record.headers.get("x-egnyte-act-as-email") or "(token user)"
        for record in app.state.sandbox.requests
        if record.path == "/pubapi/v1/bookmarks"
    ]


@pytest.mark.parametrize("delays", [None, [7, 0, 3, 0, 0, 5, 1]], ids=["in order", "shuffled"])
def test_deactivated_and_deleted_users_are_skipped_and_the_sync_finishes(delays):
    """Deactivated users (8 here, 3 of them on the first page) and 4 users of the first page deleted right after
    it was served: with 16 listings at once their refusals are among the first answers, as on the tenant where
    every fresh sync failed with "needs an administrator's token"."""
    time = VirtualTime()
    app = sandbox_app(time, TENANT, users_deleted_after_listing=4)
    sandbox = app.state.sandbox
    tenant = sandbox.tenant
    everyone = {user["userName"]: user for user in tenant.iter_users()}
    deactivated = [name for name, user in everyone.items() if not user["active"]]
    operations = RecordingOperations()
    log = RecordingLog()
    report = run(
        app, None, operations, time, log=log, delays=delays, streams=("bookmarks",), max_concurrent_requests=16
    )

    assert report.finished == ["bookmarks"], report
    departed = [name for name in sandbox.departed if everyone[name]["active"]]
    assert len(deactivated) >= 3 and len(departed) >= 3
    assert_matches(operations.table, expected_rows(tenant, SANDBOX_NOW, streams=("bookmarks",)), ("bookmarks",))
    # A deactivated user is not asked (a call saved) and is named in one summary line, not in a warning each.
    assert not set(deactivated) & set(acted_as(app))
    summary = [text for text in log.texts("info") if "deactivated" in text]
    assert len(summary) == 1
    assert summary[0].startswith(f"bookmarks: not listed for {len(deactivated)} deactivated user(s)")
    assert all(name in summary[0] for name in deactivated)
    # A user deleted after the users listing named them is skipped with a warning naming them.
    warnings = log.texts("warning")
    assert len(warnings) == len(departed)
    assert all(any(name in text and "404" in text for text in warnings) for name in departed)


def test_users_named_in_non_ascii_are_acted_as_by_email_address():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, usernames="unicode")
    tenant = app.state.sandbox.tenant
    named_in_unicode = [u for u in tenant.iter_users() if not u["userName"].isascii() and u["active"]]
    assert len(named_in_unicode) >= 5
    operations = RecordingOperations()
    log = RecordingLog()
    report = run(app, None, operations, time, log=log)

    assert sorted(report.finished) == ["bookmarks", "groups", "notes", "users"]
    assert_matches(operations.table, expected_rows(tenant, SANDBOX_NOW))
    assert not log.texts("warning")
    assert {u["email"] for u in named_in_unicode} <= set(acted_as(app))
    creators = {row["creator"] for row in operations.table("bookmarks").values()}
    assert {u["userName"] for u in named_in_unicode if tenant.bookmark_count_of(u["userName"])} <= creators


def test_users_whose_username_and_email_are_not_ascii_are_skipped_with_a_warning():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, usernames="unicode_email")
    tenant = app.state.sandbox.tenant
    unreachable = [u["userName"] for u in tenant.iter_users() if not u["email"].isascii() and u["active"]]
    assert len(unreachable) >= 5
    operations = RecordingOperations()
    log = RecordingLog()
    report = run(app, None, operations, time, log=log, streams=("bookmarks",))

    assert report.finished == ["bookmarks"]
    expected = expected_rows(tenant, SANDBOX_NOW, streams=("bookmarks",))["bookmarks"]
    assert_matches(
        operations.table,
        {"bookmarks": {key: row for key, row in expected.items() if row["creator"] not in unreachable}},
    )
    warnings = log.texts("warning")
    assert len(warnings) == len(unreachable)
    assert all(any(repr(name) in text and "ASCII" in text for text in warnings) for name in unreachable)
