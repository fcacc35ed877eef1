"""The state merge, as a property (hypothesis): whatever order the pages of the four streams complete in, whatever
the checkpoint cadence and wherever the sync is killed, the resumed sync ends with exactly the rows of an
uninterrupted one. The positions of four streams, advanced page by page and group by group in one state, must
never get ahead of the rows written.
"""

from __future__ import annotations

import contextlib
import functools

from faultkit import KillableOperations, VirtualTime, run, sandbox_app
from harness import Killed, RecordingOperations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TENANT = {"users": 18, "groups": 5, "members_per_group": 3, "notes": 60, "bookmarks_per_user": 2}
OPTIONS = {"max_records_per_page": 5, "max_concurrent_requests": 4}


@functools.cache
def reference() -> dict:
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    operations = RecordingOperations()
    run(app, None, operations, time, **OPTIONS)
    return operations.committed


delays = st.lists(st.integers(min_value=0, max_value=8), min_size=1, max_size=30)


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    first_order=delays,
    second_order=delays,
    checkpoint_rows=st.integers(min_value=1, max_value=60),
    crash_at=st.floats(min_value=0.0, max_value=1.0),
)
def test_any_completion_order_any_cadence_and_any_crash_point_give_the_same_rows(
    first_order, second_order, checkpoint_rows, crash_at
):
    expected = reference()
    time = VirtualTime()
    app = sandbox_app(time, TENANT)
    killed = KillableOperations(kill_after_upserts=int(crash_at * len(expected)))
    with contextlib.suppress(Killed):  # (a crash point past the end: the sync finished)
        run(app, None, killed, time, delays=first_order, checkpoint_rows=checkpoint_rows, **OPTIONS)
    survivor = killed.survivor()
    state = killed.last_state or None
    run(app, state, survivor, time, delays=second_order, checkpoint_rows=checkpoint_rows, **OPTIONS)
    assert survivor.committed == expected
