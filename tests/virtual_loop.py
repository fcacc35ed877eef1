"""An asyncio event loop on virtual time, for code that reads the loop's own clock (aiolimiter does).

The loop's `time()` moves only when the loop would otherwise wait for its next timer: it jumps to that timer at
once, plus `lateness(delay)` if given, which stands for the timer lateness of a real loop. So a test of pacing over
minutes runs in milliseconds. Every turn of the loop also takes `TICK_S`, as on a real one: code that waits for
time to pass (aiolimiter recomputes what is left and sets its timer again) would otherwise spin at one instant.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
#: What one turn of the loop costs in virtual time.
TICK_S = 1e-7


class _FastForwardSelector(selectors.DefaultSelector):
    """Polls real I/O without blocking; a wait for the next timer moves the loop's clock instead."""

    def __init__(self, advance: Callable[[float], None]) -> None:
        super().__init__()
        self._advance = advance

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None:
            self._advance(timeout)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, lateness: Callable[[float], float] | None = None, start: float = 0.0) -> None:
        self.now = start
        self._lateness = lateness
        super().__init__(_FastForwardSelector(self._advance))

    def _advance(self, delay: float) -> None:
        late = self._lateness(delay) if self._lateness and delay > 0 else 0.0
        self.now += delay + TICK_S + late

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[], Awaitable[T]], lateness: Callable[[float], float] | None = None) -> T:
    """Runs `main()` to its end on a fresh VirtualTimeLoop."""
    loop = VirtualTimeLoop(lateness)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()
