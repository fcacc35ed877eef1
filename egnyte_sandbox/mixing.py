"""Cheap deterministic integer hashing.

Every generated value (names, flags, dates, ids) is a pure function of a record's ordinal and the seed, so any
page can be produced without generating the records before it. SplitMix64's finaliser costs well under a
microsecond in CPython and its bits are uniform enough to slice into several independent choices.
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1


def mix64(value: int) -> int:
    """Scramble a non-negative integer into 64 uniformly distributed bits (SplitMix64 finaliser)."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def salt(seed: int, label: str) -> int:
    """A 64-bit salt unique to (seed, label), so two resources with the same ordinal do not look alike."""
    value = mix64(seed & MASK64)
    for char in label:
        value = mix64(value ^ ord(char))
    return value


def unit(value: int) -> float:
    """Map 64 hashed bits to a float in [0, 1)."""
    return (value >> 11) / float(1 << 53)


GOLDEN = 0x9E3779B97F4A7C15


def spin(value: int) -> int:
    """A second, cheaper set of 64 bits from an already mixed value (one multiply instead of a full mix)."""
    return (value * GOLDEN) & MASK64


def uuid_text(hi: int, lo: int) -> str:
    """Format 128 bits as a version-4-looking UUID; the first twelve hex digits are hi's top 48 bits, as is.

    Putting an order-carrying integer at the front of `hi` makes string order follow numeric order, which is
    how groups and notes get ids that sort the way their listings do.
    """
    digits = "%016x%016x" % (hi, lo)  # noqa: UP031 (measurably faster than an f-string with slices)
    head = digits[:8] + "-" + digits[8:12] + "-4" + digits[13:16] + "-"
    return head + "89ab"[lo >> 62] + digits[17:20] + "-" + digits[20:]
