"""How fast requests leave: one rate limiter and one throttle gate shared by every request of a sync.

Egnyte counts calls per token, so every worker of every table draws from the same budget. The limiter spaces
requests evenly instead of letting them out in bursts: a leaky bucket whose depth is a tenth of a second's worth
of calls (one call below 20 a second). A server that allows `rate` calls a second, in a bucket of `rate` calls,
then never sees more than it allows, even when network jitter bunches arrivals by up to 0.9 s, and answers no
throttle in steady state; the small depth lets the pace catch up on the event loop's timer lateness, which a
depth of one would lose on every call (at 100 calls a second, a millisecond late each time is 10% slower).
"""

from __future__ import annotations

from aiolimiter import AsyncLimiter

from egnyte_async.clock import SYSTEM_CLOCK, Clock

#: After this many successes in a row at a reduced rate, the rate steps back up towards the target.
RECOVERY_STREAK = 20
#: The bucket holds this many seconds' worth of calls (at least one call).
DEPTH_SECONDS = 0.1
#: The rate is never cut below this share of the target.
FLOOR_SHARE = 1 / 16


class AdaptiveRateLimiter:
    """Paces requests to `rate` per second; halves the pace when the server throttles and recovers it slowly."""

    def __init__(self, rate: float) -> None:
        self.target_rate = rate
        self.rate = rate
        self._streak = 0
        self._limiter = self._make(rate)

    @staticmethod
    def _make(rate: float) -> AsyncLimiter:
        depth = max(1, int(rate * DEPTH_SECONDS))
        return AsyncLimiter(depth, depth / rate)

    async def acquire(self) -> None:
        await self._limiter.acquire()

    def set_target(self, rate: float) -> None:
        """A new pace to keep to (the limit Egnyte states for the token). Lower, it applies at once; higher, at once
        too unless throttles have cut the pace, which then recovers towards the new target as before."""
        if rate == self.target_rate:
            return
        throttled = self.rate < self.target_rate
        self.target_rate = rate
        new_rate = min(self.rate, rate) if throttled else rate
        if new_rate != self.rate:
            self.rate = new_rate
            self._limiter = self._make(new_rate)

    def on_throttle(self) -> None:
        """The server said we went too fast: slow everyone down."""
        self._streak = 0
        new_rate = max(self.target_rate * FLOOR_SHARE, self.rate / 2)
        if new_rate < self.rate:
            self.rate = new_rate
            self._limiter = self._make(new_rate)

    def on_success(self) -> None:
        if self.rate >= self.target_rate:
            return
        self._streak += 1
        if self._streak >= RECOVERY_STREAK:
            self._streak = 0
            self.rate = min(self.target_rate, self.rate * 1.25)
            self._limiter = self._make(self.rate)


class ThrottleGate:
    """Holds every request back until a `Retry-After` given to any one of them has passed."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._open_at = 0.0

    def close_for(self, seconds: float) -> None:
        self._open_at = max(self._open_at, self._clock.monotonic() + seconds)

    @property
    def seconds_closed(self) -> float:
        return max(0.0, self._open_at - self._clock.monotonic())

    async def wait(self) -> None:
        while (delay := self._open_at - self._clock.monotonic()) > 0:
            await self._clock.sleep(delay)
