"""What crosses from the event loop to the drain loop: pages of rows with the position they complete, and endings.

A position rides behind the rows it covers, in the same queue, so the drain loop can only ever record a position
after upserting every row before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Rows:
    """Rows of one stream (destination table, row) and that stream's state once they are written."""

    stream: str
    rows: list[tuple[str, dict[str, Any]]]
    position: dict[str, Any]
    total: int | None = None


@dataclass(slots=True)
class Finished:
    """A stream read everything it had to read."""

    stream: str


@dataclass(slots=True)
class Stopped:
    """A stream stopped early because the day's request budget is spent; it resumes next sync."""

    stream: str
    reason: str
    reset_after: float | None = None


@dataclass(slots=True)
class Failed:
    """A stream hit an error that ends the sync, after everything before it is written."""

    stream: str
    error: BaseException


Item = Rows | Finished | Stopped | Failed


@dataclass
class StreamProgress:
    rows: int = 0
    total: int | None = None
