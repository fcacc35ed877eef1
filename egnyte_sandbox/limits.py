"""Per-token rate limits as Mashery applies them: a per-second limit and a daily quota.

The per-second limit is a token bucket by default; `limiter_kind` makes it a strict sliding or fixed window
instead (egnyte_sandbox.per_second). Decisions: only admitted calls consume the per-second limit and the quota,
throttled calls do not (Egnyte does not say). The quota day is Egnyte's: it resets at midnight GMT (a captured
response carried `X-Quota-Reset: Wednesday, April 17, 2024 12:00:00 AM GMT`), so the Retry-After of an exhausted
quota is the time left until the next midnight GMT, and every response with quota headers says when that is. The
sandbox's wall time is its `wall_clock` when the limiter was made, moved on by its `clock`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from egnyte_sandbox.config import ANCHOR
from egnyte_sandbox.per_second import PerSecondLimit, per_second_limit, retry_after

DAY_S = 86_400.0


def quota_reset_text(moment: datetime) -> str:
    """`Wednesday, April 17, 2024 12:00:00 AM GMT`, as Egnyte writes X-Quota-Reset (English names, any locale)."""
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    months = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")  # fmt: skip
    moment = moment.astimezone(timezone.utc)
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return (
        f"{days[moment.weekday()]}, {months[moment.month - 1]} {moment.day}, {moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {half} GMT"
    )


@dataclass
class _Budget:
    #: None without a per-second limit.
    per_second: PerSecondLimit | None
    #: The end of the quota day the calls below were counted in (epoch seconds), None before the first call.
    day_end: float | None = None
    day_calls: int = 0
    recent: deque[float] = field(default_factory=deque)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    kind: str | None
    """None when allowed, else "qps" or "quota"."""
    retry_after: int
    headers: dict[str, str]


class RateLimiter:
    """A per-second limit of `limiter_kind` (by default a token bucket: capacity = qps_limit, refilled qps_limit per
    second) plus a daily call quota, per token."""

    def __init__(
        self,
        qps_limit: float | None,
        daily_quota: int | None,
        clock: Callable[[], float],
        headers: bool = True,
        wall_start: datetime = ANCHOR,
        limiter_kind: str = "token_bucket",
    ) -> None:
        self.qps_limit = qps_limit
        self.daily_quota = daily_quota
        self.clock = clock
        self.send_headers = headers
        self.limiter_kind = limiter_kind
        per_second_limit(limiter_kind, 1.0, 0.0)  # an unknown kind fails here, not at the first call
        self._budgets: dict[str, _Budget] = {}
        self._wall_offset = wall_start.timestamp() - clock()

    def wall(self) -> float:
        """The sandbox's wall time now, in epoch seconds."""
        return self.clock() + self._wall_offset

    def next_reset(self) -> float:
        """The next midnight GMT after now (epoch seconds)."""
        return (math.floor(self.wall() / DAY_S) + 1) * DAY_S

    def admit(self, token: str) -> Decision:
        now = self.clock()
        budget = self._budgets.get(token)
        if budget is None:
            per_second = per_second_limit(self.limiter_kind, self.qps_limit, now) if self.qps_limit else None
            budget = self._budgets[token] = _Budget(per_second)
        wall = now + self._wall_offset
        if budget.day_end is not None and wall >= budget.day_end:
            budget.day_end, budget.day_calls = None, 0
        while budget.recent and budget.recent[0] <= now - 1.0:
            budget.recent.popleft()
        if self.daily_quota is not None and budget.day_calls >= self.daily_quota:
            assert budget.day_end is not None
            retry = max(1, math.ceil(budget.day_end - wall))
            return Decision(False, "quota", retry, self._headers(budget))
        if budget.per_second is not None:
            wait = budget.per_second.wait(now, wall)
            if wait > 0:
                return Decision(False, "qps", retry_after(wait), self._headers(budget))
            budget.per_second.admit(now, wall)
            budget.recent.append(now)
        if budget.day_end is None:
            budget.day_end = self.next_reset()
        budget.day_calls += 1
        return Decision(True, None, 0, self._headers(budget))

    def _headers(self, budget: _Budget) -> dict[str, str]:
        if not self.send_headers:
            return {}
        headers: dict[str, str] = {}
        if self.qps_limit:
            headers["X-Accesstoken-Qps-Allotted"] = f"{self.qps_limit:g}"
            headers["X-Accesstoken-Qps-Current"] = str(len(budget.recent))
        if self.daily_quota is not None:
            headers["X-Accesstoken-Quota-Allotted"] = str(self.daily_quota)
            headers["X-Accesstoken-Quota-Current"] = str(budget.day_calls)
            reset = self.next_reset() if budget.day_end is None else budget.day_end
            headers["X-Quota-Reset"] = quota_reset_text(datetime.fromtimestamp(reset, timezone.utc))
        return headers

    def reset(self) -> None:
        """Forget every token's usage: a new day and a full bucket for everyone."""
        self._budgets.clear()
