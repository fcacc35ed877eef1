"""Faults against the sandbox: every fault kind, at several rates, on each table; each sync's destination is compared
row by row with the tenant. Then the limits of retrying: a request that keeps failing, a Retry-After longer than
the time budget, an expiring token, a throttled token endpoint, and real timeouts and resets over a socket.

Everything runs on virtual time (`faultkit.VirtualTime`): backoffs, Retry-Afters and timeouts cost nothing.
"""

from __future__ import annotations

import pytest
from faultkit import TimeoutASGITransport, VirtualTime, refresh_credentials, run, sandbox_app
from harness import SANDBOX_NOW, RecordingOperations, assert_matches, expected_rows

from egnyte_async.client import EgnyteClient
from egnyte_async.pipeline import SyncFailedError
from egnyte_async.settings import Settings
from egnyte_async.streams import groups as groups_stream
from egnyte_sandbox import FAULT_KINDS, FaultPlan, SandboxConfig, run_server
from tests.logs import RecordingLog

TENANT = {"users": 48, "groups": 26, "members_per_group": 3, "notes": 150, "bookmarks_per_user": 2}
#: What each table's requests start with; groups covers the listing and the detail calls.
TABLE_PATHS = {
    "users": ("/pubapi/v2/users",),
    "groups": ("/pubapi/v2/groups",),
    "notes": ("/pubapi/v1/notes",),
    "bookmarks": ("/pubapi/v1/bookmarks",),
}
RATES = (0.1, 0.3)
#: Small pages and checkpoints, so that faults land on many pages and between checkpoints.
SYNC = {"max_records_per_page": 6, "checkpoint_rows": 10, "retry_attempts": 10, "max_concurrent_requests": 4}


def expected(app, streams):
    return expected_rows(app.state.sandbox.tenant, SANDBOX_NOW, streams=streams)


@pytest.mark.parametrize("table", list(TABLE_PATHS))
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_matrix_loses_no_row(kind, rate, table):
    time = VirtualTime()
    plan = FaultPlan(rate=rate, kinds=(kind,), paths=TABLE_PATHS[table], expire_static=True)
    app = sandbox_app(time, TENANT, faults=plan)
    operations = RecordingOperations()
    log = RecordingLog()
    extra = refresh_credentials(app) if kind == "expire_token" else {}
    # A user's bookmarks fit one page of 6: pages of 2 give the repeat_page fault a page before to repeat.
    options = {**SYNC, "max_records_per_page": 2} if table == "bookmarks" else SYNC
    report = run(app, None, operations, time, log=log, streams=(table,), **options, **extra)

    injected = app.state.sandbox.stats.faults[kind]
    assert injected > 0, "the fault was never drawn: the cell proves nothing"
    assert report.finished == [table] and not report.stopped
    compared = assert_matches(operations.table, expected(app, (table,)))
    assert compared > 0
    if kind == "expire_token":
        assert report.refreshes >= 1
    elif kind != "repeat_page":
        assert report.retries >= injected  # each fault cost a retry, none was taken for data
    assert not log.texts("warning"), log.texts("warning")


#: Each table's own listing (the users listing is read by the bookmarks stream too).
LISTINGS = {
    "users": "/pubapi/v2/users",
    "groups": "/pubapi/v2/groups",
    "notes": "/pubapi/v1/notes",
    "bookmarks": "/pubapi/v1/bookmarks",
}


