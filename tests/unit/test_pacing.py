"""The shared limiter and throttle gate."""

from __future__ import annotations

import asyncio
import itertools

from egnyte_async.pacing import RECOVERY_STREAK, AdaptiveRateLimiter, ThrottleGate


def test_throttles_halve_the_rate_down_to_a_floor_and_successes_bring_it_back():
    limiter = AdaptiveRateLimiter(8.0)
    limiter.on_throttle()
    assert limiter.rate == 4.0
    for _ in range(10):
        limiter.on_throttle()
    assert limiter.rate == 0.5  # 1/16 of 8
    for _ in range(RECOVERY_STREAK * 30):
        limiter.on_success()
    assert limiter.rate == 8.0


def test_no_window_sees_more_than_the_bucket_depth_plus_the_rate():
    async def measure() -> list[float]:
        limiter = AdaptiveRateLimiter(100.0)  # a bucket of 10 calls
        loop = asyncio.get_running_loop()
        moments = []
        for _ in range(30):
            await limiter.acquire()
            moments.append(loop.time())
        return moments

    moments = asyncio.run(measure())
    for i, j in itertools.combinations(range(len(moments)), 2):
        calls = j - i + 1
        assert calls <= 10 + 1 + (moments[j] - moments[i]) * 100  # one call of slack for timer lateness


def test_gate_holds_every_waiter_until_the_latest_retry_after(fake_clock):
    gate = ThrottleGate(fake_clock)
    gate.close_for(5)
    gate.close_for(2)  # a shorter pause never shortens a longer one
    asyncio.run(gate.wait())
    assert fake_clock.now == 1005.0
    assert gate.seconds_closed == 0


def test_bucket_depth_is_a_tenth_of_a_second_never_below_one_call():
    assert AdaptiveRateLimiter(2)._limiter.max_rate == 1
    assert AdaptiveRateLimiter(20)._limiter.max_rate == 2
    assert AdaptiveRateLimiter(100)._limiter.max_rate == 10
    limiter = AdaptiveRateLimiter(100)
    assert limiter._limiter.max_rate / limiter._limiter.time_period == 100


def test_a_new_target_applies_at_once_up_and_down():
    limiter = AdaptiveRateLimiter(2.0)
    limiter.set_target(6.0)  # Egnyte states 6 a second
    assert (limiter.target_rate, limiter.rate) == (6.0, 6.0)
    assert limiter._limiter.max_rate / limiter._limiter.time_period == 6.0
    limiter.set_target(1.0)
    assert (limiter.target_rate, limiter.rate) == (1.0, 1.0)
    assert limiter._limiter.max_rate / limiter._limiter.time_period == 1.0


def test_a_raised_target_after_throttles_is_reached_by_recovery_not_at_once():
    limiter = AdaptiveRateLimiter(8.0)
    limiter.on_throttle()
    limiter.set_target(16.0)
    assert (limiter.target_rate, limiter.rate) == (16.0, 4.0)
    for _ in range(RECOVERY_STREAK * 30):
        limiter.on_success()
    assert limiter.rate == 16.0
    limiter.on_throttle()
    limiter.set_target(2.0)  # below the throttled pace: lowered at once
    assert limiter.rate == 2.0
