"""The shared limiter and throttle gate. The pace is measured on an event loop of virtual time (aiolimiter reads
the loop's clock), with the timer lateness of a real loop added where it matters."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from egnyte_async.pacing import (
    CATCH_UP_S,
    FIRST_CUT,
    FLOOR_SHARE,
    RECOVERY_STEP,
    RECOVERY_STREAK,
    STRETCH,
    AdaptiveRateLimiter,
    ThrottleGate,
)
from tests.virtual_loop import run_virtual


def departures(limiter: AdaptiveRateLimiter, calls: int, workers: int = 16, lateness_s: float = 0.0) -> list[float]:
    """The instants at which `calls` calls leave `limiter`, drawn by `workers` tasks at once, each timer late by up
    to `lateness_s` (uniform, seeded)."""
    draw = random.Random(7)

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        moments: list[float] = []

        async def worker() -> None:
            while len(moments) < calls:
                await limiter.acquire()
                if len(moments) < calls:
                    moments.append(loop.time())

        await asyncio.gather(*(worker() for _ in range(workers)))
        return moments

    return run_virtual(main, lambda delay: draw.uniform(0, lateness_s))


@pytest.mark.parametrize("rate", [2.0, 20.0, 100.0])
def test_calls_leave_one_stretched_period_apart_never_two_at_once(rate: float) -> None:
    moments = departures(AdaptiveRateLimiter(rate), 50)
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    # A bucket a call deep lets the first call out at once and every next one a stretched period later, never a
    # burst: the second call of a fresh limiter waits too, for all but the catch-up allowance.
    period = (1 + STRETCH) / rate
    assert moments[0] == pytest.approx(0.0, abs=1e-5)
    assert gaps[0] == pytest.approx(period - CATCH_UP_S, abs=1e-5)
    assert gaps[1:] == pytest.approx([period] * (len(gaps) - 1), abs=1e-5)


@pytest.mark.parametrize("rate", [2.0, 20.0, 100.0])
def test_no_second_holds_rate_calls_even_with_late_timers(rate: float) -> None:
    """What a strict sliding window of one second asks: any `rate` calls in a row span more than a second, here by
    30 ms at least (the stretch less what catching up on late timers may take back), so that arrivals jittered by
    up to that much still find room."""
    limit = int(rate)
    moments = departures(AdaptiveRateLimiter(rate), 4 * limit + 1, lateness_s=0.0015)
    spans = [moments[i + limit] - moments[i] for i in range(len(moments) - limit)]
    assert min(spans) >= 1.03


def test_late_timers_are_caught_up_not_lost_at_high_rates() -> None:
    # A millisecond late on every wake-up: a bucket exactly one call deep would leave every period 0.75 ms longer on
    # average, 7% below the pace at 100 calls a second.
    moments = departures(AdaptiveRateLimiter(100.0), 1001, lateness_s=0.0015)
    achieved = (len(moments) - 1) / (moments[-1] - moments[0])
    assert achieved == pytest.approx(100.0 / (1 + STRETCH), rel=0.005)


def test_an_idle_spell_earns_no_burst() -> None:
    limiter = AdaptiveRateLimiter(20.0)

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        await limiter.acquire()
        await asyncio.sleep(30.0)  # virtual: a token bucket would be full again by now
        moments = []
        for _ in range(3):
            await limiter.acquire()
            moments.append(loop.time())
        return moments

    moments = run_virtual(main)
    assert moments[0] == pytest.approx(30.0)
    assert moments[2] - moments[0] >= 2 * (1 + STRETCH) / 20.0 - CATCH_UP_S


def test_a_call_waiting_when_the_pace_changes_waits_again_at_the_new_pace() -> None:
    limiter = AdaptiveRateLimiter(10.0)

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        moments: list[float] = []

        async def call() -> None:
            await limiter.acquire()
            moments.append(loop.time())

        tasks = [asyncio.create_task(call()) for _ in range(4)]
        await asyncio.sleep(0)  # all four wait on the 10-a-second bucket; the first has left
        limiter.set_target(1.0)  # Egnyte states 1 a second
        await asyncio.gather(*tasks)
        return moments

    moments = run_virtual(main)
    # The three that were waiting leave a stretched second apart (less the catch-up allowance of a fresh bucket), the
    # first of them a whole new period after the call that left before the change, not a tenth of a second as the
    # old bucket said, nor at once as a fresh bucket would.
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert gaps[0] == pytest.approx(1 + STRETCH, abs=1e-5)
    assert min(gaps) >= 1 + STRETCH - CATCH_UP_S - 1e-5


def test_a_first_throttle_cuts_an_eighth_and_throttles_in_a_row_double_the_cut_up_to_a_half() -> None:
    limiter = AdaptiveRateLimiter(16.0)
    assert limiter.on_throttle(limiter.cuts)
    assert limiter.rate == 16.0 * (1 - FIRST_CUT)  # 14
    rates = []
    for _ in range(4):
        limiter.on_throttle(limiter.cuts)
        rates.append(limiter.rate)
    assert rates == [10.5, 5.25, 2.625, 1.3125]  # cut by 1/4, then by 1/2 each time
    for _ in range(10):
        limiter.on_throttle(limiter.cuts)
    assert limiter.rate == 16.0 * FLOOR_SHARE


def test_a_throttle_of_a_call_sent_before_the_last_cut_changes_nothing() -> None:
    limiter = AdaptiveRateLimiter(16.0)
    sent_at = limiter.cuts
    # Ten calls in flight at the old pace come back throttled: one cut, not ten.
    assert [limiter.on_throttle(sent_at) for _ in range(10)] == [True] + [False] * 9
    assert limiter.rate == 14.0
    assert limiter.on_throttle(None)  # of unknown age: taken as sent at the latest pace
    assert limiter.rate == 10.5


def test_an_isolated_throttle_is_forgotten_after_one_streak_of_successes() -> None:
    limiter = AdaptiveRateLimiter(20.0)
    limiter.on_throttle(limiter.cuts)
    for _ in range(RECOVERY_STREAK - 1):
        limiter.on_success()
    assert limiter.rate == 20.0 * (1 - FIRST_CUT)
    limiter.on_success()
    assert (limiter.rate, limiter.cut) == (20.0, FIRST_CUT)  # min(target, 17.5 × 1.25)


def test_after_halving_the_pace_recovers_a_quarter_per_streak_and_the_cut_shrinks_back() -> None:
    limiter = AdaptiveRateLimiter(8.0)
    for _ in range(4):
        limiter.on_throttle(limiter.cuts)  # 7, 5.25, 2.625, 1.3125
    low = limiter.rate
    for _ in range(RECOVERY_STREAK):
        limiter.on_success()
    assert limiter.rate == low * RECOVERY_STEP and limiter.cut == 1 / 4
    for _ in range(RECOVERY_STREAK * 30):
        limiter.on_success()
    assert (limiter.rate, limiter.cut) == (8.0, FIRST_CUT)


def test_gate_holds_every_waiter_until_the_latest_pause(fake_clock):
    gate = ThrottleGate(fake_clock)
    gate.close_for(5)
    gate.close_for(2)  # a shorter pause never shortens a longer one
    asyncio.run(gate.wait())
    assert fake_clock.now == 1005.0
    assert gate.seconds_closed == 0


def test_the_bucket_is_one_call_deep_and_paces_the_stretched_rate():
    for rate in (2.0, 20.0, 100.0):
        bucket = AdaptiveRateLimiter(rate)._limiter
        assert 1 < bucket.max_rate <= 1 + rate * CATCH_UP_S  # never two calls at once
        assert bucket.max_rate / bucket.time_period == pytest.approx(rate / (1 + STRETCH))
    assert AdaptiveRateLimiter(20.0).period == pytest.approx(0.052)


def test_a_new_target_applies_at_once_up_and_down():
    limiter = AdaptiveRateLimiter(2.0)
    limiter.set_target(6.0)  # Egnyte states 6 a second
    assert (limiter.target_rate, limiter.rate) == (6.0, 6.0)
    assert limiter._limiter.max_rate / limiter._limiter.time_period == pytest.approx(6.0 / (1 + STRETCH))
    limiter.set_target(1.0)
    assert (limiter.target_rate, limiter.rate) == (1.0, 1.0)
    assert limiter.period == pytest.approx(1 + STRETCH)


def test_a_raised_target_after_throttles_is_reached_by_recovery_not_at_once():
    limiter = AdaptiveRateLimiter(8.0)
    limiter.on_throttle()
    limiter.set_target(16.0)
    assert (limiter.target_rate, limiter.rate) == (16.0, 7.0)
    for _ in range(RECOVERY_STREAK * 30):
        limiter.on_success()
    assert limiter.rate == 16.0
    limiter.on_throttle()
    limiter.set_target(2.0)  # below the throttled pace: lowered at once
    assert limiter.rate == 2.0
