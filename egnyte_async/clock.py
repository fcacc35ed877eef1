"""Time as the extractor sees it: a monotonic clock and a way to sleep on it, in one object.

Everything that waits (the rate limiter's gate, retries, the token endpoint's 409) asks the same clock, so a test
or a simulation swaps in virtual time once and no wait costs real seconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Waits `seconds` on this clock."""
        ...


class SystemClock:
    """Real time: `time.monotonic` and `asyncio.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
