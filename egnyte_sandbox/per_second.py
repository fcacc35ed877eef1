"""The per-second limit of one token, in the three shapes API gateways give it (`limiter_kind`).

Egnyte does not say how its gateway counts calls per second, and gateways differ: Mashery-style token buckets
forgive a burst of a second's worth, while others count calls in a strict sliding window of one second, or in
fixed windows that start at each calendar second. A client paced for one may be throttled by another, so the
sandbox serves each:

- `token_bucket`: a bucket of `max(1, qps)` calls, refilled at `qps` a second; a full bucket admits a burst.
- `sliding_window`: at most `qps` admitted calls in any window of one second: a call at `t` is admitted when fewer
  than `qps` calls were admitted in `(t - 1, t]`, so the call `qps` places later must come a whole second after.
- `fixed_window`: at most `qps` admitted calls in each calendar second of the sandbox's wall clock, `[k, k + 1)`;
  the count starts again at every whole second, with no burst allowance carried over.

For the windows, a limit below one call a second allows one call per window of `1 / qps` seconds, and a fractional
limit above one is rounded down (`2.5` allows two calls a second): a window holds whole calls. Only admitted calls
are counted; `wait` says how long until a call would be admitted, from which the gateway makes Retry-After.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

LIMITER_KINDS = ("token_bucket", "sliding_window", "fixed_window")
#: Float noise below this is not a time to wait.
_EPSILON = 1e-9


class PerSecondLimit(Protocol):
    def wait(self, now: float, wall: float) -> float:
        """Seconds until a call may be admitted (0.0: now). `now` is the monotonic clock, `wall` epoch seconds."""
        ...

    def admit(self, now: float, wall: float) -> None:
        """Counts a call admitted at this instant (only after `wait` said 0)."""
        ...


def _window(qps: float) -> tuple[float, int]:
    """The window's length in seconds and the whole calls it holds."""
    seconds = max(1.0, 1.0 / qps)
    return seconds, max(1, math.floor(qps * seconds + _EPSILON))


class TokenBucket:
    """Capacity `max(1, qps)`, refilled `qps` a second, full at first."""

    def __init__(self, qps: float, now: float) -> None:
        self.qps = qps
        self.capacity = max(1.0, qps)
        self.tokens = self.capacity
        self.refilled_at = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.refilled_at) * self.qps)
        self.refilled_at = now

    def wait(self, now: float, wall: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.qps

    def admit(self, now: float, wall: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


class SlidingWindow:
    """The admitted calls of the last window, oldest first; a call that left the window no longer counts."""

    def __init__(self, qps: float) -> None:
        self.seconds, self.calls = _window(qps)
        self.admitted: deque[float] = deque()

    def _forget(self, now: float) -> None:
        while self.admitted and self.admitted[0] <= now - self.seconds:
            self.admitted.popleft()

    def wait(self, now: float, wall: float) -> float:
        self._forget(now)
        if len(self.admitted) < self.calls:
            return 0.0
        return max(0.0, self.admitted[0] + self.seconds - now)

    def admit(self, now: float, wall: float) -> None:
        self._forget(now)
        self.admitted.append(now)


class FixedWindow:
    """Calls counted per calendar window of the wall clock (`[k, k + 1)` seconds at one call a second or more)."""

    def __init__(self, qps: float) -> None:
        self.seconds, self.calls = _window(qps)
        self.index: int | None = None
        self.count = 0

    def _roll(self, wall: float) -> int:
        index = math.floor(wall / self.seconds)
        if index != self.index:
            self.index, self.count = index, 0
        return index

    def wait(self, now: float, wall: float) -> float:
        index = self._roll(wall)
        if self.count < self.calls:
            return 0.0
        return max(0.0, (index + 1) * self.seconds - wall)

    def admit(self, now: float, wall: float) -> None:
        self._roll(wall)
        self.count += 1


def per_second_limit(kind: str, qps: float, now: float) -> PerSecondLimit:
    """A fresh limit of `kind` for one token, first used at `now`."""
    if kind == "token_bucket":
        return TokenBucket(qps, now)
    if kind == "sliding_window":
        return SlidingWindow(qps)
    if kind == "fixed_window":
        return FixedWindow(qps)
    raise ValueError(f"limiter_kind={kind!r}; expected one of {LIMITER_KINDS}")


def retry_after(wait: float) -> int:
    """Whole seconds, rounded up and at least one, as gateways write Retry-After."""
    return max(1, math.ceil(wait - _EPSILON))
