"""Timestamp rendering and the parsing of notes time bounds."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from egnyte_sandbox.dates import MS_PER_DAY, DateRenderer, parse_bound, to_ms

LEAP = to_ms(datetime(2024, 2, 29, 23, 59, 59, 999_000, tzinfo=timezone.utc))
DAY = LEAP // MS_PER_DAY


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("egnyte", "2024-02-29T23:59:59.999+0000"),
        ("z", "2024-02-29T23:59:59.999Z"),
        ("offset", "2024-02-29T23:59:59.999+00:00"),
        ("date", "2024-02-29"),
        ("rfc1123", "Thu, 29 Feb 2024 23:59:59 GMT"),
        ("epoch_ms", LEAP),
    ],
)
def test_exact_rendering(fmt: str, expected: str | int) -> None:
    assert DateRenderer(fmt, DAY - 10, 20).exact(LEAP) == expected
    assert DateRenderer(fmt, DAY + 100, 5).exact(LEAP) == expected  # outside the table: computed on the spot


@pytest.mark.parametrize("fmt", ["egnyte", "epoch_ms", "rfc1123"])
def test_pooled_times_agree_with_exact_rendering(fmt: str) -> None:
    renderer = DateRenderer(fmt, DAY - 10, 20)
    for k in (0, 1, 2047, 4095):
        assert renderer.pair(DAY, k) == renderer.exact(renderer.pair_ms(DAY, k))


def test_unknown_format() -> None:
    with pytest.raises(ValueError):
        DateRenderer("julian", 0, 1)


def test_parse_bound_iso_forms() -> None:
    assert parse_bound("2024-02-29T23:59:59.999+0000", "iso") == LEAP
    assert parse_bound("2024-02-29T23:59:59.999Z", "iso") == LEAP
    assert parse_bound("2024-03-01T01:59:59.999+02:00", "iso") == LEAP
    assert parse_bound("2024-02-29T23:59:59.999", "iso") == LEAP  # no offset: UTC
    assert parse_bound("2024-02-29", "iso") == DAY * MS_PER_DAY
    with pytest.raises(ValueError):
        parse_bound("last tuesday", "iso")


def test_parse_bound_date_mode_accepts_only_dates() -> None:
    assert parse_bound("2024-02-29", "date") == DAY * MS_PER_DAY
    with pytest.raises(ValueError):
        parse_bound("2024-02-29T00:00:00Z", "date")
