"""The daily request budget: shares per sync, the 24-hour window kept in the state, Egnyte's own count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from egnyte_async.budget import MIN_CALLS_PER_SYNC, QuotaWindow, RequestBudget
from egnyte_async.errors import QuotaExhaustedError
from egnyte_async.log import NullLog
from tests.logs import RecordingLog

NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)


def spend(budget: RequestBudget) -> int:
    spent = 0
    with pytest.raises(QuotaExhaustedError):
        while True:
            budget.take()
            spent += 1
    return spent


def test_each_sync_takes_its_share_of_the_day():
    assert spend(RequestBudget(1000, 4, QuotaWindow(NOW), NOW)) == 167  # ceil(1000 * 4 / 24)
    assert spend(RequestBudget(1000, 24, QuotaWindow(NOW), NOW)) == 1000
    assert spend(RequestBudget(1000, 48, QuotaWindow(NOW), NOW)) == 1000


def test_successive_syncs_never_exceed_the_daily_quota():
    window_state = None
    total = 0
    for hour in range(0, 24, 1):  # a sync every hour although the schedule says every 4: still within 1000
        now = NOW + timedelta(hours=hour)
        budget = RequestBudget(1000, 4, QuotaWindow.from_state(window_state, now, NullLog()), now)
        total += spend(budget)
        window_state = budget.window.to_state()
    assert total == 1000


@pytest.mark.parametrize("hours", [0.0001, 0.25, 0.5])
def test_a_share_too_small_to_make_progress_is_raised_to_a_floor(hours):
    # 1000 calls a day every 0.0001 h gave each sync one call, spent on the token check: nothing ever synced.
    assert MIN_CALLS_PER_SYNC == 25
    assert spend(RequestBudget(1000, hours, QuotaWindow(NOW), NOW)) == MIN_CALLS_PER_SYNC
    assert spend(RequestBudget(1000, 1, QuotaWindow(NOW), NOW)) == 42  # above the floor: the share by the schedule


def test_the_floor_never_takes_a_call_beyond_the_days_remainder():
    assert spend(RequestBudget(10, 0.25, QuotaWindow(NOW), NOW)) == 10
    assert spend(RequestBudget(1000, 0.25, QuotaWindow(NOW, calls=990), NOW)) == 10
    assert spend(RequestBudget(1000, 0.25, QuotaWindow(NOW, calls=1000), NOW)) == 0


def test_frequent_syncs_with_the_floor_never_exceed_the_daily_quota():
    window_state = None
    total = 0
    for quarter in range(4 * 24):  # a sync every 15 minutes for a day: 96 syncs of at least 25 calls would be 2400
        now = NOW + timedelta(minutes=15 * quarter)
        budget = RequestBudget(1000, 0.25, QuotaWindow.from_state(window_state, now, NullLog()), now)
        total += spend(budget)
        window_state = budget.window.to_state()
    assert total == 1000


def test_a_new_day_starts_a_new_window_without_a_word():
    log = RecordingLog()
    state = QuotaWindow(NOW, calls=1000).to_state()
    later = NOW + timedelta(hours=24, seconds=1)
    assert QuotaWindow.from_state(state, later, log).calls == 0
    assert QuotaWindow.from_state(state, NOW + timedelta(hours=23), log).calls == 1000
    assert QuotaWindow.from_state(None, NOW, log) == QuotaWindow.from_state({}, NOW, log) == QuotaWindow(NOW)
    assert log.lines == []


@pytest.mark.parametrize(
    "broken",
    [
        {"window_started": "yesterday", "calls": 3},
        {"window_started": "2026-11-28T11:00:00Z", "calls": "x"},
        {"window_started": "2026-11-28T11:00:00Z", "calls": "5"},
        {"window_started": "2026-11-28T11:00:00Z", "calls": -4},
        {"window_started": "2026-11-28T11:00:00Z", "calls": True},
        {"window_started": "2026-11-28T11:00:00Z", "calls": 2.5},
        {"window_started": 5, "calls": 3},
        {"calls": 3},
        [1, 2],
        "x",
        7,
    ],
)
def test_an_unreadable_window_starts_afresh_with_a_warning(broken):
    log = RecordingLog()
    assert QuotaWindow.from_state(broken, NOW, log) == QuotaWindow(NOW)
    assert log.texts("warning") == [
        f"quota: the saved 'quota' is unreadable ({type(broken).__name__} {broken!r}); "
        "the day's request count starts afresh at 0"
    ]


def test_a_window_from_the_future_is_not_trusted_and_said_so():
    log = RecordingLog()
    state = QuotaWindow(NOW + timedelta(days=3), calls=900).to_state()
    assert QuotaWindow.from_state(state, NOW, log).calls == 0
    [warning] = log.texts("warning")
    assert "quota: the saved window starts in the future (2026-12-01T12:00:00Z" in warning
    assert "a clock or state problem" in warning


def test_the_exhausted_error_says_when_the_quota_resets():
    budget = RequestBudget(10, 24, QuotaWindow(NOW - timedelta(hours=20), calls=10), NOW)
    with pytest.raises(QuotaExhaustedError) as caught:
        budget.take()
    assert caught.value.reset_after == pytest.approx(4 * 3600)


def test_egnyte_count_caps_our_own():
    budget = RequestBudget(1000, 24, QuotaWindow(NOW), NOW)
    budget.observe_server_quota(allotted=5000, current=4998)
    assert spend(budget) == 2


def test_a_late_answer_never_hands_back_calls_already_spent():
    budget = RequestBudget(1000, 24, QuotaWindow(NOW), NOW)
    budget.observe_server_quota(allotted=100, current=90)  # 10 left
    for _ in range(4):
        budget.take()
    budget.observe_server_quota(allotted=100, current=91)  # an answer admitted before the last three calls
    assert budget.remaining == 6
