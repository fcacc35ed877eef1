"""The token's limits as Egnyte states them on its responses, and what the connector makes of them.

Egnyte's gateway sends `X-Accesstoken-Qps-Allotted` (calls a second), `X-Accesstoken-Quota-Allotted` (calls a day),
`X-Accesstoken-Quota-Current` (calls counted today) and `X-Quota-Reset` (when the day ends, e.g.
`Wednesday, April 17, 2024 12:00:00 AM GMT`). Any of them may be missing, and a value that cannot be read is
ignored as if it were: a garbled header never stops a sync nor changes its pace.

`requests_per_second` and `daily_request_limit` are `auto` by default: the connector starts at Egnyte's defaults
(2 a second, 1,000 a day) and follows what the server states, up or down. A number the user configured is a cap:
never exceeded, lowered to the server's when the server allows less, and a line in the log says when the server
would allow more.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from egnyte_async.dates import parse_egnyte_datetime
from egnyte_async.log import Log
from egnyte_async.settings import EGNYTE_DEFAULT_DAILY_QUOTA, EGNYTE_DEFAULT_RATE

__all__ = [
    "EGNYTE_DEFAULT_DAILY_QUOTA",
    "EGNYTE_DEFAULT_RATE",
    "QPS_ALLOTTED",
    "QUOTA_ALLOTTED",
    "QUOTA_CURRENT",
    "QUOTA_RESET",
    "LimitPolicy",
    "ServerLimits",
    "read_server_limits",
]

QPS_ALLOTTED = "X-Accesstoken-Qps-Allotted"
QUOTA_ALLOTTED = "X-Accesstoken-Quota-Allotted"
QUOTA_CURRENT = "X-Accesstoken-Quota-Current"
QUOTA_RESET = "X-Quota-Reset"

#: Limits beyond these are not a token's (a garbled header): ignored.
_LARGEST_RATE = 1_000_000.0
_LARGEST_QUOTA = 10**12

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
         "november", "december"),
        start=1,
    )
}  # fmt: skip
# `Wednesday, April 17, 2024 12:00:00 AM GMT`: the weekday and the zone are optional, the seconds too.
_LONG_FORM = re.compile(
    r"^(?:[A-Za-z]+,\s*)?([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?"
    r"\s*(?:GMT|UTC|Z)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ServerLimits:
    """What one response said of the token's limits; None where it said nothing readable."""

    rate: float | None = None
    quota: int | None = None
    used: int | None = None
    resets_at: datetime | None = None


def read_server_limits(headers: Mapping[str, str]) -> ServerLimits:
    """The limits stated in a response's headers (names in any case, as httpx.Headers gives them)."""
    return ServerLimits(
        rate=_rate(headers.get(QPS_ALLOTTED)),
        quota=_count(headers.get(QUOTA_ALLOTTED), smallest=1),
        used=_count(headers.get(QUOTA_CURRENT), smallest=0),
        resets_at=parse_quota_reset(headers.get(QUOTA_RESET)),
    )


