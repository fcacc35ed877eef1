"""Resume anywhere: a sync killed at any moment and run again ends with exactly the rows of an uninterrupted sync,
and the resumed sync never asks again for what the killed one had written and checkpointed.

A kill is `KillableOperations`: as with kill -9 under the real SDK, whatever was upserted after the last
checkpoint is gone, and the next sync starts from the last checkpointed state.
"""

from __future__ import annotations

from typing import Any

import pytest
from faultkit import KillableOperations, VirtualTime, run, sandbox_app
from harness import SANDBOX_NOW, Killed, RecordingOperations, assert_matches, expected_rows

from egnyte_async.dates import parse_egnyte_datetime
from egnyte_async.streams import bookmarks as bookmarks_stream
from egnyte_async.streams import groups as groups_stream
from egnyte_async.streams.bookmarks import ACTIVITY_MARGIN
from egnyte_async.streams.roster import last_active
from egnyte_sandbox import FaultPlan
from tests.logs import RecordingLog

TENANT = {"users": 26, "groups": 9, "members_per_group": 3, "notes": 80, "bookmarks_per_user": 2}
STREAMS = ("users", "groups", "notes", "bookmarks")
SYNC = {"max_records_per_page": 6, "checkpoint_rows": 5, "max_concurrent_requests": 4}


def uninterrupted(streams=STREAMS, **options: Any) -> tuple[RecordingOperations, list[int]]:
    """A whole sync, and the upsert count at each of its checkpoints."""
    time = VirtualTime()
    app = sandbox_app(time, TENANT, faults=options.pop("faults", FaultPlan()))
    operations = CountingOperations()
    run(app, None, operations, time, streams=streams, **{**SYNC, **options})
    return operations, operations.boundaries


class CountingOperations(RecordingOperations):
    def __init__(self) -> None:
        super().__init__()
        self.boundaries: list[int] = []

    def checkpoint(self, state: dict[str, Any]) -> None:
        super().checkpoint(state)
        self.boundaries.append(self.upserts)


def kill_then_resume(kill_after: int, streams=STREAMS, **options: Any):
    """Kills a sync at its `kill_after`-th upsert, then resumes it from what survived; returns both runs' facts."""
    time = VirtualTime()
    app = sandbox_app(time, TENANT, faults=options.pop("faults", FaultPlan()))
    killed = KillableOperations(kill_after_upserts=kill_after)
    with pytest.raises(Killed):
        run(app, None, killed, time, streams=streams, **{**SYNC, **options})
    first_requests = len(app.state.sandbox.requests)
    survivor = killed.survivor()
    report = run(app, killed.last_state or None, survivor, time, streams=streams, **{**SYNC, **options})
    return app, killed, survivor, report, app.state.sandbox.requests[first_requests:]


