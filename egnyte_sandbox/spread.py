"""Per-record counts that vary around a mean yet sum to a closed form.

Bookmarks per user and members per group differ from record to record (some are zero), but the tenant still
has to report totals for a million users without visiting each one. Counts repeat in blocks of eight whose
values always add up to eight times the mean; only the rotation inside each block is hashed.
"""

from __future__ import annotations

from .mixing import mix64


def _pattern(mean: int) -> tuple[int, ...]:
    if mean <= 0:
        return (0,) * 8
    return (0, 2 * mean, mean - 1, mean + 1, mean, mean, mean, mean)


def spread(mean: int, index: int, salt: int) -> int:
    """The count of record `index`: one of 0 .. 2*mean, averaging `mean` over every block of eight."""
    rotation = mix64((index >> 3) ^ salt) & 7
    return _pattern(mean)[((index & 7) + rotation) & 7]


def spread_total(mean: int, size: int, salt: int) -> int:
    """Sum of spread(mean, i) for i in range(size), in O(1)."""
    full = size >> 3
    return full * 8 * max(mean, 0) + sum(spread(mean, i, salt) for i in range(full << 3, size))


def hashed_count(mean: int, value: int) -> int:
    """A count for a record added after start-up (not part of any block): uniform in 0 .. 2*mean."""
    return 0 if mean <= 0 else value % (2 * mean + 1)
