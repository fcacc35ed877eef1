"""Per-token rate limits as Mashery applies them: a per-second limit and a daily quota.

Decisions (documented because Egnyte does not say): only admitted calls consume the per-second bucket and the
quota, throttled calls do not; the quota "day" is a fixed 24-hour window that opens with the token's first
admitted call, so the Retry-After of an exhausted quota is the time left in that window.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

DAY_S = 86_400.0


@dataclass
class _Budget:
    tokens: float
    refilled_at: float
    day_start: float | None = None
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
    """Token bucket (capacity = qps_limit, refilled qps_limit per second) plus a daily call quota, per token."""

    def __init__(
        self, qps_limit: float | None, daily_quota: int | None, clock: Callable[[], float], headers: bool = True
    ) -> None:
        self.qps_limit = qps_limit
        self.daily_quota = daily_quota
        self.clock = clock
        self.send_headers = headers
        self.capacity = max(1.0, qps_limit) if qps_limit else 0.0
        self._budgets: dict[str, _Budget] = {}

    def admit(self, token: str) -> Decision:
        now = self.clock()
        budget = self._budgets.get(token)
        if budget is None:
            budget = self._budgets[token] = _Budget(tokens=self.capacity, refilled_at=now)
        if budget.day_start is not None and now >= budget.day_start + DAY_S:
            budget.day_start, budget.day_calls = None, 0
        if self.qps_limit:
            budget.tokens = min(self.capacity, budget.tokens + (now - budget.refilled_at) * self.qps_limit)
            budget.refilled_at = now
            while budget.recent and budget.recent[0] <= now - 1.0:
                budget.recent.popleft()
        if self.daily_quota is not None and budget.day_calls >= self.daily_quota:
            assert budget.day_start is not None
            retry = max(1, math.ceil(budget.day_start + DAY_S - now))
            return Decision(False, "quota", retry, self._headers(budget))
        if self.qps_limit and budget.tokens < 1.0:
            retry = max(1, math.ceil((1.0 - budget.tokens) / self.qps_limit))
            return Decision(False, "qps", retry, self._headers(budget))
        if self.qps_limit:
            budget.tokens -= 1.0
            budget.recent.append(now)
        if budget.day_start is None:
            budget.day_start = now
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
        return headers

    def reset(self) -> None:
        """Forget every token's usage: a new day and a full bucket for everyone."""
        self._budgets.clear()
