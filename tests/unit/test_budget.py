"""The daily request budget: shares per sync, the 24-hour window kept in the state, Egnyte's own count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.errors import QuotaExhaustedError

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
        budget = RequestBudget(1000, 4, QuotaWindow.from_state(window_state, now), now)
        total += spend(budget)
        window_state = budget.window.to_state()
    assert total == 1000


def test_a_new_day_starts_a_new_window():
    state = QuotaWindow(NOW, calls=1000).to_state()
    later = NOW + timedelta(hours=24, seconds=1)
    assert QuotaWindow.from_state(state, later).calls == 0
    assert QuotaWindow.from_state(state, NOW + timedelta(hours=23)).calls == 1000


@pytest.mark.parametrize("broken", [{"window_started": "yesterday"}, {"calls": "x"}, {"window_started": 5}, None, {}])
def test_an_unreadable_window_starts_afresh(broken):
    assert QuotaWindow.from_state(broken, NOW) == QuotaWindow(NOW)


def test_a_window_from_the_future_is_not_trusted():
    state = QuotaWindow(NOW + timedelta(days=3), calls=900).to_state()
    assert QuotaWindow.from_state(state, NOW).calls == 0


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