def test_every_fault_kind_at_once_on_every_table():
    """Every kind is pinned on every table's listing by the sandbox's per-path schedule, at its 2nd, 4th ... 22nd
    request (150 groups and 300 notes: every listing takes many more). A kind that cannot apply where it falls (no
    page before it to repeat, a token already revoked) goes to a later request to the same listing, so every kind
    lands on every table however the four tables' requests interleave.

    Random faults come on top, on every path (group details and the token endpoint too): at a rate low enough that a
    page retried alone on its listing, meeting a pinned kind every other attempt, does not run out of its 11; and
    without expire_token, so that the token is revoked exactly four times and each listing soon has a page to repeat
    under the current one (for bookmarks, listed user by user: the users with 6, whose listing takes two pages).
    """
    time = VirtualTime()
    every_kind = {path: {2 + 2 * i: kind for i, kind in enumerate(FAULT_KINDS)} for path in LISTINGS.values()}
    random_kinds = tuple(kind for kind in FAULT_KINDS if kind != "expire_token")
    plan = FaultPlan(rate=0.1, kinds=random_kinds, path_schedule=every_kind, expire_static=True)
    tenant = {**TENANT, "users": 150, "groups": 150, "notes": 300, "bookmarks_per_user": 3}
    app = sandbox_app(time, tenant, faults=plan)
    operations = RecordingOperations()
    report = run(app, None, operations, time, **SYNC, **refresh_credentials(app))
    assert sorted(report.finished) == ["bookmarks", "groups", "notes", "users"]
    faults = app.state.sandbox.stats.faults
    assert set(faults) == set(FAULT_KINDS), faults
    for table, path in LISTINGS.items():
        injected = {r.fault for r in app.state.sandbox.requests if r.path == path and r.fault}
        assert injected == set(FAULT_KINDS), (table, sorted(set(FAULT_KINDS) - injected))
    streams = ("users", "groups", "notes", "bookmarks")
    assert assert_matches(operations.table, expected(app, streams)) > 400


def test_a_request_failing_beyond_retry_attempts_fails_the_sync_after_checkpointing():
    time = VirtualTime()
    # One stream, one request at a time: request n is the n-th call. 1 is userinfo, 2.. are users pages (8 a
    # page, 7 apart); the page at startIndex 29 (request 6) and its 2 retries all answer 503.
    plan = FaultPlan(schedule={6: "503", 7: "503", 8: "503"})
    app = sandbox_app(time, TENANT, faults=plan)
    operations = RecordingOperations()
    options = {
        **SYNC,
        "max_records_per_page": 8,
        "max_concurrent_requests": 1,
        "read_ahead_pages": 1,
        "retry_attempts": 2,
        "checkpoint_rows": 1,
    }
    with pytest.raises(SyncFailedError) as failed:
        run(app, None, operations, time, streams=("users",), **options)
    message = str(failed.value)
    assert message.startswith("users: ")
    assert "users page at startIndex=29" in message and "GET /pubapi/v2/users" in message
    assert "failed after 3 attempt(s)" in message and "503" in message and "Service Temporarily Unavailable" in message

    # Everything before the failing page was written and its position saved: 4 pages of 8 overlapping by one.
    users = sorted(key[0] for key in operations.table("users"))
    tenant_ids = [user["id"] for user in app.state.sandbox.tenant.iter_users()]
    assert users == tenant_ids[:29]
    assert not operations.pending
    assert operations.last_state["streams"]["users"]["scan"]["index"] == 29

    # The next sync, the fault gone, starts at that page and ends with the tenant.
    before = len(app.state.sandbox.requests)
    report = run(app, operations.last_state, operations, time, streams=("users",), **options)
    assert report.finished == ["users"]
    first_page = next(r for r in app.state.sandbox.requests[before:] if r.path == "/pubapi/v2/users")
    assert first_page.query["startIndex"] == "29"
    assert_matches(operations.table, expected(app, ("users",)), tables=["users"])


