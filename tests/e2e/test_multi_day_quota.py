"""Days of syncs every 4 hours under Egnyte's default quota (1,000 calls a day), with the tenant changing in between:
nothing is lost, the sandbox never counts more than the quota in a day, and each table is at most so stale.

Measured from the outside by tests/e2e/freshness.py (calls as the sandbox counted them, rows as the destination holds
them). The 1,000-user runs are part of every test run; the 10,000-user runs take about a minute each and carry the
`long` marker (deselected by default, run by .ci/run: `pytest -m "long or not long"`).
"""

from __future__ import annotations

import math
from functools import cache

import pytest
from freshness import FreshnessReport, Simulation, simulate, standard_churn, standard_tenant

QUOTA = 1000
SYNC_EVERY_H = 4.0
#: A sync's share of the day: what the sandbox may count for one sync.
SHARE = math.ceil(QUOTA * SYNC_EVERY_H / 24)

# Staleness bounds: the most hours from a change in the tenant to its arrival in the destination (a change still
# pending at the end counts with its age), derived from the calls a day leaves once the cheap listings are read.
#
#: The listings read whole every sync (users, the groups listing, the notes feed) carry every change to users and
#: notes: a change arrives with the next sync, at most one interval after it was made.
NEXT_SYNC_H = SYNC_EVERY_H
#: 1,000 users: the listings take 6 × (1 token check + 10 users pages + 1 groups page + 1 feed call) = 78 calls a
#: day, leaving ~920 for the per-record calls. ~15 active users a day need their bookmarks listed (3 a sync: the
#: next sync), and the 50 groups' details are re-read once in `membership_refresh_hours` (24 h), a share each sync,
#: so a membership change (and the group's member_count) lands within 24 h plus one interval.
BOOKMARKS_1K_H = NEXT_SYNC_H
GROUP_DETAIL_1K_H = 24 + SYNC_EVERY_H
#: 10,000 users: the listings take 6 × (1 + 100 users pages + 5 groups pages + 1) = 642 calls a day and the ~20 new
#: notes 20 more, leaving ~338 a day for the per-record calls. The 150 active users a day are told by the users
#: listing (lastActiveDate) and served first (the signaled tier), so their bookmarks come with the next sync. The
#: ~188 calls left go to the membership refresh, ahead of the bookmarks' own: the 500 groups, whose changes nothing
#: signals, take 500 / 188 = 2.7 days a round, and a group changed just after it was read waits a round, plus the
#: sync that reads it: 2.7 days rounded up to 72 h would be too tight for the alignment of the passes, hence 96 h.
BOOKMARKS_10K_H = NEXT_SYNC_H
GROUP_DETAIL_10K_H = 96.0
#: When the users listing carries each user's groups, memberships (and so each group's member count) come with the
#: listing, at no call: a change arrives with the next sync.
CARRIED_GROUPS_H = NEXT_SYNC_H
TABLES = ("users", "groups", "group_members", "notes", "bookmarks")


RUNS = {
    "1k-detail": Simulation(standard_tenant(1_000), days=2, settle_days=1, quota=QUOTA, churn=standard_churn(1_000)),
    "1k-carried": Simulation(
        standard_tenant(1_000), days=2, settle_days=1, quota=QUOTA, churn=standard_churn(1_000), users_carry_groups=True
    ),
    # Three days without changes let a round of the 500 groups' refresh (2.7 days, see above) finish.
    "10k-detail": Simulation(standard_tenant(10_000), days=3, settle_days=3, quota=QUOTA, churn=standard_churn(10_000)),
    "10k-carried": Simulation(
        standard_tenant(10_000),
        days=3,
        settle_days=2,
        quota=QUOTA,
        churn=standard_churn(10_000),
        users_carry_groups=True,
    ),
}
BOUNDS = {
    "1k-detail": {"users": NEXT_SYNC_H, "groups": GROUP_DETAIL_1K_H, "group_members": GROUP_DETAIL_1K_H,
                  "notes": NEXT_SYNC_H, "bookmarks": BOOKMARKS_1K_H},
    "1k-carried": {"users": NEXT_SYNC_H, "groups": CARRIED_GROUPS_H, "group_members": CARRIED_GROUPS_H,
                   "notes": NEXT_SYNC_H, "bookmarks": BOOKMARKS_1K_H},
    "10k-detail": {"users": NEXT_SYNC_H, "groups": GROUP_DETAIL_10K_H, "group_members": GROUP_DETAIL_10K_H,
                   "notes": NEXT_SYNC_H, "bookmarks": BOOKMARKS_10K_H},
    "10k-carried": {"users": NEXT_SYNC_H, "groups": CARRIED_GROUPS_H, "group_members": CARRIED_GROUPS_H,
                    "notes": NEXT_SYNC_H, "bookmarks": BOOKMARKS_10K_H},
}  # fmt: skip
LONG = {"10k-detail", "10k-carried"}

#: No run is expected to fail: each (run, table) listed here would be marked xfail, with why.
STALE_TODAY: dict[tuple[str, str], str] = {}
LOST_TODAY: dict[tuple[str, str], str] = {}


@cache
def simulated(run: str) -> FreshnessReport:
    return simulate(RUNS[run])


def _params(table_marks: dict[tuple[str, str], str]) -> list:
    params = []
    for run in RUNS:
        for table in TABLES:
            marks = [pytest.mark.long] if run in LONG else []
            reason = table_marks.get((run, table))
            if reason:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            params.append(pytest.param(run, table, marks=marks, id=f"{run}-{table}"))
    return params


@pytest.mark.parametrize(("run", "table"), _params(STALE_TODAY))
def test_each_table_is_at_most_so_stale(run: str, table: str) -> None:
    report = simulated(run)
    freshness = report.tables[table]
    assert freshness.changes > 0, f"{run}: no change reached {table}: nothing was measured"
    assert freshness.max_lag_h is not None
    bound = BOUNDS[run][table]
    assert freshness.max_lag_h <= bound, f"{run} {table}: {freshness.max_lag_h:.1f} h > {bound} h\n" + (
        report.table_markdown()
    )


@pytest.mark.parametrize(("run", "table"), _params(LOST_TODAY))
def test_nothing_is_lost_once_the_changes_stop(run: str, table: str) -> None:
    report = simulated(run)
    freshness = report.tables[table]
    assert freshness.matched, f"{run} {table}: {freshness.mismatch}\n" + report.table_markdown()
    assert freshness.pending_after_settle == 0


@pytest.mark.parametrize("run", [pytest.param(run, marks=[pytest.mark.long] if run in LONG else []) for run in RUNS])
def test_the_sandbox_never_counts_more_than_the_quota_in_a_day_nor_a_sync_more_than_its_share(run: str) -> None:
    report = simulated(run)
    simulation = RUNS[run]
    assert len(report.calls_by_day) >= simulation.days + simulation.settle_days  # every day was counted
    assert max(report.calls_by_day.values()) <= QUOTA, report.calls_by_day
    assert report.quota_refusals == 0 and report.throttled == 0
    measured = report.measured_syncs
    assert len(measured) == (simulation.days + simulation.settle_days) * 24 / SYNC_EVERY_H
    assert all(0 < sync.calls <= SHARE for sync in measured), [sync.calls for sync in measured]
