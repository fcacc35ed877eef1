"""The daily request quota: how many calls this sync may still make.

Egnyte allows a token a fixed number of calls a day (1,000 by default). The connector keeps its own count in the
state, across syncs, so that a tenant too large for one day is finished by successive syncs, each taking its share
(`daily_request_limit * sync_frequency_hours / 24`, the whole day's remainder at most), and the quota is never
overrun. Egnyte's `X-Accesstoken-Quota-*` headers, when present, are the better truth and tighten the count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from egnyte_async.errors import QuotaExhaustedError

DAY = timedelta(days=1)


@dataclass
class QuotaWindow:
    """Calls made since `started`, the beginning of the current 24-hour quota window."""

    started: datetime
    calls: int = 0

    def to_state(self) -> dict[str, str | int]:
        return {"window_started": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"), "calls": self.calls}

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None, now: datetime) -> QuotaWindow:
        """Restores the window; a window older than a day (or missing, or unreadable) starts afresh at `now`."""
        if state:
            try:
                started = datetime.strptime(state["window_started"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                calls = int(state["calls"])
            except (KeyError, TypeError, ValueError):
                return cls(started=now)
            if timedelta(0) <= now - started < DAY:
                return cls(started=started, calls=max(calls, 0))
        return cls(started=now)


class RequestBudget:
    """Counts calls and refuses the one that would go past this sync's share of the quota."""

    def __init__(self, daily_limit: int, sync_frequency_hours: float, window: QuotaWindow, now: datetime) -> None:
        self.daily_limit = daily_limit
        self.window = window
        self._now = now
        remaining_today = max(0, daily_limit - window.calls)
        share = math.ceil(daily_limit * min(sync_frequency_hours, 24.0) / 24.0)
        self.allowed = min(remaining_today, share)
        self.used = 0
        self._server_remaining: int | None = None

    @property
    def remaining(self) -> int:
        own = self.allowed - self.used
        if self._server_remaining is not None:
            return min(own, self._server_remaining)
        return own

    def resets_at(self) -> datetime:
        return self.window.started + DAY

    def take(self) -> None:
        """Spends one call, or raises QuotaExhaustedError when this sync's share is used up."""
        if self.remaining <= 0:
            reset_after = max(0.0, (self.resets_at() - self._now).total_seconds())
            raise QuotaExhaustedError(
                f"this sync's share of the daily request quota is spent ({self.used} calls made, "
                f"{self.window.calls} in the current 24-hour window of {self.daily_limit})",
                reset_after=reset_after,
            )
        self.used += 1
        self.window.calls += 1
        if self._server_remaining is not None:
            self._server_remaining -= 1

    def observe_server_quota(self, allotted: int, current: int) -> None:
        """Egnyte's own count of the day's calls (response headers) caps what is left.

        It only ever lowers the estimate: a response's count was taken when it was admitted, before the calls
        sent since (already subtracted by `take`), so an answer arriving late must not hand those calls back.
        """
        remaining = max(0, allotted - current)
        if self._server_remaining is None or remaining < self._server_remaining:
            self._server_remaining = remaining

    def exhaust(self) -> None:
        """Egnyte said the quota is spent (ERR_403_DEVELOPER_OVER_RATE): no further call this sync."""
        self._server_remaining = 0
