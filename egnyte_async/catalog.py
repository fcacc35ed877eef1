"""The streams this connector syncs, in the order they are synced and reported.

A stream is declared once, in its module under `streams/`; this list is the only other place that names it.
`connector.schema`, the settings (one `enable_<name>` switch per stream), the state and the pipeline all read it.
"""

from __future__ import annotations

from typing import Any

from egnyte_async.schema import Table
from egnyte_async.streams import bookmarks, events, groups, notes, users
from egnyte_async.streams.base import Stream

CATALOG: tuple[Stream[Any], ...] = (users.STREAM, groups.STREAM, notes.STREAM, bookmarks.STREAM, events.STREAM)


def stream_named(name: str) -> Stream[Any]:
    for stream in CATALOG:
        if stream.name == name:
            return stream
    raise KeyError(f"no stream named {name!r}; known: {', '.join(stream.name for stream in CATALOG)}")


def all_tables() -> tuple[Table, ...]:
    """Every destination table of every stream, each once."""
    return tuple(table for stream in CATALOG for table in stream.tables)


def table_named(name: str) -> Table:
    for table in all_tables():
        if table.name == name:
            return table
    raise KeyError(f"no table named {name!r}")
