"""Egnyte's many date formats, read into one instant and written out in one canonical form.

Egnyte's endpoints disagree on how they write a moment: `2016-05-18T17:56:39.975+0000`, `...Z`, `+00:00`, other
offsets, 0 to 6 fractional digits, bare `YYYY-MM-DD`, RFC 1123 (`Tue, 14 Apr 2015 09:25:21 GMT`) and epoch numbers.
Every value leaves this module as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, always three fractional digits), so that two
renderings of the same instant compare equal as strings, whatever the endpoint that produced them.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

__all__ = ["format_for_notes_filter", "parse_egnyte_datetime", "to_utc_iso"]

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_ZERO = timedelta(0)

# Epoch numbers come in seconds or milliseconds. 1e11 seconds is the year 5138 while 1e11 milliseconds is March 1973,
# so below it a value can only sensibly be seconds, and at or above it only milliseconds.
_EPOCH_MILLISECONDS_FROM = 100_000_000_000

_ASCII_DIGITS = frozenset("0123456789")


def _fromisoformat_compat(text: str) -> datetime:
    """`datetime.fromisoformat` for Python 3.10, which only reads what `isoformat()` writes.

    Rewrites the variants Egnyte uses into that narrow shape: `Z` becomes `+00:00`, `+HHMM` and `+HH` gain their
    colon and minutes, and the fraction is padded or cut to six digits (digits past the microsecond are dropped).
    """
    if text[-1] in "Zz":
        body, offset = text[:-1], "+00:00"
    else:
        sign_at = max(text.rfind("+"), text.rfind("-"))
        if sign_at > 10:  # past the dashes of the date part
            body, offset = text[:sign_at], text[sign_at:]
            digits = offset[1:]
            if len(digits) == 4 and _ASCII_DIGITS.issuperset(digits):
                offset = f"{offset[0]}{digits[:2]}:{digits[2:]}"
            elif len(digits) == 2 and _ASCII_DIGITS.issuperset(digits):
                offset = f"{offset[0]}{digits}:00"
        else:
            body, offset = text, ""
    dot_at = body.find(".", 11)
    if dot_at == -1:
        dot_at = body.find(",", 11)
    if dot_at != -1:
        fraction = body[dot_at + 1 :]
        if not fraction or not _ASCII_DIGITS.issuperset(fraction):
            raise ValueError(text)
        body = f"{body[:dot_at]}.{fraction[:6].ljust(6, '0')}"
    return datetime.fromisoformat(body + offset)


# From 3.11 on, fromisoformat reads every ISO 8601 variant Egnyte sends, in C: no rewriting needed.
_fromisoformat = datetime.fromisoformat if sys.version_info >= (3, 11) else _fromisoformat_compat


def _from_epoch(number: int | float) -> datetime:
    if -_EPOCH_MILLISECONDS_FROM < number < _EPOCH_MILLISECONDS_FROM:
        return _EPOCH + timedelta(seconds=number)
    return _EPOCH + timedelta(milliseconds=number)


def _is_epoch_text(text: str) -> bool:
    """True for `1463594199975`, `-86400` or `1463594199.975`: digits, an optional sign and at most one dot."""
    digits = text[1:] if text[0] in "+-" else text
    whole, _, fraction = digits.partition(".")
    return bool(whole) and _ASCII_DIGITS.issuperset(whole) and _ASCII_DIGITS.issuperset(fraction)


def _to_utc(moment: datetime) -> datetime:
    if moment.utcoffset():
        return moment.astimezone(_UTC)
    if moment.tzinfo is _UTC:
        return moment
    return moment.replace(tzinfo=_UTC)  # naive (taken as UTC) or another zero-offset tzinfo


def _parse_text(text: str) -> datetime:
    if len(text) >= 10 and text[4] == "-":
        try:
            return _fromisoformat(text)
        except ValueError:
            return _fromisoformat_compat(text)  # variants even 3.11 refuses, such as a lowercase `z`
    if _is_epoch_text(text):
        return _from_epoch(float(text) if "." in text else int(text))
    # RFC 1123 / RFC 2822, with or without the weekday; the email parser ignores the locale, unlike strptime.
    return parsedate_to_datetime(text)


def parse_egnyte_datetime(value: object) -> datetime | None:
    """The instant `value` denotes, as an aware UTC datetime; None for None or an empty string.

    Accepts strings in any format Egnyte uses, epoch numbers (ints, floats or numeric strings, seconds below 1e11,
    milliseconds from there up), `datetime` (naive means UTC) and `date` (midnight UTC).
    Raises ValueError naming the value when it is none of these.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return _to_utc(_parse_text(text))
        except (ValueError, TypeError, IndexError, OverflowError):
            raise ValueError(f"{value!r} is not a date or time Egnyte uses") from None
    if isinstance(value, datetime):
        return _to_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=_UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _from_epoch(value)
        except (ValueError, OverflowError):
            raise ValueError(f"{value!r} is out of range as an epoch time") from None
    raise ValueError(f"{value!r} (a {type(value).__name__}) is not a date or time")


def _is_canonical_prefix(text: str) -> bool:
    """True when `text[:23]` is laid out as `YYYY-MM-DDTHH:MM:SS.mmm` and an offset or `Z` follows.

    Only meaningful once `text` has been read as a valid ISO date-time: together they prove that `text[:23]`
    is the canonical rendering of the instant, if the offset is zero.
    """
    return (
        text[23] in "Z+-"
        and text[19] == "."
        and text[10] == "T"
        and text[4] == "-"
        and text[7] == "-"
        and text[13] == ":"
        and text[16] == ":"
    )


def to_utc_iso(value: object) -> str | None:
    """`value` (anything `parse_egnyte_datetime` reads) as `YYYY-MM-DDTHH:MM:SS.mmmZ`; None for None or "".

    Sub-millisecond digits are cut, not rounded, so that the result never moves into the next second or day.
    """
    if type(value) is str and len(value) > 23 and _is_canonical_prefix(value):
        # Egnyte's usual `2016-05-18T17:56:39.975+0000` needs only a check and a slice, not a re-rendering.
        try:
            offset = _fromisoformat(value).utcoffset()
        except ValueError:
            pass  # the full path below reports it
        else:
            if not offset:
                return value[:23] + "Z"
    moment = parse_egnyte_datetime(value)
    if moment is None:
        return None
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 -- measurably faster than the alternatives
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 1000,
    )


def format_for_notes_filter(moment: datetime, style: Literal["iso", "date"]) -> str:
    """`moment` as a `start_time`/`end_time` value for the notes listing: `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD`.

    Egnyte's SDKs disagree on the format the notes filter accepts, so the caller picks the style; both are in UTC
    (a naive `moment` is taken as UTC). The `date` style drops the time of day, so a filter built with it reaches
    back to midnight: the caller must expect notes it has already seen.
    """
    utc = _to_utc(moment)
    if style == "iso":
        return utc.replace(tzinfo=None, microsecond=0).isoformat() + "Z"
    if style == "date":
        return utc.date().isoformat()
    raise ValueError(f"unknown notes filter style {style!r}: use 'iso' or 'date'")