def kill_points(boundaries: list[int], total: int) -> list[int]:
    """Every checkpoint boundary (the kill lands on the first upsert after it), one upsert later, and mid-way
    between consecutive boundaries (mid-page)."""
    points = set()
    previous = 0
    for boundary in boundaries:
        if boundary >= total:
            break
        points.update({boundary, boundary + 1, (previous + boundary) // 2})
        previous = boundary
    return sorted(point for point in points if 0 <= point < total)


def test_killed_at_every_checkpoint_boundary_and_mid_page_the_resumed_sync_matches_an_uninterrupted_one():
    options = {"checkpoint_rows": 16}
    reference, boundaries = uninterrupted(**options)
    total = reference.upserts
    points = kill_points(boundaries, total)
    assert len(points) >= 20
    for point in points:
        app, killed, survivor, report, _ = kill_then_resume(point, **options)
        assert killed.upserts == point
        assert survivor.committed == reference.committed, f"killed at upsert {point}"
        assert not report.stopped
    tenant = app.state.sandbox.tenant
    assert assert_matches(reference.table, expected_rows(tenant, SANDBOX_NOW)) == len(reference.committed)


def test_killed_in_the_middle_of_retries_the_resumed_sync_matches_an_uninterrupted_one():
    """The kill comes while requests wait out their backoff (the n-th retry sleep), from the event loop's thread."""
    reference, _ = uninterrupted()
    faults = {"rate": 0.3, "kinds": ("503", "reset", "truncated", "slow")}
    for nth_sleep in (1, 3, 6, 10, 15, 21):
        time = VirtualTime()
        app = sandbox_app(time, TENANT, faults=FaultPlan(**faults))
        killed = KillableOperations()
        sleeps = 0

        def kill_on_sleep(seconds: float, killed=killed, nth=nth_sleep) -> None:
            nonlocal sleeps
            sleeps += 1
            if sleeps == nth:
                killed.kill()

        time.on_sleep = kill_on_sleep
        with pytest.raises(Killed):
            run(app, None, killed, time, retry_attempts=8, **SYNC)
        assert killed.dead
        time.on_sleep = None
        survivor = killed.survivor()
        run(app, killed.last_state or None, survivor, time, retry_attempts=8, **SYNC)
        assert survivor.committed == reference.committed, f"killed at retry sleep {nth_sleep}"


def test_killed_again_and_again_the_syncs_still_finish_with_the_same_rows():
    """Every sync dies after 45 upserts (a first sync makes 161); each resumes from the last one's state, until one
    gets to the end. Every sync re-reads the users and the group listing (35 rows) before anything else, so a sync
    dying sooner than that plus its fan-outs could never end: group members and bookmarks are refreshed rarely here
    so that a quiet sync fits."""
    reference, _ = uninterrupted()
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    committed: dict = {}
    state = None
    for attempt in range(1, 200):  # noqa: B007 (the count is checked after the loop)
        operations = KillableOperations(committed, kill_after_upserts=45)
        try:
            run(app, state, operations, time, membership_refresh_hours=720, bookmarks_refresh_days=365, **SYNC)
        except Killed:
            committed, state = operations.committed, operations.last_state or state
            continue
        committed = operations.committed
        break
    else:
        pytest.fail("never finished")
    assert attempt > 5  # it really was killed over and over
    assert committed == reference.committed


def test_an_exception_in_the_destination_then_a_rerun_gives_the_same_rows():
    reference, boundaries = uninterrupted()

    class Failing(RecordingOperations):
        def upsert(self, table: str, data: dict[str, Any]) -> None:
            if self.upserts == boundaries[3] + 2:
                raise RuntimeError("destination unavailable")
            super().upsert(table, data)

    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    failing = Failing()
    with pytest.raises(RuntimeError, match="destination unavailable"):
        run(app, None, failing, time, **SYNC)
    resumed = RecordingOperations(failing.committed)
    run(app, failing.last_state, resumed, time, **SYNC)
    assert resumed.committed == reference.committed


# ---- the resumed sync re-reads only what was in flight ------------------------------------------------------------
def positions(records: list[dict], key: str = "id") -> dict[Any, int]:
    return {record[key]: index for index, record in enumerate(records, start=1)}


class Orders:
    """Where each group and user stands in its listing (1-based), and the users by name."""

    def __init__(self, tenant) -> None:
        users = list(tenant.iter_users())
        self.groups = positions(list(tenant.iter_groups()))
        self.users = positions(users)
        self.user_ids = {user["userName"]: user["id"] for user in users}
        #: When each user was last active as the connector reads the listing (a plain date: its day's end), by id.
        self.active = {user["id"]: last_active(user) for user in users}


def covered(stream: str, state: dict, request, orders: Orders) -> bool:
    """Whether `request` asks for something the killed sync had written and checkpointed, by its saved position."""
    position = state.get("streams", {}).get(stream, {})
    query = request.query
    if stream == "users":
        scan = position.get("scan")
        return bool(scan) and request.path == "/pubapi/v2/users" and int(query["startIndex"]) < scan["index"]
    if stream == "notes":
        scan = position.get("scan")
        return bool(scan) and int(query["offset"]) < scan["position"]["index"]
    # groups and bookmarks: a listing (the groups', or the users' of the bookmarks stream) up to its saved page,
    # and the per-record calls of the pass under way that the state names as done.
    saved = (groups_stream if stream == "groups" else bookmarks_stream).read_state(position, RecordingLog())
    listing_path = "/pubapi/v2/groups" if stream == "groups" else "/pubapi/v2/users"
    if request.path == listing_path:
        return saved.scan is not None and int(query["startIndex"]) < saved.scan.index
    item = request.path.rsplit("/", 1)[1] if stream == "groups" else orders.user_ids[request.headers["x-egnyte-act-as"]]
    if stream == "groups":
        return item in saved.done.as_set()
    # A user listed by the killed sync who was active since it began (less the margin) is listed again, by design:
    # the listing may predate the activity.
    since = parse_egnyte_datetime(saved.pass_sync_started) if saved.pass_sync_started else None
    active = orders.active.get(item)
    if since is not None and active is not None and active >= since - ACTIVITY_MARGIN:
        return False
    return item in saved.done.as_set() | saved.refresh_done.as_set()


@pytest.mark.parametrize("stream", STREAMS)
def test_a_resumed_sync_never_asks_again_for_what_was_checkpointed(stream):
    reference, boundaries = uninterrupted((stream,))
    total = reference.upserts
    points = [point for point in kill_points(boundaries, total) if point < boundaries[-2]][::2]
    assert len(points) >= 3
    refetched_anything = 0
    for point in points:
        app, killed, survivor, _, second = kill_then_resume(point, (stream,))
        orders = Orders(app.state.sandbox.tenant)
        state = killed.last_state
        asked_again = [r for r in second if r.path != "/pubapi/v1/userinfo" and covered(stream, state, r, orders)]
        assert not asked_again, f"killed at upsert {point}, resumed from {state['streams'][stream]}: {asked_again[:3]}"
        assert survivor.committed == reference.committed
        refetched_anything += len(second) > 1
    assert refetched_anything == len(points)
