"""The daily quota: a tenant larger than a day's calls is finished by successive syncs, each spending its share,
never more than the quota by the server's own count; a spent quota ends a sync cleanly and the next one carries on
exactly where it stopped; a sync never sleeps for hours.
"""

from __future__ import annotations

from datetime import timedelta

from faultkit import VirtualTime, run, sandbox_app
from harness import SANDBOX_NOW, RecordingOperations, assert_matches, expected_rows

from egnyte_async.budget import MIN_CALLS_PER_SYNC
from tests.logs import RecordingLog

TENANT = {"users": 40, "groups": 12, "members_per_group": 3, "notes": 150, "bookmarks_per_user": 1}
STREAMS = ("users", "groups", "notes", "bookmarks")
HOUR = 3600.0


def server_day_calls(app) -> int:
    budget = app.state.sandbox.limiter._budgets.get(app.state.sandbox.config.static_token)
    return budget.day_calls if budget else 0


def test_a_tenant_larger_than_a_days_quota_is_finished_by_successive_syncs_within_the_quota():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, daily_quota=40)
    sandbox = app.state.sandbox
    operations = RecordingOperations()
    state = None
    share = max(10, MIN_CALLS_PER_SYNC)  # 40 calls a day, a sync every 6 hours: 10, raised to the floor
    syncs = []
    for _ in range(30):
        log = RecordingLog()
        before = sandbox.stats.api_requests
        report = run(
            app, state, operations, time, log=log, now=time.wall(), streams=STREAMS, max_records_per_page=10,
            daily_request_limit=40, sync_frequency_hours=6,
        )  # fmt: skip
        state = operations.last_state
        spent = sandbox.stats.api_requests - before
        syncs.append((time.wall(), spent, server_day_calls(app), sorted(report.stopped)))
        assert spent <= share, syncs[-1]
        assert server_day_calls(app) <= 40
        assert state["quota"]["calls"] == server_day_calls(app)  # the connector's count is the server's
        if not report.stopped:
            break
        warning = next(text for text in log.texts("warning") if "budget for this sync is spent" in text)
        assert "the quota resets around" in warning and "Stopped early, everything fetched is written" in warning
        assert any(f"the next sync {verb}" in warning for verb in ("resumes at", "starts", "goes on with"))
        assert all(f"{name}: " in warning for name in report.stopped)
        time.advance(6 * HOUR)
    else:
        raise AssertionError(f"the tenant was never finished: {syncs}")

    assert sandbox.stats.throttled_quota == 0  # not one call beyond the quota was even attempted
    assert time.slept == []  # nothing was waited out inside a sync
    days = {moment.date() for moment, *_ in syncs}
    assert len(syncs) > 4 and len(days) >= 2, syncs  # more than a day's quota: several days of syncs
    assert sum(spent for _, spent, *_ in syncs) > 40
    compared = assert_matches(operations.table, expected_rows(sandbox.tenant, SANDBOX_NOW))
    assert compared == len(operations.committed) > 190  # (deactivated users have no listable bookmarks)


def test_egnytes_over_rate_answer_stops_the_sync_cleanly_and_the_next_sync_continues_where_it_stopped():
    """The connector believes it has 1,000 calls; the server allows 30 and sends no quota headers."""
    time = VirtualTime()
    app = sandbox_app(time, TENANT, daily_quota=30, accesstoken_headers=False)
    sandbox = app.state.sandbox
    options = {
        "max_records_per_page": 10,
        "daily_request_limit": 1000,
        "sync_frequency_hours": 24,
        "max_concurrent_requests": 4,
    }
    operations = RecordingOperations()
    log = RecordingLog()
    report = run(app, None, operations, time, log=log, now=time.wall(), **options)
    assert report.stopped and set(report.stopped) | set(report.finished) == set(STREAMS)
    assert server_day_calls(app) == 30
    assert 1 <= sandbox.stats.throttled_quota <= options["max_concurrent_requests"]  # only the ones in flight
    assert report.quota_resets_at == SANDBOX_NOW + timedelta(days=1)
    warning = next(text for text in log.texts("warning") if "budget for this sync is spent" in text)
    assert "the quota resets around 2026-11-02 00:00 UTC" in warning
    assert max(time.slept, default=0.0) == 0.0
    saved = operations.last_state
    assert operations.pending == {}
    rows_after_first = len(operations.committed)
    assert rows_after_first > 0

    # Still the same day: one refused call, nothing written, nothing lost.
    time.advance(HOUR)
    again = RecordingOperations(operations.committed)
    refused_before = sandbox.stats.throttled_quota
    report = run(app, saved, again, time, now=time.wall(), **options)
    assert report.stopped and sandbox.stats.throttled_quota == refused_before + 1
    assert again.upserts == 0 and again.last_state["streams"] == saved["streams"]

    # The next day it carries on from the saved positions, not from the start.
    time.advance(24 * HOUR)
    first_request = len(sandbox.requests)
    state = saved
    for _ in range(10):
        report = run(app, state, operations, time, now=time.wall(), **options)
        if state is saved:
            resumed = sandbox.requests[first_request:]
            users_scan = saved["streams"]["users"].get("scan")
            if users_scan:
                first_users = next(r for r in resumed if r.path == "/pubapi/v2/users")
                assert int(first_users.query["startIndex"]) == users_scan["index"]
            notes_scan = saved["streams"]["notes"].get("scan")
            if notes_scan:
                first_notes = next(r for r in resumed if r.path == "/pubapi/v1/notes")
                assert int(first_notes.query["offset"]) == notes_scan["position"]["index"]
        state = operations.last_state
        if not report.stopped:
            break
        time.advance(24 * HOUR)
    assert not report.stopped
    assert_matches(operations.table, expected_rows(sandbox.tenant, SANDBOX_NOW))


