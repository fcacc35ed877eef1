"""Validation of paging parameters, with the UNSURE behaviours (count above the maximum) behind switches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_COUNT = 100


class ApiError(Exception):
    """A request the API refuses; rendered as a v1 or v2 error body by the endpoint that raised it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Page:
    """A validated page request. `start` is the 0-based position of the first record."""

    start: int
    count: int
    requested: int
    """The count as asked for, before clamping: what `itemsPerPage` echoes in the "requested" variant."""


def integer(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value for parameter {name}: {raw!r}.") from None


def page_size(params: Mapping[str, str], maximum: int, over_max: str) -> tuple[int, int]:
    """(effective count, requested count). Over the maximum: clamped or refused, per the `over_max_count` switch."""
    requested = integer(params, "count", DEFAULT_COUNT)
    if requested < 0:
        raise ApiError(400, f"Invalid value for parameter count: {requested}. It must not be negative.")
    if requested > maximum and over_max == "reject":
        raise ApiError(400, f"Invalid value for parameter count: {requested}. The maximum is {maximum}.")
    return min(requested, maximum), requested


def scim_page(params: Mapping[str, str], maximum: int, over_max: str) -> Page:
    """SCIM paging: `startIndex` is 1-based and must be at least 1."""
    start_index = integer(params, "startIndex", 1)
    if start_index < 1:
        raise ApiError(400, f"Invalid value for parameter startIndex: {start_index}. It must be at least 1.")
    count, requested = page_size(params, maximum, over_max)
    return Page(start_index - 1, count, requested)


def offset_page(params: Mapping[str, str], maximum: int, over_max: str, base: int = 0) -> Page:
    """v1 paging: `offset` counts from `base` (0 as documented; 1 as a variant the connector must survive)."""
    offset = integer(params, "offset", base)
    if offset < base:
        raise ApiError(400, f"Invalid value for parameter offset: {offset}.")
    count, requested = page_size(params, maximum, over_max)
    return Page(offset - base, count, requested)
