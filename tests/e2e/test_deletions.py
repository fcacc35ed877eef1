"""Records deleted in Egnyte are marked deleted in the destination, and nothing that still exists ever is.

Each test syncs a sandbox tenant, deletes users (with their memberships and bookmarks), whole groups, single
memberships and bookmarks, brings some back, and syncs again, checking after every sync that the live rows are
exactly the tenant's records and that no existing record is marked deleted; once a scan has completed, every
record it did not meet is marked deleted.
"""

from __future__ import annotations

import contextlib
import random

from faultkit import KillableOperations, VirtualTime, run, sandbox_app
from harness import SANDBOX_NOW, Killed, RecordingOperations, assert_matches, expected_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.logs import RecordingLog

TENANT = {"users": 60, "groups": 10, "members_per_group": 6, "notes": 0, "bookmarks_per_user": 3}
STREAMS = ("users", "groups", "bookmarks")
TABLES = ("users", "groups", "group_members", "bookmarks")
HOUR = 3600.0


def existing(app) -> dict[str, dict[tuple, dict]]:
    return expected_rows(app.state.sandbox.tenant, SANDBOX_NOW, streams=STREAMS)


def never_deletes_what_exists(operations: RecordingOperations, app) -> dict[str, dict[tuple, dict]]:
    """No record that exists is marked deleted (values may lag behind after an interrupted sync: that is no error)."""
    now = existing(app)
    for table in TABLES:
        wrongly = operations.deleted(table) & set(now[table])
        assert not wrongly, f"{table}: existing records marked deleted: {sorted(wrongly)[:5]}"
    return now


def equals_the_tenant(operations: RecordingOperations, app, ever: dict[str, set]) -> None:
    """After complete scans: live rows are exactly the records, and everything written that is gone is deleted."""
    now = never_deletes_what_exists(operations, app)
    assert_matches(operations.table, now, tables=TABLES)
    for table in TABLES:
        gone = ever[table] - set(now[table])
        assert operations.deleted(table) == gone, f"{table}: deleted {operations.deleted(table)} != gone {gone}"


def remember(operations: RecordingOperations, ever: dict[str, set]) -> None:
    for table in TABLES:
        ever.setdefault(table, set()).update(operations.table(table), operations.deleted(table))


def delete_some_and_bring_some_back(app, rng: random.Random) -> dict[str, int]:
    """Every kind of deletion, and some additions; returns how many of each were made."""
    tenant = app.state.sandbox.tenant
    users = [user for user in tenant.iter_users() if not tenant.is_admin(user["userName"])]
    for user in rng.sample(users, 5):  # with their memberships and their bookmarks
        position = [u["id"] for u in tenant.iter_users()].index(user["id"])
        tenant.remove_user(position)
    groups = list(tenant.iter_groups())
    for group in rng.sample(groups, 2):
        tenant.remove_group([g["id"] for g in tenant.iter_groups()].index(group["id"]))
    memberships = [
        (group["id"], member.ordinal) for group in tenant.iter_groups() for member in tenant.group_members(group["id"])
    ]
    removed_memberships = rng.sample(memberships, 4)
    for group_id, user_id in removed_memberships:
        tenant.remove_member(group_id, user_id)
    owners = [u["userName"] for u in tenant.iter_users() if tenant.bookmark_count_of(u["userName"]) > 0]
    for username in rng.sample(owners, 4):
        tenant.remove_bookmark(username, 0)
    # And back: new users and a group, a membership restored, a bookmark added.
    tenant.add_user()
    tenant.add_user()
    tenant.add_group()
    tenant.restore_member(*removed_memberships[0])
    tenant.add_bookmark(owners[-1])
    return {"users": 5, "groups": 2, "memberships": 4, "bookmarks": 4}


def test_deleted_records_are_marked_deleted_by_the_next_sync_and_nothing_existing_ever_is():
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    operations, ever = RecordingOperations(), {}
    run(app, None, operations, time, streams=STREAMS)
    remember(operations, ever)
    equals_the_tenant(operations, app, ever)
    assert all(not operations.deleted(table) for table in TABLES)

    delete_some_and_bring_some_back(app, random.Random(7))
    log = RecordingLog()
    report = run(app, operations.last_state, operations, time, log=log, streams=STREAMS)
    remember(operations, ever)
    equals_the_tenant(operations, app, ever)
    assert report.deleted_by_table["users"] == 5 and report.deleted_by_table["groups"] == 2
    assert report.deleted_by_table["group_members"] >= 4 and report.deleted_by_table["bookmarks"] >= 4

    # A deleted record that comes back is live again; a quiet sync deletes nothing more.
    again = run(app, operations.last_state, operations, time, streams=STREAMS)
    equals_the_tenant(operations, app, ever)
    assert again.deleted_by_table == {}


