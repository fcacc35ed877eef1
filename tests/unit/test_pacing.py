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


def test_requests_are_spaced_evenly_not_in_bursts():
    async def measure() -> list[float]:
        limiter = AdaptiveRateLimiter(200.0)
        loop = asyncio.get_running_loop()
        moments = []
        for _ in range(6):
            await limiter.acquire()
            moments.append(loop.time())
        return moments

    moments = asyncio.run(measure())
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert min(gaps[1:]) >= 1 / 200 * 0.8  # a leaky bucket of depth one: no burst after the first call


def test_gate_holds_every_waiter_until_the_latest_retry_after(fake_clock):
    gate = ThrottleGate(fake_clock, fake_clock.sleep)
    gate.close_for(5)
    gate.close_for(2)  # a shorter pause never shortens a longer one
    asyncio.run(gate.wait())
    assert fake_clock.now == 1005.0
    assert gate.seconds_closed == 0
