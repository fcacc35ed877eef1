"""How fast requests leave: one rate limiter and one throttle gate shared by every request of a sync.

Egnyte counts calls per token, so every worker of every table draws from the same budget. Gateways count those
calls in different ways, and the connector cannot tell which one it faces: a token bucket that forgives a burst of
a second's worth, a strict sliding window (at most `rate` calls in any one second), or fixed windows of calendar
seconds. The pace is chosen so that it holds on all three:

- Depth one. An aiolimiter leaky bucket a single call deep lets calls out one period apart and never two at once,
  whatever the idle time before: a burst is what a strict window refuses. (The bucket is deeper by `rate` ×
  `CATCH_UP_S` of a call, so the event loop's timer lateness, a millisecond or so per wake-up and several when the
  loop is busy with pages, is made up on the next call instead of being lost on every one: at 100 calls a second,
  a millisecond lost each time would be 10%.
  Only that much can be caught up, so any `rate` calls in a row still span their stretched second less
  `CATCH_UP_S`.)
- A period stretched by `STRETCH`. Calls leave `1 + STRETCH` seconds apart per `rate`, so any `rate` calls in a
  row span at least 1.04 s when they leave; the network delays each by a different amount, and a call delayed
  40 ms less than the one `rate` places before it still arrives more than a second after it. Without the stretch,
  such a call arrives within the same second, and a strict window refuses it. It costs 4% of the limit, on a token
  bucket too, which would have taken the full rate.

A throttle then means the network bunched a few calls more than the stretch allows, or the token's limit is lower
than the pace (another client shares it, or the limit changed): the reaction starts small and grows only when
throttles keep coming. The first cuts the pace by an eighth; each further throttle of a call sent at the cut pace
before the pace has recovered doubles the cut, up to a half (the token's limit is clearly lower); a throttle of a
call sent before the last cut says nothing of the cut pace and changes nothing. After `RECOVERY_STREAK` successes
in a row the cut halves back and the pace steps up by a quarter, so an isolated throttle costs a few calls, not a
halved pace for a minute as it did when every throttle halved the pace.
"""

from __future__ import annotations

import asyncio

from aiolimiter import AsyncLimiter

from egnyte_async.clock import SYSTEM_CLOCK, Clock

#: Each period between calls is this share longer than 1 / rate (see the module's docstring).
STRETCH = 0.04
#: Timer lateness up to this many seconds per call is caught up on the next call.
CATCH_UP_S = 0.006
#: The share of the pace a first throttle cuts; throttles in a row double it, up to LARGEST_CUT.
FIRST_CUT = 1 / 8
LARGEST_CUT = 1 / 2
#: After this many successes in a row, the cut halves back and a reduced pace steps up by RECOVERY_STEP.
RECOVERY_STREAK = 20
RECOVERY_STEP = 1.25
#: The rate is never cut below this share of the target.
FLOOR_SHARE = 1 / 16


class AdaptiveRateLimiter:
    """Paces requests to `rate` per second, stretched (see the module's docstring); slows down in proportion to
    the throttles the server answers and recovers as successes come back."""

    def __init__(self, rate: float) -> None:
        self.target_rate = rate
        self.rate = rate
        #: The share the next throttle cuts.
        self.cut = FIRST_CUT
        #: How many times the pace was cut: a call tells on_throttle the cuts made before it left.
        self.cuts = 0
        self._streak = 0
        self._limiter = self._make(rate)
        #: When the latest call left (the event loop's clock), and when the first call at a new pace may leave.
        self._left_at: float | None = None
        self._resume_at = 0.0

    @staticmethod
    def _make(rate: float) -> AsyncLimiter:
        pace = rate / (1 + STRETCH)
        depth = 1 + pace * CATCH_UP_S
        return AsyncLimiter(depth, depth / pace)

    @property
    def period(self) -> float:
        """Seconds between two calls at the current pace."""
        return (1 + STRETCH) / self.rate

    async def acquire(self) -> int:
        """Waits for the call's turn; returns `cuts` as it leaves, for `on_throttle`.

        A change of pace replaces the aiolimiter bucket. A call that was waiting on the old one waits again on the
        new one, so no call leaves at a pace that no longer holds; and the new bucket, empty, would let a call out at
        once, so the first call at a new pace waits until one new period after the latest call left."""
        loop = asyncio.get_running_loop()
        while True:
            limiter = self._limiter
            if (delay := self._resume_at - loop.time()) > 0:
                await asyncio.sleep(delay)
                continue  # the pace may have changed again meanwhile
            await limiter.acquire()
            if limiter is self._limiter:
                self._left_at = loop.time()
                return self.cuts

    def _set_rate(self, rate: float) -> None:
        if rate != self.rate:
            self.rate = rate
            self._limiter = self._make(rate)
            if self._left_at is not None:
                self._resume_at = self._left_at + self.period

    def set_target(self, rate: float) -> None:
        """A new pace to keep to (the limit Egnyte states for the token). Lower, it applies at once; higher, at once
        too unless throttles have cut the pace, which then recovers towards the new target as before."""
        if rate == self.target_rate:
            return
        throttled = self.rate < self.target_rate
        self.target_rate = rate
        self._set_rate(min(self.rate, rate) if throttled else rate)

    def on_throttle(self, cuts_before: int | None = None) -> bool:
        """The server refused a call that left after `cuts_before` cuts (None: unknown, taken as the latest).
        Returns whether the pace was cut: not for a call sent before the latest cut, nor at the floor."""
        if cuts_before is not None and cuts_before < self.cuts:
            return False
        self._streak = 0
        new_rate = max(self.target_rate * FLOOR_SHARE, self.rate * (1 - self.cut))
        self.cut = min(LARGEST_CUT, self.cut * 2)
        if new_rate >= self.rate:
            return False
        self.cuts += 1
        self._set_rate(new_rate)
        return True

    def on_success(self) -> None:
        self._streak += 1
        if self._streak < RECOVERY_STREAK:
            return
        self._streak = 0
        self.cut = max(FIRST_CUT, self.cut / 2)
        if self.rate < self.target_rate:
            self._set_rate(min(self.target_rate, self.rate * RECOVERY_STEP))


class ThrottleGate:
    """Holds every request back until a pause asked for by any one of them has passed."""

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