def test_the_quota_headers_tighten_the_connectors_own_count():
    """Another client of the same token spent 25 of the day's 40 calls: the headers tell, the connector stops at
    the server's limit without a refused call, although its own count allows 40."""
    time = VirtualTime()
    app = sandbox_app(time, TENANT, daily_quota=40)
    sandbox = app.state.sandbox
    for _ in range(25):
        sandbox.limiter.admit(sandbox.config.static_token)
    operations = RecordingOperations()
    report = run(app, None, operations, time, now=time.wall(), max_records_per_page=10, daily_request_limit=40)
    assert report.stopped
    assert server_day_calls(app) == 40
    assert sandbox.stats.throttled_quota == 0
    assert operations.last_state["quota"]["calls"] == 15


def test_a_throttle_asking_for_hours_ends_the_sync_like_a_spent_quota():
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    notes_pages = 0

    async def throttling(scope, receive, send):
        nonlocal notes_pages
        if scope["type"] == "http" and scope["path"] == "/pubapi/v1/notes":
            notes_pages += 1
            if notes_pages > 2:
                headers = [(b"retry-after", b"7200"), (b"content-type", b"application/json")]
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": b'{"errorMessage": "Too Many Requests"}'})
                return
        await app(scope, receive, send)

    operations = RecordingOperations()
    log = RecordingLog()
    report = run(throttling, None, operations, time, log=log, streams=("notes",), max_records_per_page=10)
    assert report.stopped == {"notes": report.stopped["notes"]} and "7200" in report.stopped["notes"]
    assert max(time.slept, default=0.0) <= 1.0  # never slept the two hours
    assert notes_pages <= 3 + 4  # stopped asking: at most the pages already in flight were refused
    assert operations.last_state["streams"]["notes"]["scan"]["position"]["index"] > 0
    assert any(
        "throttle asked to pause for 7200 s" in text and "it lifts around" in text for text in log.texts("warning")
    )


def test_with_auto_the_daily_limit_is_the_one_egnyte_states_above_or_below_its_default():
    """daily_request_limit auto: Egnyte's 1,000 a day until the first answer, then the quota the server states."""
    for quota, spent_above in ((3000, 1000 // 24 + 1), (40, None)):
        time = VirtualTime()
        app = sandbox_app(time, TENANT, daily_quota=quota)
        sandbox = app.state.sandbox
        operations = RecordingOperations()
        log = RecordingLog()
        report = run(
            app, None, operations, time, log=log, now=time.wall(), max_records_per_page=10, daily_request_limit=None,
            sync_frequency_hours=1,
        )  # fmt: skip
        spent = sandbox.stats.api_requests
        assert sandbox.stats.throttled_quota == 0  # never a call beyond the quota
        assert operations.last_state["quota"]["allotted"] == quota
        assert operations.last_state["quota"]["calls"] == server_day_calls(app) == spent
        assert report.stated_quota == report.daily_limit == quota
        [summary] = [text for text in log.texts("info") if text.startswith("sync summary")]
        assert f"{quota:,} calls a day (Egnyte states {quota:,}; daily_request_limit=auto)" in summary
        if spent_above is not None:  # raised: more than an hour's share of Egnyte's default 1,000
            assert spent > spent_above
        else:  # lowered: an hour's share of 40 is below the floor, the floor takes what the day allows
            assert report.stopped and spent <= 40


def test_the_day_ends_at_midnight_gmt_for_the_connector_as_for_egnyte():
    """The day's quota is spent at 22:00 GMT; three hours later (01:00) a new day has begun for both sides: the
    next sync carries on, where a 24-hour window from the first call would have waited until 22:00."""
    time = VirtualTime()
    time.advance(22 * HOUR)
    app = sandbox_app(time, TENANT, daily_quota=40, wall_clock=time.wall)  # the sandbox's day starts at 22:00 too
    sandbox = app.state.sandbox
    options = {"max_records_per_page": 10, "daily_request_limit": None, "sync_frequency_hours": 24}
    operations = RecordingOperations()
    report = run(app, None, operations, time, now=time.wall(), **options)
    assert report.stopped and server_day_calls(app) == 40
    saved = operations.last_state
    assert saved["quota"]["window_ends"] == "2026-11-02T00:00:00Z"
    assert report.quota_day_ends == SANDBOX_NOW + timedelta(days=1)

    time.advance(3 * HOUR)
    before = sandbox.stats.api_requests
    run(app, saved, operations, time, now=time.wall(), **options)
    assert sandbox.stats.api_requests - before > 1  # not stopped before its first page
    assert sandbox.stats.throttled_quota == 0
    assert operations.last_state["quota"]["window_started"] == "2026-11-02T00:00:00Z"
    assert operations.last_state["quota"]["calls"] == server_day_calls(app)