def test_a_group_detail_that_keeps_failing_names_the_group_and_keeps_the_groups_before_it():
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    tenant = app.state.sandbox.tenant
    groups = list(tenant.iter_groups())
    broken = groups[5]["id"]
    app.state.sandbox.faults.plan = FaultPlan(rate=1.0, kinds=("502",), paths=(f"/pubapi/v2/groups/{broken}",))
    operations = RecordingOperations()
    options = {**SYNC, "max_concurrent_requests": 1, "retry_attempts": 3, "checkpoint_rows": 1}
    with pytest.raises(SyncFailedError) as failed:
        run(app, None, operations, time, streams=("groups",), **options)
    message = str(failed.value)
    assert f"groups: members of group {broken}: GET /pubapi/v2/groups/{broken} failed after 4 attempt(s)" in message
    assert "502 Bad Gateway" in message
    # Every group's row came with the listing; the members of the groups before the broken one are written.
    assert sorted(key[0] for key in operations.table("groups")) == sorted(group["id"] for group in groups)
    assert {key[0] for key in operations.table("group_members")} == {
        group["id"] for group in groups[:5] if tenant.group_members(group["id"])
    }
    saved = groups_stream.read_state(operations.last_state["streams"]["groups"], RecordingLog())
    assert saved.done.as_set() == {group["id"] for group in groups[:5]}

    app.state.sandbox.faults.plan = FaultPlan()
    before = len(app.state.sandbox.requests)
    run(app, operations.last_state, operations, time, streams=("groups",), **options)
    details = [r.path.rsplit("/", 1)[1] for r in app.state.sandbox.requests[before:] if r.path.count("/") == 4]
    assert details == [group["id"] for group in groups[5:]]  # resumed at the failed group, nothing redone
    assert_matches(operations.table, expected(app, ("groups",)), tables=["groups", "group_members"])


def test_retries_never_sleep_past_the_time_budget():
    """A gateway asking for an hour between retries: the request gives up at once, within its time budget, rather
    than sleep a quarter of an hour (or hours) inside the sync."""
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    asked = 0

    async def always_503(scope, receive, send):
        nonlocal asked
        if scope["type"] == "http" and scope["path"] == "/pubapi/v1/notes":
            asked += 1
            await send({"type": "http.response.start", "status": 503, "headers": [(b"retry-after", b"3600")]})
            await send({"type": "http.response.body", "body": b"<h1>Down for maintenance</h1>"})
            return
        await app(scope, receive, send)

    operations = RecordingOperations()
    options = {**SYNC, "retry_attempts": 10, "request_timeout_seconds": 30.0}
    with pytest.raises(SyncFailedError) as failed:
        run(always_503, None, operations, time, streams=("notes",), **options)
    assert "notes: notes page at offset=0: GET /pubapi/v1/notes failed after 1 attempt(s)" in str(failed.value)
    assert "503 (Down for maintenance)" in str(failed.value)
    assert asked == 1 and time.slept == []


def test_token_expiry_mid_sync_costs_one_refresh_shared_by_every_request_in_flight():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, faults=FaultPlan(schedule={12: "expire_token"}, expire_static=True))
    operations = RecordingOperations()
    options = {**SYNC, "max_concurrent_requests": 8}
    report = run(app, None, operations, time, **options, **refresh_credentials(app))
    stats = app.state.sandbox.stats
    assert stats.faults["expire_token"] == 1
    assert stats.unauthorized >= 2, "only one request saw the expiry: the sharing was not exercised"
    assert stats.token_requests == 1 and report.refreshes == 1
    assert assert_matches(operations.table, expected(app, ("users", "groups", "notes", "bookmarks"))) > 250


def test_a_throttled_token_endpoint_is_waited_out_when_its_retry_after_is_short():
    time = VirtualTime()
    plan = FaultPlan(schedule={5: "expire_token"}, expire_static=True)
    app = sandbox_app(time, TENANT, token_requests_per_hour=1, faults=plan)
    credentials = refresh_credentials(app)
    first = RecordingOperations()
    run(app, None, first, time, streams=("users",), **SYNC, **credentials)  # refreshes once: the hour's only call
    assert app.state.sandbox.stats.token_requests == 1

    # 58 minutes later the configured (static) token is still dead: the refresh is throttled for about 2 minutes.
    time.advance(58 * 60)
    second = RecordingOperations()
    report = run(app, None, second, time, streams=("users",), **SYNC, **credentials)
    stats = app.state.sandbox.stats
    assert stats.token_throttled == 1 and report.refreshes == 1
    assert 120.0 in time.slept  # the Retry-After, slept on virtual time
    assert_matches(second.table, expected(app, ("users",)), tables=["users"])