def test_a_scan_stopped_by_the_quota_deletes_nothing_that_exists_and_the_next_one_finishes_the_job():
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    operations, ever = RecordingOperations(), {}
    first = run(app, None, operations, time, now=time.wall(), streams=STREAMS)
    remember(operations, ever)
    calls = first.requests

    delete_some_and_bring_some_back(app, random.Random(11))
    stopped = 0
    for _ in range(12):  # a day apart, each with half a full sync's calls
        time.advance(25 * HOUR)
        report = run(
            app, operations.last_state, operations, time, now=time.wall(), streams=STREAMS,
            daily_request_limit=max(30, calls // 2), sync_frequency_hours=24,
            bookmarks_refresh_days=1,  # every user's bookmarks every day: scans as long as the first
        )  # fmt: skip
        remember(operations, ever)
        never_deletes_what_exists(operations, app)
        stopped += bool(report.stopped)
        if not report.stopped and not any(name not in report.finished for name in STREAMS):
            break
    assert stopped >= 1  # the scans did span several syncs
    equals_the_tenant(operations, app, ever)


def mutate_at_random(app, rng: random.Random, count: int) -> None:
    """`count` random deletions and re-creations of users, groups, memberships and bookmarks."""
    tenant = app.state.sandbox.tenant
    for _ in range(count):
        kind = rng.choice(("user-", "user+", "group-", "group+", "member-", "bookmark-", "bookmark+"))
        users = [user["userName"] for user in tenant.iter_users()]
        groups = [group["id"] for group in tenant.iter_groups()]
        if kind == "user-" and len(users) > 2:
            position = rng.randrange(len(users))
            if not tenant.is_admin(users[position]):
                tenant.remove_user(position)
        elif kind == "user+":
            tenant.add_user()
        elif kind == "group-" and groups:
            tenant.remove_group(rng.randrange(len(groups)))
        elif kind == "group+":
            tenant.add_group()
        elif kind == "member-" and groups:
            group_id = rng.choice(groups)
            members = tenant.group_members(group_id)
            if members:
                tenant.remove_member(group_id, rng.choice(members).ordinal)
        elif kind == "bookmark-":
            username = rng.choice(users)
            if tenant.bookmark_count_of(username):
                tenant.remove_bookmark(username, rng.randrange(tenant.bookmark_count_of(username)))
        elif kind == "bookmark+":
            tenant.add_bookmark(rng.choice(users))


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=10**6),
    churn=st.sampled_from([0, 0, 1, 2]),
    syncs=st.lists(
        st.tuples(st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)), st.integers(min_value=0, max_value=8)),
        min_size=1,
        max_size=4,
    ),
)
def test_random_deletions_kills_and_churn_never_delete_what_exists_and_complete_scans_catch_up(seed, churn, syncs):
    """Random deletions and re-creations between syncs (and, with churn, during them), syncs killed anywhere:
    after every sync no existing record is marked deleted; once the tenant stands still and scans complete, the
    destination equals the tenant."""
    time = VirtualTime()
    rng = random.Random(seed)
    app = sandbox_app(time, {**TENANT, "users": 30, "groups": 6}, seed=seed % 1000 + 1, churn_per_list_request=churn)
    operations, ever, state = KillableOperations(), {}, None
    for crash_at, mutations in syncs:
        mutate_at_random(app, rng, mutations)
        upserts = None if crash_at is None else int(crash_at * 150)
        killed = KillableOperations(operations.committed, kill_after_upserts=upserts)
        with contextlib.suppress(Killed):
            run(app, state, killed, time, streams=STREAMS, max_records_per_page=7, checkpoint_rows=9)
        state = killed.last_state or state
        operations = killed.survivor()
        remember(operations, ever)
        never_deletes_what_exists(operations, app)
    app.state.sandbox.config.churn_per_list_request = 0
    for _ in range(2):  # the first may only finish a scan a kill left open
        finishing = KillableOperations(operations.committed)
        run(app, state, finishing, time, streams=STREAMS, max_records_per_page=7)
        state, operations = finishing.last_state, finishing
        remember(operations, ever)
    equals_the_tenant(operations, app, ever)
