"""What every stream needs while it runs, and the one way records become rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from egnyte_async.client import EgnyteClient
from egnyte_async.ledger import Ledger
from egnyte_async.log import Log
from egnyte_async.mapping import RecordError, Row, cap_long_values
from egnyte_async.schema import Table
from egnyte_async.settings import Settings
from egnyte_async.streams.phases import FanOutTiers, ListingsBarrier
from egnyte_async.streams.roster import Roster


@dataclass(frozen=True)
class StreamContext:
    client: EgnyteClient
    log: Log
    settings: Settings
    #: When the sync began: the end of a notes window, the base of `initial_sync_days`.
    now: datetime
    #: Pages of one listing read ahead of the one handed out.
    window: int
    #: The drain's ledgers, by stream, for a producer to read what the last complete scan met (`Ledger.knows`);
    #: only the drain thread writes them. Empty: nothing is known, every scope is read.
    ledgers: Mapping[str, Ledger] = field(default_factory=dict)
    #: Where a stream waits, its listing read, until every stream's listing is over (see streams/phases.py).
    barrier: ListingsBarrier = field(default_factory=lambda: ListingsBarrier(()))
    #: What this sync's users scan told the fan-outs (see streams/roster.py).
    roster: Roster = field(default_factory=Roster)
    #: The last sync never got to its fan-outs: a listing with no scan under way starts none this sync.
    resume_listings_only: bool = False
    #: The fan-outs' tiers: signaled changes first, then the refreshes (see streams/phases.py).
    tiers: FanOutTiers = field(default_factory=lambda: FanOutTiers(()))

    def starts_no_new_listing(self, stream: str) -> bool:
        """Whether `stream`, with no scan of its listing under way, starts none this sync: the last sync never got
        to its fan-outs, and a scan of this listing was read whole before (a listing never read whole always runs,
        or its rows would never come)."""
        ledger = self.ledgers.get(stream)
        return self.resume_listings_only and ledger is not None and ledger.last_scan_count() > 0

    @property
    def page_size(self) -> int:
        return self.settings.max_records_per_page

    @property
    def fan_out(self) -> int:
        """Per-record calls (group details, users' bookmarks) run at once: as many as requests may be in flight, no
        more, so that under a tight budget the calls spent are those of the first records, which complete."""
        return self.settings.max_concurrent_requests


def map_records(
    table: Table, records: Iterable[Any], mapper: Callable[..., Row], log: Log, *args: Any
) -> list[tuple[str, Row]]:
    """Maps records to rows; a record that cannot become a row (no usable id) is reported, never silently lost."""
    rows = []
    for record in records:
        try:
            rows.append((table.name, cap_long_values(table, mapper(record, *args, warn=log.warning), log.warning)))
        except RecordError as error:
            log.warning(f"{table.name}: skipped a record that cannot be stored: {error}")
    return rows
