"""Rendering and parsing of timestamps in every format the Egnyte API is known to use.

Rendering is on the hot path of every page, so it is reduced to string concatenation: each calendar day of the
tenant's history is rendered once (a few thousand strings), and generated timestamps pick their time of day
from a fixed pool of 4,096 pre-rendered times. `epoch_ms` uses integers in both tables, so the same `+` yields a
number. Exact timestamps (notes, whose order lives in their creation time) use a per-second table instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from functools import lru_cache

DATE_FORMATS = ("egnyte", "z", "offset", "date", "rfc1123", "epoch_ms")

MS_PER_DAY = 86_400_000
TOD_POOL = 4096
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SUFFIX = {"egnyte": "+0000", "z": "Z", "offset": "+00:00"}
#: What a rendered timestamp keeps of its instant: plain dates keep the day, RFC 1123 whole seconds, the rest all.
PRECISION_MS = {"egnyte": 1, "z": 1, "offset": 1, "date": MS_PER_DAY, "rfc1123": 1000, "epoch_ms": 1}


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are taken as UTC, as Egnyte does)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _render_day(fmt: str, day: int) -> str | int:
    if fmt == "epoch_ms":
        return day * MS_PER_DAY
    d = date.fromordinal(_EPOCH_ORDINAL + day)
    if fmt == "rfc1123":
        return f"{_WEEKDAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year:04d} "
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _tod_ms(k: int) -> int:
    """Time of day (ms) of pool entry k: spread over the whole day, not on round numbers."""
    step = MS_PER_DAY // TOD_POOL
    return k * step + (k * 7919) % step


def _render_tod(fmt: str, ms: int) -> str | int:
    if fmt == "epoch_ms":
        return ms
    if fmt == "date":
        return ""
    seconds, millis = divmod(ms, 1000)
    minutes, sec = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    if fmt == "rfc1123":
        return f"{hour:02d}:{minute:02d}:{sec:02d} GMT"
    return f"T{hour:02d}:{minute:02d}:{sec:02d}.{millis:03d}{_SUFFIX[fmt]}"


@lru_cache(maxsize=16)
def _tables(fmt: str, first_day: int, days: int) -> tuple[tuple[str | int, ...], tuple[str | int, ...]]:
    day_table = tuple(_render_day(fmt, first_day + d) for d in range(days))
    tod_table = tuple(_render_tod(fmt, _tod_ms(k)) for k in range(TOD_POOL))
    return day_table, tod_table


@lru_cache(maxsize=8)
def _minutes(fmt: str) -> tuple[str, ...]:
    """`Thh:mm:` (or `hh:mm:` for RFC 1123) for every minute of a day, for exact rendering."""
    prefix = "" if fmt == "rfc1123" else "T"
    return tuple(f"{prefix}{m // 60:02d}:{m % 60:02d}:" for m in range(1440))


class DateRenderer:
    """Renders timestamps in one of DATE_FORMATS, for days in [first_day, first_day + days)."""

    def __init__(self, fmt: str, first_day: int, days: int) -> None:
        if fmt not in DATE_FORMATS:
            raise ValueError(f"unknown date format {fmt!r}; expected one of {DATE_FORMATS}")
        self.fmt = fmt
        self.first_day = first_day
        self.day_table, self.tod_table = _tables(fmt, first_day, days)
        # The same tables as epoch milliseconds: `day_ms_table[d] + tod_ms_table[k]` is the instant that
        # `day_table[d] + tod_table[k]` renders, whatever the format.
        self.day_ms_table, self.tod_ms_table = _tables("epoch_ms", first_day, days)
        self.precision_ms = PRECISION_MS[fmt]
        self._minutes = _minutes(fmt)

    def pair(self, day: int, k: int) -> str | int:
        """Day `day` (since the epoch) at pooled time of day `k`; the fast path for generated timestamps."""
        return self.day_table[day - self.first_day] + self.tod_table[k & (TOD_POOL - 1)]  # type: ignore[operator]

    def pair_ms(self, day: int, k: int) -> int:
        """The instant `pair(day, k)` renders, as epoch milliseconds."""
        return day * MS_PER_DAY + _tod_ms(k & (TOD_POOL - 1))

    def served_ms(self, ms: int) -> int:
        """The instant a rendering of `ms` tells a reader: `ms` cut to the format's precision (midnight UTC of its
        day for plain dates, its whole second for RFC 1123, `ms` itself for the others)."""
        return ms - ms % self.precision_ms

    def exact(self, ms: int) -> str | int:
        """Any epoch-ms timestamp, to the millisecond."""
        fmt = self.fmt
        if fmt == "epoch_ms":
            return ms
        day, rest = divmod(ms, MS_PER_DAY)
        index = day - self.first_day
        day_text = self.day_table[index] if 0 <= index < len(self.day_table) else _render_day(fmt, day)
        if fmt == "date":
            return day_text
        minute, rest = divmod(rest, 60_000)
        second, millis = divmod(rest, 1000)
        if fmt == "rfc1123":
            return f"{day_text}{self._minutes[minute]}{second:02d} GMT"
        return f"{day_text}{self._minutes[minute]}{second:02d}.{millis:03d}{_SUFFIX[fmt]}"


def parse_bound(value: str, mode: str) -> int:
    """Parse a notes `start_time`/`end_time` value into epoch ms, or raise ValueError.

    mode "iso" accepts any ISO-8601 date or date-time (a missing offset means UTC, `+0000` is accepted);
    mode "date" accepts only `YYYY-MM-DD`, which is what one of the SDKs sends. A date alone means midnight UTC.
    """
    text = value.strip()
    if mode == "date" and not _DATE_ONLY.match(text):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 date-time: {value!r}") from exc
    return to_ms(moment)
