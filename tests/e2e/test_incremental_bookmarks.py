"""Bookmarks are listed only where they can have changed: users never listed, users active since the last complete
pass began (by the users listing's `lastActiveDate`), users without a `lastActiveDate`, and a share of the users each
sync (`bookmarks_refresh_days`). Every other user costs no call, and their bookmarks stay live.

The expectations are computed here from the tenant's own records and the documented rule (a crc32 of the user id
picks each user's turn among the syncs of the period; here a sync a day), not through the connector's code.
"""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from faultkit import VirtualTime, run, sandbox_app
from harness import RecordingOperations, assert_matches, expected_rows

from egnyte_async.streams import bookmarks as bookmarks_stream
from egnyte_async.streams.bookmarks import ACTIVITY_MARGIN
from egnyte_sandbox.dates import to_ms
from tests.logs import RecordingLog

TENANT = {"users": 400, "groups": 2, "notes": 0, "bookmarks_per_user": 2}
STREAMS = ("users", "bookmarks")
DAY_S = 86_400.0
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def acted_as(app) -> set[str]:
    """Whom the bookmarks calls since the last reset acted as (a listing may take more than one call: a second page,
    or the page cap being learnt)."""
    return {
        record.headers.get("x-egnyte-act-as") or record.headers.get("x-egnyte-act-as-email") or "(token user)"
        for record in app.state.sandbox.requests
        if record.path == "/pubapi/v1/bookmarks"
    }


