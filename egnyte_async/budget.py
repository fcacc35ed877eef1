"""The daily request quota: how many calls this sync may still make.

Egnyte allows a token a fixed number of calls a day (1,000 by default). The connector keeps its own count in the
state, across syncs, so that a tenant too large for one day is finished by successive syncs, each taking its share
(`daily_request_limit * sync_frequency_hours / 24`, at least `MIN_CALLS_PER_SYNC`, the whole day's remainder at
most), and the quota is never overrun. Egnyte's `X-Accesstoken-Quota-*` headers, when present, are the better
truth and tighten the count.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from egnyte_async.errors import QuotaExhaustedError
from egnyte_async.log import Log
from egnyte_async.state import report_unreadable

DAY = timedelta(days=1)
#: The fewest calls a sync may spend when the day's remainder allows them, whatever its share by the schedule.
#: A sync's fixed costs come first: the token check (1 call) and the first page of each of the four streams (4).
#: Only then do pages add rows, and groups and bookmarks spend one call per record, up to `max_concurrent_requests`
#: (16 by default) at a time. A share of 1 (daily_request_limit 1000 every 0.0001 h) went on the token check, and
#: nothing ever synced; 25 covers the fixed costs and a full round of per-record calls with room for a few pages.
#: The floor never takes a call beyond the day's remainder, so the day's syncs together still stay within
#: `daily_request_limit`: frequent syncs merely spend the day's calls sooner.
MIN_CALLS_PER_SYNC = 25


@dataclass
class QuotaWindow:
    """Calls made since `started`, the beginning of the current 24-hour quota window."""

    started: datetime
    calls: int = 0

    def to_state(self) -> dict[str, str | int]:
        return {"window_started": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"), "calls": self.calls}

    @classmethod
    def from_state(cls, state: Any, now: datetime, log: Log) -> QuotaWindow:
        """Restores the window; a window older than a day (or missing) starts afresh at `now`, and so does an
        unreadable one or one that starts in the future, with a warning: the count restarts from 0, and Egnyte's
        quota headers, when it sends them, still tell the day's true count."""
        if state is None or state == {}:
            return cls(started=now)
        started, calls = _read_window(state)
        if started is None or calls is None:
            report_unreadable(log, "quota", "'quota'", state, _AFRESH)
            return cls(started=now)
        if now < started:
            log.warning(
                f"quota: the saved window starts in the future ({state['window_started']}, the sync began at "
                f"{now:%Y-%m-%dT%H:%M:%SZ}): a clock or state problem; {_AFRESH}"
            )
            return cls(started=now)
        if now - started < DAY:
            return cls(started=started, calls=calls)
        return cls(started=now)


_AFRESH = "the day's request count starts afresh at 0"


def _read_window(state: Any) -> tuple[datetime | None, int | None]:
    """The start and the call count of a saved window, each None when unreadable."""
    if not isinstance(state, Mapping):
        return None, None
    started, calls = state.get("window_started"), state.get("calls")
    moment = None
    if type(started) is str:
        with contextlib.suppress(ValueError):
            moment = datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return moment, calls if type(calls) is int and calls >= 0 else None


class RequestBudget:
    """Counts calls and refuses the one that would go past this sync's share of the quota."""

    def __init__(self, daily_limit: int, sync_frequency_hours: float, window: QuotaWindow, now: datetime) -> None:
        self.daily_limit = daily_limit
        self.window = window
        self._now = now
        remaining_today = max(0, daily_limit - window.calls)
        self.allowed = min(remaining_today, self.share(daily_limit, sync_frequency_hours))
        self.used = 0
        self._server_remaining: int | None = None

    @staticmethod
    def share(daily_limit: int, sync_frequency_hours: float) -> int:
        """A sync's part of the day's calls: the day's limit spread over the syncs of a day, but never fewer than
        `MIN_CALLS_PER_SYNC` (the day's remainder still caps what a sync may spend, see `__init__`)."""
        by_schedule = math.ceil(daily_limit * min(sync_frequency_hours, 24.0) / 24.0)
        return max(by_schedule, MIN_CALLS_PER_SYNC)

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