def _rate(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        rate = float(text.strip())
    except ValueError:
        return None
    return rate if math.isfinite(rate) and 0 < rate <= _LARGEST_RATE else None


def _count(text: str | None, smallest: int) -> int | None:
    if text is None:
        return None
    digits = text.strip().replace(",", "")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 13:
        return None
    number = int(digits)
    return number if smallest <= number <= _LARGEST_QUOTA else None


def parse_quota_reset(text: str | None) -> datetime | None:
    """The instant an `X-Quota-Reset` names, in UTC: Egnyte's long form, or any date form Egnyte uses elsewhere
    (RFC 1123, ISO 8601, epoch); None when absent or unreadable. A time without a zone is GMT."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    match = _LONG_FORM.match(text)
    if match:
        month_name, day, year, hour, minute, second, half = match.groups()
        month = _month(month_name)
        hours = int(hour)
        if month is None or (half is not None and not 1 <= hours <= 12):
            return None
        if half is not None:
            hours = hours % 12 + (12 if half.lower() == "pm" else 0)
        with contextlib.suppress(ValueError):
            return datetime(int(year), month, int(day), hours, int(minute), int(second or 0), tzinfo=timezone.utc)
        return None
    try:
        return parse_egnyte_datetime(text)
    except ValueError:
        return None


def _month(name: str) -> int | None:
    """January, Jan or jan; None for anything else."""
    name = name.lower()
    if len(name) < 3:
        return None
    return next((number for full, number in _MONTHS.items() if full.startswith(name)), None)


class LimitPolicy:
    """Turns the configured limits (None: `auto`) and what the server states into the limits to keep to.

    With `auto`, the server's figure is taken as it is, above or below Egnyte's default. A configured number is a
    cap: the server's figure lowers it, never raises it, and a server allowing more is said once in the log.
    """

    def __init__(self, configured_rate: float | None, configured_quota: int | None, log: Log) -> None:
        self.configured_rate = configured_rate
        self.configured_quota = configured_quota
        self.log = log
        #: The latest figures the server stated (each kept once seen).
        self.server_rate: float | None = None
        self.server_quota: int | None = None
        self._told: set[tuple[str, float]] = set()

    @property
    def rate(self) -> float:
        """Calls a second to pace to now."""
        return _keep_to(self.configured_rate, self.server_rate, EGNYTE_DEFAULT_RATE)

    @property
    def quota(self) -> int:
        """Calls a day to budget for now."""
        return int(_keep_to(self.configured_quota, self.server_quota, EGNYTE_DEFAULT_DAILY_QUOTA))

    def remember_quota(self, quota: int) -> None:
        """The quota Egnyte stated in an earlier sync (kept in the state): where this sync starts, without a word."""
        self.server_quota = quota

    def observe(self, limits: ServerLimits) -> None:
        if limits.rate is not None:
            self.server_rate = limits.rate
            if self.configured_rate is not None and limits.rate > self.configured_rate:
                self._tell(
                    "requests_per_second",
                    limits.rate,
                    f"Egnyte allows this token {limits.rate:g} calls a second; the connector keeps to "
                    f"requests_per_second={self.configured_rate:g} as configured (set it to auto to follow Egnyte)",
                )
        if limits.quota is not None:
            self.server_quota = limits.quota
            if self.configured_quota is not None and limits.quota > self.configured_quota:
                self._tell(
                    "daily_request_limit",
                    limits.quota,
                    f"Egnyte allows this token {limits.quota:,} calls a day; the connector keeps to "
                    f"daily_request_limit={self.configured_quota} as configured (set it to auto to follow Egnyte)",
                )

    def _tell(self, key: str, value: float, message: str) -> None:
        if (key, value) not in self._told:
            self._told.add((key, value))
            self.log.info(message)

    def describe(self) -> str:
        """The limits kept to and where they come from, for the sync summary."""
        rate = _describe(self.rate, self.configured_rate, self.server_rate, "calls a second", "requests_per_second")
        quota = _describe(self.quota, self.configured_quota, self.server_quota, "calls a day", "daily_request_limit")
        return f"Limits: {rate}; {quota}"


def _keep_to(configured: float | None, server: float | None, default: float) -> float:
    if configured is None:
        return server if server is not None else default
    return min(configured, server) if server is not None else configured


def _describe(kept: float, configured: float | None, server: float | None, unit: str, key: str) -> str:
    told = f"Egnyte states {_figure(server)}" if server is not None else "Egnyte stated none"
    setting = f"{key}={configured:g}" if configured is not None else f"{key}=auto"
    return f"{_figure(kept)} {unit} ({told}; {setting})"


def _figure(number: float) -> str:
    """1,000 or 2 or 0.5."""
    return f"{int(number):,}" if float(number).is_integer() else f"{number:g}"
