"""The daily request budget: shares per sync, Egnyte's quota day (midnight to midnight GMT) kept in the state,
Egnyte's own count and its stated quota and reset."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from egnyte_async.budget import MIN_CALLS_PER_SYNC, QuotaWindow, RequestBudget
from egnyte_async.errors import QuotaExhaustedError
from egnyte_async.log import NullLog
from tests.logs import RecordingLog

NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)
#: Midnight GMT: Egnyte's quota day starts here.
DAY_START = datetime(2026, 11, 28, tzinfo=timezone.utc)


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
        now = DAY_START + timedelta(hours=hour)  # the day's 24 hours (from noon, midnight GMT would start anew)
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
        now = DAY_START + timedelta(minutes=15 * quarter)
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
    assert QuotaWindow.from_state(None, NOW, log) == QuotaWindow.from_state({}, NOW, log) == QuotaWindow.of_day(NOW)
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
    assert QuotaWindow.from_state(broken, NOW, log) == QuotaWindow.of_day(NOW)
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


def test_the_quota_day_is_midnight_to_midnight_gmt_not_24_hours_from_the_first_call():
    window = QuotaWindow.of_day(NOW)
    assert (window.started, window.end) == (DAY_START, DAY_START + timedelta(days=1))
    assert QuotaWindow.of_day(DAY_START).started == DAY_START  # midnight itself opens a day
    assert QuotaWindow.of_day(datetime(2026, 11, 28, 23, 30, tzinfo=timezone(timedelta(hours=-5)))).started == (
        datetime(2026, 11, 29, tzinfo=timezone.utc)  # 23:30 in New York is 04:30 GMT the next day
    )
    window.calls = 700
    state = window.to_state()
    assert state == {"window_started": "2026-11-28T00:00:00Z", "window_ends": "2026-11-29T00:00:00Z", "calls": 700}
    log = RecordingLog()
    assert QuotaWindow.from_state(state, DAY_START + timedelta(hours=23, minutes=59), log).calls == 700
    after_midnight = QuotaWindow.from_state(state, DAY_START + timedelta(days=1), log)
    assert after_midnight == QuotaWindow.of_day(DAY_START + timedelta(days=1)) and after_midnight.calls == 0
    assert log.lines == []


def test_a_spent_day_reports_the_time_left_until_midnight_gmt():
    budget = RequestBudget(10, 24, QuotaWindow.of_day(NOW, calls=10), NOW)
    with pytest.raises(QuotaExhaustedError) as caught:
        budget.take()
    assert caught.value.reset_after == 12 * 3600
    assert "which ends 2026-11-29 00:00 UTC" in str(caught.value)


@pytest.mark.parametrize(
    ("saved", "now", "calls"),
    [
        ("2026-11-28T11:00:00Z", NOW, 300),  # opened today: all of its calls were today's
        ("2026-11-27T20:00:00Z", NOW, 300),  # still running: some may be today's, all are counted (never an overrun)
        ("2026-11-27T11:00:00Z", NOW, 0),  # more than a day old: none can be today's
    ],
)
def test_the_previous_releases_rolling_window_is_migrated_to_the_day(saved, now, calls):
    log = RecordingLog()
    window = QuotaWindow.from_state({"window_started": saved, "calls": 300}, now, log)
    assert window == QuotaWindow.of_day(now, calls=calls)
    assert window.to_state()["window_ends"] == "2026-11-29T00:00:00Z"
    assert log.lines == []


def test_the_previous_releases_window_from_the_future_is_still_not_trusted():
    log = RecordingLog()
    window = QuotaWindow.from_state({"window_started": "2026-12-01T12:00:00Z", "calls": 900}, NOW, log)
    assert window == QuotaWindow.of_day(NOW)
    assert "the saved window starts in the future" in log.texts("warning")[0]


@pytest.mark.parametrize(
    "ends",
    ["tomorrow", 5, "2026-11-27T00:00:00Z", "2026-12-05T00:00:00Z"],  # unreadable, before its start, days after it
)
def test_a_saved_day_with_an_impossible_end_starts_afresh_with_a_warning(ends):
    log = RecordingLog()
    state = {"window_started": "2026-11-28T00:00:00Z", "window_ends": ends, "calls": 5, "allotted": 2000}
    assert QuotaWindow.from_state(state, NOW, log) == QuotaWindow.of_day(NOW, allotted=2000)
    assert "the day's request count starts afresh at 0" in log.texts("warning")[0]


def test_the_quota_egnyte_stated_is_kept_for_the_next_sync_even_across_days():
    budget = RequestBudget(1000, 24, QuotaWindow.of_day(NOW), NOW)
    budget.observe_allotted(518_400)
    state = budget.window.to_state()
    assert state["allotted"] == 518_400
    assert QuotaWindow.from_state(state, NOW + timedelta(hours=1), NullLog()).allotted == 518_400
    assert QuotaWindow.from_state(state, NOW + timedelta(days=2), NullLog()).allotted == 518_400
    assert QuotaWindow.from_state({**state, "allotted": "lots"}, NOW, NullLog()).allotted is None


def test_a_new_daily_limit_moves_this_syncs_share_up_and_down():
    budget = RequestBudget(1000, 4, QuotaWindow.of_day(NOW, calls=100), NOW)
    assert budget.allowed == 167
    budget.set_daily_limit(518_400)  # Egnyte states a raised quota: a share of it
    assert budget.allowed == 86_400
    budget.set_daily_limit(120)  # ... or a lower one: what is left of it today
    assert budget.allowed == 20
    for _ in range(20):
        budget.take()
    with pytest.raises(QuotaExhaustedError):
        budget.take()


def test_x_quota_reset_names_the_end_of_the_day():
    budget = RequestBudget(1000, 24, QuotaWindow.of_day(NOW, calls=10), NOW)
    budget.observe_reset(datetime(2026, 11, 29, 2, tzinfo=timezone.utc))  # Egnyte's day ends at 02:00 GMT
    assert budget.resets_at() == datetime(2026, 11, 29, 2, tzinfo=timezone.utc)
    assert budget.window.calls == 10
    budget.observe_reset(datetime(2026, 12, 9, tzinfo=timezone.utc))  # not a day's end: ignored
    budget.observe_reset(datetime(2026, 11, 20, tzinfo=timezone.utc))
    assert budget.resets_at() == datetime(2026, 11, 29, 2, tzinfo=timezone.utc)


def test_a_sync_running_past_midnight_counts_the_new_day_from_egnytes_count():
    budget = RequestBudget(1000, 24, QuotaWindow.of_day(NOW, calls=400), NOW)
    budget.observe_server_quota(allotted=1000, current=400)
    budget.observe_reset(datetime(2026, 11, 30, tzinfo=timezone.utc), used=3)  # the day of the 29th has begun
    assert (budget.window.started, budget.window.calls) == (datetime(2026, 11, 29, tzinfo=timezone.utc), 3)
    budget.take()
    assert budget.window.to_state()["calls"] == 4