def test_a_token_endpoint_throttled_for_long_fails_the_sync_with_what_happened_and_no_row_written():
    time = VirtualTime()
    plan = FaultPlan(schedule={5: "expire_token"}, expire_static=True)
    app = sandbox_app(time, TENANT, token_requests_per_hour=1, faults=plan)
    credentials = refresh_credentials(app)
    run(app, None, RecordingOperations(), time, streams=("users",), **SYNC, **credentials)
    time.advance(60)
    operations = RecordingOperations()
    with pytest.raises(SyncFailedError, match=r"throttling token requests \(409\)"):
        run(app, None, operations, time, streams=("users",), **SYNC, **credentials)
    assert operations.upserts == 0
    assert all(not state["streams"] for state in operations.states)
    assert max(time.slept, default=0) <= 120.0  # it never waited the hour

    time.advance(3600)
    report = run(app, None, operations, time, streams=("users",), **SYNC, **credentials)
    assert report.finished == ["users"]
    assert_matches(operations.table, expected(app, ("users",)), tables=["users"])


def test_timeouts_and_resets_over_a_real_socket_are_retried():
    """The same faults through uvicorn on 127.0.0.1: a stalled answer meets httpx's real read timeout, a dropped
    connection a real short read."""
    plan = FaultPlan(schedule={3: "slow", 5: "reset", 7: "truncated", 9: "502"}, slow_s=5.0)
    config = SandboxConfig(**TENANT, qps_limit=None, daily_quota=None, faults=plan)
    with run_server(config) as server:
        time = VirtualTime()  # backoffs only: the socket and its timeout are real
        operations = RecordingOperations()
        options = {**SYNC, "request_timeout_seconds": 0.5, "max_concurrent_requests": 1}
        report = run(server.base_url, None, operations, time, streams=("users", "notes"), **options)
        assert dict(server.stats.faults) == {"slow": 1, "reset": 1, "truncated": 1, "502": 1}
        assert report.retries >= 4  # (more only if a loaded machine made another answer miss the real timeout)
        assert_matches(operations.table, expected(server.app, ("users", "notes")), tables=["users", "notes"])


async def test_the_timeout_transport_raises_read_timeout_for_a_stalled_request():
    """The virtual timeout itself: a stalled request ends in httpx.ReadTimeout after the client's timeout."""
    time = VirtualTime()
    app = sandbox_app(time, TENANT, faults=FaultPlan(schedule={1: "slow"}, slow_s=60.0))
    from datetime import datetime, timezone

    from egnyte_async.budget import QuotaWindow, RequestBudget

    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    options = Settings(
        domain="sandbox", base_url="http://sandbox.local", api_token="sandbox-token", request_timeout_seconds=7.0
    )
    transport = TimeoutASGITransport(app, time)
    client = EgnyteClient(options, RequestBudget(100, 24, QuotaWindow(now), now), transport=transport, clock=time)
    async with client:
        body = await client.get("/pubapi/v1/userinfo", parse=dict, what="userinfo")
    assert body["username"] == "admin"
    assert transport.timeouts == 1 and client.stats.retries == 1
    assert time.now - 10_000.0 >= 7.0


@pytest.mark.parametrize(
    ("seed", "rate", "max_records_per_page", "window"), [(1, 0.5, 9, 1), (1, 0.5, 5, 4), (2, 0.5, 6, 4), (1, 0.2, 3, 4)]
)
def test_pages_served_for_another_position_lose_nothing_on_any_stream(seed, rate, max_records_per_page, window):
    """`repeat_page` serves the last body of the same listing, which under concurrency, or when two streams read
    the same listing (users, and the users behind bookmarks), is often another position's page, the first page
    included: the envelope's own start tells it apart."""
    time = VirtualTime()
    tenant = {"users": 60, "groups": 20, "members_per_group": 2, "notes": 150, "bookmarks_per_user": 4}
    plan = FaultPlan(rate=rate, kinds=("repeat_page", "bad_envelope", "503"))
    app = sandbox_app(time, tenant, faults=plan, seed=seed)
    operations = RecordingOperations()
    options = {"max_records_per_page": max_records_per_page, "max_concurrent_requests": window, "retry_attempts": 10}
    run(app, None, operations, time, **options)
    assert app.state.sandbox.stats.faults["repeat_page"] > 5
    streams = ("users", "groups", "notes", "bookmarks")
    assert_matches(operations.table, expected(app, streams))
