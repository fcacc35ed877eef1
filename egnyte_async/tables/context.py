"""What every stream needs while it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from egnyte_async.client import EgnyteClient
from egnyte_async.log import Log
from egnyte_async.mapping import RecordError, cap_long_values

#: The most records Egnyte returns in one page of any of the four listings.
EGNYTE_MAX_PAGE_SIZE = 100


@dataclass
class StreamContext:
    client: EgnyteClient
    log: Log
    page_size: int
    #: Pages of one listing read ahead of the one handed out.
    window: int
    now: datetime
    initial_sync_days: int = 90
    #: Per-record calls (group details, users' bookmarks) run at once: as many as requests may be in flight, no
    #: more, so that under a tight budget the calls spent are those of the first records, which complete.
    fan_out: int = 8


def clamp_page_size(requested: int, log: Log) -> int:
    if requested > EGNYTE_MAX_PAGE_SIZE:
        log.info(
            f"max_records_per_page={requested} is above Egnyte's maximum of {EGNYTE_MAX_PAGE_SIZE} records a page; "
            f"using {EGNYTE_MAX_PAGE_SIZE}"
        )
        return EGNYTE_MAX_PAGE_SIZE
    return requested


def map_records(
    table: str, records: Iterable[dict], mapper: Callable[..., dict[str, Any]], log: Log, *args: Any
) -> list[tuple[str, dict[str, Any]]]:
    """Maps records to rows; a record that cannot become a row (no usable id) is reported, never silently lost."""
    rows = []
    for record in records:
        try:
            rows.append((table, cap_long_values(table, mapper(record, *args, warn=log.warning), log.warning)))
        except RecordError as error:
            log.warning(f"{table}: skipped a record that cannot be stored: {error}")
    return rows
