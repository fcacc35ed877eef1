"""The daily request quota: how many calls this sync may still make.

Egnyte allows a token a fixed number of calls a day (1,000 by default), counted over Egnyte's day, which ends at
midnight GMT (or at the instant its `X-Quota-Reset` header names). The connector keeps its own count of the day in
the state, across syncs, so that a tenant too large for one day is finished by successive syncs, each taking its
share (`daily limit * sync_frequency_hours / 24`, at least `MIN_CALLS_PER_SYNC`, the whole day's remainder at
most), and the quota is never overrun. Egnyte's `X-Accesstoken-Quota-*` headers, when present, are the better truth
and tighten the count; the daily limit itself follows egnyte_async.limits (`auto` or a configured cap).
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
#: nothing ever synced; 25 covers the fixed costs and a full batch of per-record calls in flight, with room for a few
#: pages.
#: The floor never takes a call beyond the day's remainder, so the day's syncs together still stay within
#: `daily_request_limit`: frequent syncs merely spend the day's calls sooner.
MIN_CALLS_PER_SYNC = 25
#: An X-Quota-Reset is taken as the end of the current day only when it lies this close to the day's expected end;
#: any later names a day that has begun since (a sync running past midnight), any earlier is not believed.
_RESET_LEEWAY = timedelta(hours=12)
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def day_of(now: datetime) -> tuple[datetime, datetime]:
    """The start and end of Egnyte's quota day holding `now`: midnight GMT to midnight GMT."""
    start = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + DAY


@dataclass
class QuotaWindow:
    """Calls made in the current quota day, from `started` until `ends` (a day after `started` unless Egnyte said
    otherwise). `allotted` is the daily quota Egnyte last stated for the token, kept so that the next sync budgets
    by it from its first call."""

    started: datetime
    calls: int = 0
    ends: datetime | None = None
    allotted: int | None = None

    def __post_init__(self) -> None:
        if self.ends is None:
            self.ends = self.started + DAY

    @property
    def end(self) -> datetime:
        assert self.ends is not None  # set by __post_init__
        return self.ends

    @classmethod
    def of_day(cls, now: datetime, calls: int = 0, allotted: int | None = None) -> QuotaWindow:
        """Egnyte's day holding `now` (midnight to midnight GMT)."""
        start, end = day_of(now)
        return cls(started=start, calls=calls, ends=end, allotted=allotted)

    def to_state(self) -> dict[str, str | int]:
        state: dict[str, str | int] = {
            "window_started": self.started.strftime(_FORMAT),
            "window_ends": self.end.strftime(_FORMAT),
            "calls": self.calls,
        }
        if self.allotted is not None:
            state["allotted"] = self.allotted
        return state

    @classmethod
    def from_state(cls, state: Any, now: datetime, log: Log) -> QuotaWindow:
        """Restores the day's count. A day that has ended (or a missing one) gives today's day from 0; so does an
        unreadable one or one that starts in the future, with a warning: the count restarts from 0, and Egnyte's
        quota headers, when it sends them, still tell the day's true count.

        A state of the previous release (`{"window_started", "calls"}`, a 24-hour window opened by its first call)
        is migrated: while that window runs, its calls may have been made today, so they count against today's
        day (never an overrun; at worst a few calls held back until midnight GMT); an older one counts for nothing.
        """
        if state is None or state == {}:
            return cls.of_day(now)
        started, calls = _read_window(state)
        if started is None or calls is None:
            report_unreadable(log, "quota", "'quota'", state, _AFRESH)
            return cls.of_day(now)
        allotted = _read_allotted(state)
        if now < started:
            log.warning(
                f"quota: the saved window starts in the future ({state['window_started']}, the sync began at "
                f"{now:{_FORMAT}}): a clock or state problem; {_AFRESH}"
            )
            return cls.of_day(now, allotted=allotted)
        if "window_ends" not in state:  # the previous release's rolling 24 hours
            return cls.of_day(now, calls=calls if now - started < DAY else 0)
        ends = _read_moment(state["window_ends"])
        if ends is None or not started < ends <= started + DAY + _RESET_LEEWAY:
            report_unreadable(log, "quota", "'quota'", state, _AFRESH)
            return cls.of_day(now, allotted=allotted)
        if now < ends:
            return cls(started=started, calls=calls, ends=ends, allotted=allotted)
        return cls.of_day(now, allotted=allotted)


