"""Group memberships are re-read once in `membership_refresh_hours`, a share of the groups each sync, and a new group
at once; the memberships of groups not re-read stay live, and a removed member is deleted when its group is next
read. Counted in detail calls against the in-process sandbox, on virtual time."""

from __future__ import annotations

from faultkit import VirtualTime, run, sandbox_app
from harness import RecordingOperations, assert_matches, expected_rows

from tests.logs import RecordingLog

TENANT = {"users": 60, "groups": 24, "members_per_group": 5, "notes": 0, "bookmarks_per_user": 0}
STREAMS = ("users", "groups")
HOUR_S = 3600.0
SETTINGS = {"streams": STREAMS, "sync_frequency_hours": 4, "membership_refresh_hours": 24}


def detailed(app) -> list[str]:
    """The groups whose detail was asked since the last reset."""
    prefix = "/pubapi/v2/groups/"
    return [record.path[len(prefix) :] for record in app.state.sandbox.requests if record.path.startswith(prefix)]


def memberships(tenant) -> set[tuple[str, int]]:
    return {
        (group["id"], member.ordinal) for group in tenant.iter_groups() for member in tenant.group_members(group["id"])
    }


def test_over_a_period_every_group_is_read_once_a_share_each_sync_and_removals_land_when_the_group_is_read():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, wall_clock=time.wall)
    sandbox, tenant = app.state.sandbox, app.state.sandbox.tenant
    operations = RecordingOperations()
    time.advance(HOUR_S * 4 - time.wall().timestamp() % (HOUR_S * 4))  # at the start of a tick
    run(app, None, operations, time, now=time.wall(), **SETTINGS)
    assert len(detailed(app)) == 24  # the first sync: every group
    assert set(operations.table("group_members")) == memberships(tenant)

    removed = sorted(memberships(tenant))[0]
    tenant.remove_member(*removed)
    per_sync: list[list[str]] = []
    for k in range(6):  # one period of syncs every 4 hours
        if k == 2:
            new_group = tenant.add_group()
            assert new_group is not None
        sandbox.reset_stats()
        time.advance(4 * HOUR_S)
        run(app, operations.last_state, operations, time, now=time.wall(), **SETTINGS)
        per_sync.append(detailed(app))
        if removed[0] not in [group for share in per_sync for group in share]:
            # Not read yet: every membership synced stays live, the removed one too.
            assert set(operations.table("group_members")) == memberships(tenant) | {removed}
    assert new_group["id"] in per_sync[2]
    old = [group for share in per_sync for group in share if group != new_group["id"]]
    assert sorted(old) == sorted(group["id"] for group in tenant.iter_groups() if group["id"] != new_group["id"])
    assert all(len(share) < 12 for share in per_sync)  # 24 / 6 a sync, about: never all
    new_reads = sum(share.count(new_group["id"]) for share in per_sync)  # at once, and again if its turn came
    assert 1 <= new_reads <= 2
    assert sum(len(share) for share in per_sync) == 24 + new_reads  # instead of 148, every group every sync
    assert operations.deleted("group_members") == {removed}
    assert_matches(operations.table, expected_rows(tenant, time.wall(), streams=STREAMS), tables=("group_members",))


def test_users_carrying_their_groups_give_every_membership_without_a_detail_call():
    time = VirtualTime()
    app = sandbox_app(time, TENANT, wall_clock=time.wall, users_carry_groups=True)
    sandbox, tenant = app.state.sandbox, app.state.sandbox.tenant
    assert any(user.get("groups") for user in tenant.users_page(0, 60))
    operations, log = RecordingOperations(), RecordingLog()
    run(app, None, operations, time, now=time.wall(), log=log, **SETTINGS)
    assert detailed(app) == []
    assert any("come from Egnyte's users listing" in text for text in log.texts("info"))
    assert_matches(
        operations.table,
        expected_rows(tenant, time.wall(), streams=STREAMS),
        tables=("users", "groups", "group_members"),
    )

    # A member removed, another restored, a group added: every sync has them all, still without a detail call.
    removed = sorted(memberships(tenant))[0]
    tenant.remove_member(*removed)
    new_group = tenant.add_group()
    assert new_group is not None
    sandbox.reset_stats()
    time.advance(4 * HOUR_S)
    report = run(app, operations.last_state, operations, time, now=time.wall(), **SETTINGS)
    assert detailed(app) == []
    assert operations.deleted("group_members") == {removed}
    assert report.requests <= 2 + 60 // 20 + 24 // 20 + 2  # the token, the users' pages, the groups' pages
    assert_matches(
        operations.table,
        expected_rows(tenant, time.wall(), streams=STREAMS),
        tables=("users", "groups", "group_members"),
    )
