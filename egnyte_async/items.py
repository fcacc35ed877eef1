"""What crosses from the event loop to the drain loop: pages of rows with the state they complete, and endings.

A stream's state rides behind the rows it covers, in the same queue, so the drain loop can only ever record a
position after upserting every row before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from egnyte_async.sizes import record_chars
from egnyte_async.state import StreamState


@dataclass(frozen=True, slots=True)
class Refreshed:
    """`scope` (a user, a group, a user's bookmarks) was read whole and holds exactly `children`. `meets`: the read
    is part of the stream's scan, so the scope counts as met by it; a fan-out after the scan (a group's members,
    read once the group listing is over) is not, lest a scope met after one scan be taken as met by the next."""

    scope: int | str
    children: frozenset[int] = frozenset()
    meets: bool = True


@dataclass(frozen=True, slots=True)
class Kept:
    """`scope` exists but could not be read: what the destination holds of it stays."""

    scope: int | str


@dataclass(frozen=True, slots=True)
class Completed:
    """The stream's scan is over: the scopes it did not meet are gone from Egnyte."""


@dataclass(frozen=True, slots=True)
class Present:
    """Every scope that exists: the users of a users scan completed in this sync. Scopes not among them are gone,
    with their children (a deleted user's bookmarks), whether or not the stream read them this sync."""

    scopes: frozenset[int | str]


@dataclass(frozen=True, slots=True)
class Gone:
    """`scope` was read on its own and is gone from Egnyte (a group's detail call answered 404): its row and its
    children are deleted at once."""

    scope: int | str


Mark = Refreshed | Kept | Completed | Present | Gone


@dataclass(slots=True)
class Batch:
    """What a stream yields: rows (destination table, row) and the stream's state once they are written."""

    rows: list[tuple[str, dict[str, Any]]]
    state: StreamState
    #: Records in the stream's listing, when it says; and how many of them the scan has passed once these rows are
    #: written (for progress lines).
    total: int | None = None
    #: What the rows tell the stream's ledger (see egnyte_async.ledger), applied once the rows are written.
    marks: tuple[Mark, ...] = ()
    reached: int | None = None
    #: Rows Egnyte says are gone, as (destination table, primary key), soft-deleted right after `rows` are written.
    deletes: tuple[tuple[str, dict[str, Any]], ...] = ()
    #: The characters of text the rows hold: what they weigh in memory, near enough, whatever their count.
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = sum(record_chars(row) for _, row in self.rows)


@dataclass(slots=True)
class Rows:
    """A batch of one stream, on its way to the drain loop."""

    stream: str
    batch: Batch


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


@dataclass(slots=True)
class ListingsOver:
    """Every stream's listing is over (see streams/phases.py): whatever comes after this is the fan-outs'."""


Item = Rows | Finished | Stopped | Failed | ListingsOver


def unknown_item(item: NoReturn) -> NoReturn:
    """Called where every kind of Item has been handled: a new kind left unhandled is a type error, and at run time
    an error rather than an item silently dropped."""
    raise TypeError(f"unknown queue item {item!r}")