_AFRESH = "the day's request count starts afresh at 0"


def _read_moment(value: Any) -> datetime | None:
    if type(value) is str:
        with contextlib.suppress(ValueError):
            return datetime.strptime(value, _FORMAT).replace(tzinfo=timezone.utc)
    return None


def _read_window(state: Any) -> tuple[datetime | None, int | None]:
    """The start and the call count of a saved window, each None when unreadable."""
    if not isinstance(state, Mapping):
        return None, None
    started, calls = state.get("window_started"), state.get("calls")
    return _read_moment(started), calls if type(calls) is int and calls >= 0 else None


def _read_allotted(state: Mapping[str, Any]) -> int | None:
    """The quota Egnyte stated last time; None when never stated (or unreadable: it is only a starting point)."""
    allotted = state.get("allotted")
    return allotted if type(allotted) is int and allotted >= 1 else None


class RequestBudget:
    """Counts calls and refuses the one that would go past this sync's share of the quota."""

    def __init__(self, daily_limit: int, sync_frequency_hours: float, window: QuotaWindow, now: datetime) -> None:
        self.window = window
        self.sync_frequency_hours = sync_frequency_hours
        self._now = now
        #: Calls of the day made before this sync.
        self._calls_before = window.calls
        self.daily_limit = daily_limit
        self.allowed = self._allowance(daily_limit)
        self.used = 0
        self._server_remaining: int | None = None

    def _allowance(self, daily_limit: int) -> int:
        remaining_today = max(0, daily_limit - self._calls_before)
        return min(remaining_today, self.share(daily_limit, self.sync_frequency_hours))

    @staticmethod
    def share(daily_limit: int, sync_frequency_hours: float) -> int:
        """A sync's part of the day's calls: the day's limit spread over the syncs of a day, but never fewer than
        `MIN_CALLS_PER_SYNC` (the day's remainder still caps what a sync may spend, see `__init__`)."""
        by_schedule = math.ceil(daily_limit * min(sync_frequency_hours, 24.0) / 24.0)
        return max(by_schedule, MIN_CALLS_PER_SYNC)

    def set_daily_limit(self, daily_limit: int) -> None:
        """The day's limit changed (Egnyte stated the token's quota): this sync's share follows, up or down."""
        if daily_limit != self.daily_limit:
            self.daily_limit = daily_limit
            self.allowed = self._allowance(daily_limit)

    @property
    def remaining(self) -> int:
        own = self.allowed - self.used
        if self._server_remaining is not None:
            return min(own, self._server_remaining)
        return own

    def resets_at(self) -> datetime:
        return self.window.end

    def take(self) -> None:
        """Spends one call, or raises QuotaExhaustedError when this sync's share is used up."""
        if self.remaining <= 0:
            reset_after = max(0.0, (self.resets_at() - self._now).total_seconds())
            raise QuotaExhaustedError(
                f"this sync's share of the daily request quota is spent ({self.used} calls made, "
                f"{self.window.calls} in the current quota day of {self.daily_limit}, which ends "
                f"{self.resets_at():%Y-%m-%d %H:%M} UTC)",
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

    def observe_allotted(self, allotted: int) -> None:
        """The quota Egnyte states for the token, kept in the state for the next sync's first calls."""
        self.window.allotted = allotted

    def observe_reset(self, resets_at: datetime, used: int | None = None) -> None:
        """Egnyte's X-Quota-Reset: the instant the current day ends. Near the day's expected end, it replaces it;
        a later day (midnight passed during the sync) starts a new count, from Egnyte's `used` when given."""
        window = self.window
        if resets_at == window.end or resets_at <= window.started:
            return
        if resets_at <= window.end + _RESET_LEEWAY:
            window.ends = resets_at
            return
        if resets_at <= window.end + DAY + _RESET_LEEWAY:
            window.started, window.ends = resets_at - DAY, resets_at
            window.calls = used if used is not None else 0
            self._server_remaining = None

    def exhaust(self) -> None:
        """Egnyte said the quota is spent (ERR_403_DEVELOPER_OVER_RATE): no further call this sync."""
        self._server_remaining = 0