def day_of(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds() // DAY_S)


def refresh_day(user_id: int, day: int, days: int) -> bool:
    """The documented rule, with a sync a day (a tick is a day): `day % days == crc32(id) % days`."""
    return day % days == zlib.crc32(str(user_id).encode()) % days


def active_users(tenant) -> dict[str, dict]:
    """The users Egnyte can act as, canonical (lastActiveDate in epoch ms or None), by username."""
    return {user["userName"]: user for user in tenant.canonical_users() if user["active"]}


def expected_listed(
    tenant, previous_start: datetime, today: int, days: int, new: set[str] = frozenset(), lately: set[str] = frozenset()
) -> set[str]:
    """Whose bookmarks an incremental pass must list (a null lastActiveDate: the user never signed in, nothing of
    theirs changed); `lately`: users listed in the half period before today, who skip their refresh turn."""
    since = to_ms(previous_start - ACTIVITY_MARGIN)
    return {
        name
        for name, user in active_users(tenant).items()
        if name in new
        or (user.get("lastActiveDate") is not None and user["lastActiveDate"] >= since)
        or (refresh_day(user["id"], today, days) and name not in lately)
    }


def half_period(days: int) -> int:
    """The days before a refresh turn in which a listing makes the user skip it: half the period, a day at least."""
    return max(1, days // 2)


def new_sandbox(time: VirtualTime, **config):
    return sandbox_app(time, {**TENANT, **config.pop("tenant", {})}, wall_clock=time.wall, **config)


def test_a_quiet_sync_lists_only_the_users_active_since_the_last_scan_began_and_keeps_the_others_live():
    time = VirtualTime()
    app = new_sandbox(time)
    sandbox, tenant = app.state.sandbox, app.state.sandbox.tenant
    operations = RecordingOperations()
    first_start = time.wall()
    run(app, None, operations, time, now=first_start, streams=STREAMS, bookmarks_refresh_days=7)
    everyone = active_users(tenant)
    assert acted_as(app) == set(everyone)  # the first sync lists every user Egnyte can act as
    assert_matches(operations.table, expected_rows(tenant, first_start, streams=STREAMS), tables=("bookmarks",))

    # A day later, 5% of the users were active after the first scan began; two of them changed their bookmarks.
    time.advance(DAY_S)
    rng = random.Random(5)
    touched = rng.sample(sorted(everyone), len(everyone) // 20)
    for name in touched:
        tenant.touch_user(name, to_ms(first_start + timedelta(hours=3)))
    owners = [name for name in touched if tenant.bookmark_count_of(name)]
    removed = tenant.remove_bookmark(owners[0], 0)
    added = tenant.add_bookmark(owners[1])
    newcomer = tenant.add_user()
    assert newcomer is not None
    sandbox.reset_stats()
    second_start = time.wall()
    log = RecordingLog()
    report = run(app, operations.last_state, operations, time, now=second_start, log=log, streams=STREAMS,
                 bookmarks_refresh_days=7)  # fmt: skip

    listed = acted_as(app)
    # Everyone was listed a day before, within the half period before their turn: no refresh is due.
    want = expected_listed(tenant, first_start, day_of(second_start), 7, {newcomer["userName"]}, set(everyone))
    assert listed == want  # and no one else asked
    assert set(touched) & set(active_users(tenant)) <= listed
    assert len(listed) < len(everyone) / 3  # 5% active, a seventh due for the refresh, the undated, the newcomer
    # Nothing existing is deleted: the bookmarks of the users not asked stay live; the one removed is deleted.
    assert operations.deleted("bookmarks") == {(removed["id"],)}
    assert report.deleted_by_table == {"bookmarks": 1}
    assert_matches(operations.table, expected_rows(tenant, second_start, streams=STREAMS), tables=("bookmarks",))
    assert (added["id"],) in operations.table("bookmarks")
    summary = [line for line in log.texts("info") if "asked for the bookmarks of" in line]
    assert len(summary) == 1 and f"asked for the bookmarks of {len(listed)} user(s)" in summary[0]


def test_a_user_active_while_a_refresh_spans_syncs_is_listed_by_the_next_sync_before_the_refresh_goes_on():
    """The refresh's pass spans several syncs under a short quota; a user it already listed who then changes a
    bookmark is listed by the next sync's signaled tier (their lastActiveDate moved), ahead of the refresh."""
    time = VirtualTime()
    app = new_sandbox(time)
    sandbox, tenant = app.state.sandbox, app.state.sandbox.tenant
    operations = RecordingOperations()
    calls = run(app, None, operations, time, now=time.wall(), streams=STREAMS, bookmarks_refresh_days=1).requests

    # Every user is due each day (a refresh every day) and each sync may spend half a full sync's calls: the refresh
    # takes several syncs, a day apart.
    options = {"bookmarks_refresh_days": 1, "daily_request_limit": max(30, calls // 2), "sync_frequency_hours": 24}
    state, passed = operations.last_state, None
    for _ in range(10):
        time.advance(25 * 3600)
        sandbox.reset_stats()
        report = run(app, state, operations, time, now=time.wall(), streams=STREAMS, **options)
        state = operations.last_state
        saved = bookmarks_stream.read_state(state["streams"]["bookmarks"], RecordingLog())
        if report.stopped and saved.refresh_tick is not None:
            refreshed = saved.refresh_done.as_set()
            names = {user["id"]: user["userName"] for user in tenant.canonical_users()}
            passed = next(names[i] for i in sorted(refreshed) if i in names and tenant.bookmark_count_of(names[i]))
            break
    assert passed is not None, "the refresh never spanned syncs"
    removed = tenant.remove_bookmark(passed, 0)  # the edit moves their lastActiveDate
    assert (removed["id"],) in operations.table("bookmarks")  # the refresh had listed them before the edit

    time.advance(DAY_S)
    sandbox.reset_stats()
    run(app, state, operations, time, now=time.wall(), streams=STREAMS, **options)
    assert passed in acted_as(app)
    assert (removed["id"],) in operations.deleted("bookmarks")


def test_users_without_a_last_active_date_are_listed_every_sync_and_the_log_says_why_once():
    time = VirtualTime()
    app = new_sandbox(time, tenant={"users": 120}, optional_user_dates=False)
    tenant = app.state.sandbox.tenant
    operations = RecordingOperations()
    run(app, None, operations, time, now=time.wall(), streams=STREAMS)
    for _ in range(2):
        time.advance(DAY_S)
        app.state.sandbox.reset_stats()
        log = RecordingLog()
        run(app, operations.last_state, operations, time, now=time.wall(), log=log, streams=STREAMS,
            max_concurrent_requests=8)  # fmt: skip
        assert acted_as(app) == set(active_users(tenant))
        said = [line for line in log.texts("info") if "gives no lastActiveDate" in line]
        assert len(said) == 1


def test_the_periodic_refresh_lists_about_one_user_in_n_a_day_and_everyone_within_one_and_a_half_periods():
    """A user's turn comes once in `bookmarks_refresh_days`; one listed in the half period before it (the first
    sync listed everyone) skips it, so nobody goes more than 1.5 periods without a listing."""
    days = 7
    time = VirtualTime()
    app = new_sandbox(time)
    tenant = app.state.sandbox.tenant
    operations = RecordingOperations()
    run(app, None, operations, time, now=time.wall(), streams=STREAMS, bookmarks_refresh_days=days)
    previous = time.wall()
    everyone = active_users(tenant)
    first_day = day_of(previous)
    last_listed = dict.fromkeys(everyone, first_day)
    dated = {name for name, user in everyone.items() if user.get("lastActiveDate") is not None}
    refreshed: set[str] = set()
    for _ in range(days + half_period(days)):
        time.advance(DAY_S)
        app.state.sandbox.reset_stats()
        now = time.wall()
        today = day_of(now)
        run(app, operations.last_state, operations, time, now=now, streams=STREAMS, bookmarks_refresh_days=days)
        listed = acted_as(app)
        lately = {name for name, day in last_listed.items() if day > today - half_period(days)}
        assert listed == expected_listed(tenant, previous, today, days, lately=lately)
        since = to_ms(previous - ACTIVITY_MARGIN)
        due = {name for name in listed & dated if everyone[name]["lastActiveDate"] < since}
        if today > first_day + half_period(days):  # before, everyone skips: the first sync listed them all
            assert len(dated) / days * 0.6 <= len(due) <= len(dated) / days * 1.4, len(due)
        refreshed |= due
        last_listed.update(dict.fromkeys(listed, today))
        previous = now
    assert refreshed == {name for name in dated if everyone[name]["lastActiveDate"] < to_ms(previous)}
    assert max(day_of(previous) - day for day in last_listed.values()) < days * 1.5
    assert_matches(operations.table, expected_rows(tenant, time.wall(), streams=STREAMS), tables=("bookmarks",))
    assert not operations.deleted("bookmarks")


@pytest.mark.parametrize("release", ["oldest", "last"])
def test_a_state_of_an_earlier_release_is_read(release):
    """A state written before the scans' starts were kept: the next pass lists every user (nothing tells since when
    they were quiet), and the one after is incremental. The last release's (`previous_scan_started`): incremental at
    once."""
    time = VirtualTime()
    app = new_sandbox(time, tenant={"users": 150})
    tenant = app.state.sandbox.tenant
    operations = RecordingOperations()
    run(app, None, operations, time, now=time.wall(), streams=STREAMS)
    old = operations.last_state
    bookmarks = old["streams"]["bookmarks"]
    started = bookmarks.pop("previous_pass_started")
    if release == "last":
        bookmarks["previous_scan_started"] = started
    everyone = active_users(tenant)
    for expect_all in (release == "oldest", False):
        time.advance(DAY_S)
        app.state.sandbox.reset_stats()
        run(app, old, operations, time, now=time.wall(), streams=STREAMS, bookmarks_refresh_days=365)
        listed = acted_as(app)
        assert (listed == set(everyone)) is expect_all
        old = operations.last_state
    assert_matches(operations.table, expected_rows(tenant, time.wall(), streams=STREAMS), tables=("bookmarks",))
    assert not operations.deleted("bookmarks")
