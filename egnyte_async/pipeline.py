"""A sync: the streams fetch on an event loop in a worker thread; the calling thread writes.

The event loop runs behind an anyio blocking portal. Each enabled stream is a task that sends pages of rows
(with the position they complete) into one bounded memory stream; the calling thread (`update()`'s) takes them
out one by one and is the only one to call the SDK's operations: it upserts the rows, then records the position,
and checkpoints by volume and time. The bounded stream is the backpressure: fetching runs ahead of writing by at
most `Tuning.queue_pages` pages, so memory stays flat whatever the tenant's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

import anyio
import httpx
from anyio.from_thread import start_blocking_portal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from egnyte_async.backpressure import TextBudget
from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.catalog import stream_named
from egnyte_async.client import EgnyteClient
from egnyte_async.clock import SYSTEM_CLOCK, Clock
from egnyte_async.errors import EgnyteError, QuotaExhaustedError
from egnyte_async.items import (
    Completed,
    Failed,
    Finished,
    Gone,
    Item,
    Kept,
    ListingsOver,
    Mark,
    Present,
    Refreshed,
    Rows,
    Stopped,
    unknown_item,
)
from egnyte_async.ledger import ledgers_from_state
from egnyte_async.limits import LimitPolicy
from egnyte_async.log import Log
from egnyte_async.progress import StreamProgress, duration
from egnyte_async.settings import Settings
from egnyte_async.state import StreamState, SyncState
from egnyte_async.streams.base import Stream
from egnyte_async.streams.bookmarks import NAME as BOOKMARKS
from egnyte_async.streams.context import StreamContext
from egnyte_async.streams.groups import NAME as GROUPS
from egnyte_async.streams.phases import FanOutTiers, ListingsBarrier
from egnyte_async.streams.roster import Roster


class Operations(Protocol):
    """The part of the SDK's `Operations` a sync uses."""

    def upsert(self, table: str, data: dict[str, Any]) -> Any: ...
    def delete(self, table: str, keys: dict[str, Any]) -> Any: ...
    def checkpoint(self, state: dict[str, Any]) -> Any: ...


class SyncFailedError(EgnyteError):
    """A stream failed; everything fetched before the failure was written and checkpointed."""


@dataclass(frozen=True)
class Tuning:
    """How a sync paces its own work. Not configuration: the defaults serve every tenant; tests and the benchmark
    change them to reach a case quickly."""

    #: Pages that may wait between the fetching side and the writing side...
    queue_pages: int = 16
    #: ...and the characters of text they may hold together (pages of long notes weigh megabytes each).
    queue_chars: int = 32_000_000
    checkpoint_rows: int = 10_000
    #: The SDK keeps every row upserted since the last checkpoint in memory: long texts checkpoint sooner.
    checkpoint_chars: int = 32_000_000
    checkpoint_seconds: float = 10.0
    progress_seconds: float = 30.0
    #: Pages of one listing requested ahead of the one being handed out; None: twice the requests in flight, so
    #: that pages finished behind a slow one wait in order without idling the request slots.
    read_ahead_pages: int | None = None
    #: Check the token with one call before any stream starts.
    preflight: bool = True


@dataclass
class SyncReport:
    """What a sync did, for its closing log lines and for tests."""

    rows_by_table: dict[str, int] = field(default_factory=dict)
    deleted_by_table: dict[str, int] = field(default_factory=dict)
    progress: dict[str, StreamProgress] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    refreshes: int = 0
    checkpoints: int = 0
    elapsed_s: float = 0.0
    quota_resets_at: datetime | None = None
    #: The limits kept to at the end of the sync, and those Egnyte stated for the token (None: it stated none).
    rate_limit: float = 0.0
    daily_limit: int = 0
    stated_rate: float | None = None
    stated_quota: int | None = None
    #: When the quota day counted in the state ends (midnight GMT, or Egnyte's X-Quota-Reset).
    quota_day_ends: datetime | None = None


class Sync:
    """One run of update(): build it, then call `run()` from the thread that may call the SDK's operations."""

    def __init__(
        self,
        settings: Settings,
        state: dict[str, Any] | None,
        operations: Operations,
        log: Log,
        *,
        tuning: Tuning = Tuning(),
        transport: httpx.AsyncBaseTransport | None = None,
        now: datetime | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        self.tuning = tuning
        # Refuses a state of a newer release (StateVersionError) before any request; warns of any unreadable part.
        self.state = SyncState.load(state, settings.streams, log, settings.tenant)
        self.operations = operations
        self.log = log
        self.transport = transport
        self.clock = clock
        self.started_at = now or datetime.now(timezone.utc)
        window = QuotaWindow.from_state(self.state.quota, self.started_at, log)
        #: The limits kept to: the configuration's (`auto` or a cap) and what Egnyte states for the token.
        self.limits = LimitPolicy(settings.requests_per_second, settings.daily_request_limit, log)
        if window.allotted is not None:
            self.limits.remember_quota(window.allotted)
        self.budget = RequestBudget(self.limits.quota, settings.sync_frequency_hours, window, self.started_at)
        self.streams: tuple[Stream[Any], ...] = tuple(stream_named(name) for name in settings.streams)
        #: Each stream's state as last written: read from the saved state, then advanced by the drain loop.
        self.positions: dict[str, StreamState] = {
            stream.name: stream.read_state(self.state.part(stream.name), log) for stream in self.streams
        }
        #: What each enabled stream that re-reads whole listings has written (see egnyte_async.ledger).
        specs = {name: spec for name in settings.streams if (spec := stream_named(name).ledger) is not None}
        self.ledgers = ledgers_from_state(specs, self.state.ledgers, log)
        self.report = SyncReport(
            rows_by_table={table.name: 0 for name in settings.streams for table in stream_named(name).tables},
            progress={stream.name: StreamProgress(stream.unit) for stream in self.streams},
        )
        self._client: EgnyteClient | None = None
        self._started = self._last_checkpoint = self._last_progress = clock.monotonic()
        self._rows_since_checkpoint = 0
        self._chars_since_checkpoint = 0
        self._queue_room = TextBudget(tuning.queue_chars)
        #: Streams that fan out after their listing (see streams/phases.py); with none, no stream waits.
        fan_outs = [stream.name for stream in self.streams if stream.fans_out]
        self._fans_out = bool(fan_outs)
        #: The last sync never got to its fan-outs: this one only finishes the listings under way.
        self.resume_listings_only = self._fans_out and self.state.fan_outs_pending
        self._barrier = ListingsBarrier(stream.name for stream in self.streams)
        self._tiers = FanOutTiers(fan_outs)
        #: A listing stopped (quota) before the fan-outs began; the drain has written every listing's batches.
        self._listing_cut = False
        self._fan_outs_reached = False

    # ---- the writing side: this thread -------------------------------------------------------------------------
    def run(self) -> SyncReport:
        started = self._started = self._last_checkpoint = self._last_progress = self.clock.monotonic()
        failure: Failed | None = None
        with start_blocking_portal(backend="asyncio") as portal:
            send, receive = anyio.create_memory_object_stream[Item](max_buffer_size=self.tuning.queue_pages)
            future = portal.start_task_soon(self._fetch_all, send)
            try:
                while True:
                    try:
                        item = portal.call(self._take, receive)
                    except anyio.EndOfStream:
                        break
                    failure = self._handle(item)
                    if failure is not None:
                        break
            finally:
                if not future.done():
                    future.cancel()
                portal.call(receive.aclose)
            if failure is None:
                future.result()
        self.report.elapsed_s = self.clock.monotonic() - started
        self._fill_report()
        self._checkpoint()
        if failure is not None:
            error = failure.error
            message = (
                f"{failure.stream}: {error}"
                if isinstance(error, EgnyteError)
                else (f"{failure.stream}: unexpected {type(error).__name__}: {error}")
            )
            raise SyncFailedError(message) from error
        self._log_summary()
        return self.report

    def _handle(self, item: Item) -> Failed | None:
        """Writes what `item` brings; returns it when it is a failure, which ends the drain loop."""
        match item:
            case Rows(stream=name, batch=batch):
                upsert = self.operations.upsert
                written: dict[str, int] = {}
                for table, row in batch.rows:
                    upsert(table, row)
                    written[table] = written.get(table, 0) + 1
                counts = self.report.rows_by_table
                for table, count in written.items():
                    counts[table] = counts.get(table, 0) + count
                if batch.deletes:
                    self._delete(batch.deletes)
                now = self.clock.monotonic()
                self.report.progress[name].add(written, batch.reached, batch.total, now)
                if batch.marks:
                    self._apply_marks(name, batch.marks)
                self.positions[name] = batch.state
                self.state.advance(name, batch.state)
                self._rows_since_checkpoint += len(batch.rows) + len(batch.deletes)
                self._chars_since_checkpoint += batch.size
                if (
                    self._rows_since_checkpoint >= self.tuning.checkpoint_rows
                    or self._chars_since_checkpoint >= self.tuning.checkpoint_chars
                    or now - self._last_checkpoint >= self.tuning.checkpoint_seconds
                ):
                    self._checkpoint()
                if now - self._last_progress >= self.tuning.progress_seconds:
                    self._last_progress = now
                    self._log_progress()
            case Finished(stream=name):
                self.report.finished.append(name)
                self.report.progress[name].finished = True
                self.log.info(f"{name}: done, {self.report.progress[name].row_count} rows")
                self._checkpoint()
            case Stopped(stream=name, reason=reason, reset_after=reset_after):
                self.report.stopped[name] = reason
                if reset_after is not None and self.report.quota_resets_at is None:
                    self.report.quota_resets_at = datetime.fromtimestamp(
                        self.started_at.timestamp() + reset_after, timezone.utc
                    )
            case ListingsOver():
                self._fan_outs_reached = True
                self._checkpoint()
            case Failed():
                return item
            case _:
                unknown_item(item)
        return None

    def _apply_marks(self, stream: str, marks: tuple[Mark, ...]) -> None:
        """Tells the stream's ledger what the rows just written mean, and deletes what it finds gone."""
        ledger = self.ledgers[stream]
        for mark in marks:
            match mark:
                case Refreshed(scope=scope, children=children, meets=meets):
                    deletions = ledger.refresh(scope, children, meets)
                case Kept(scope=scope):
                    ledger.keep(scope)
                    deletions = []
                case Completed() if ledger.last_scan_count() and not ledger.met_any():
                    # A listing that comes back empty after holding records is far likelier a fault than a tenant
                    # emptied: nothing is deleted on its word.
                    self.log.warning(
                        f"{stream}: the scan completed without meeting any of the {ledger.last_scan_count()} records "
                        "synced before; nothing is marked deleted on an empty listing's word"
                    )
                    deletions = []
                case Completed():
                    deletions = ledger.complete() + self._cascade(stream)
                case Present(scopes=scopes) if ledger.last_scan_count() and not scopes:
                    self.log.warning(
                        f"{stream}: the users scan listed no user, after {ledger.last_scan_count()} users held "
                        "records; nothing is marked deleted on an empty listing's word"
                    )
                    deletions = []
                case Present(scopes=scopes):
                    deletions = ledger.retain(scopes)
                case Gone(scope=scope):
                    deletions = ledger.forget(scope)
                case _:
                    unknown_item(mark)
            self._delete(deletions)

    def _cascade(self, stream: str) -> list[tuple[str, dict[str, Any]]]:
        """Scopes gone from `stream` leave the ledgers whose children they are, at once (a deleted user leaves every
        group, whenever the groups are next read)."""
        gone = {scope for scope in self.ledgers[stream].gone if type(scope) is int}  # children are whole numbers
        deletions: list[tuple[str, dict[str, Any]]] = []
        for ledger in self.ledgers.values():
            if gone and ledger.spec.children_are == stream:
                deletions += ledger.drop_child(gone)
        return deletions

    def _delete(self, deletions: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Soft-deletes rows (table, primary key), counted per table."""
        counts = self.report.deleted_by_table
        for table, keys in deletions:
            self.operations.delete(table, keys)
            counts[table] = counts.get(table, 0) + 1

    def _checkpoint(self) -> None:
        ledgers = {name: ledger.to_state() for name, ledger in self.ledgers.items()}
        pending = self._fans_out and (self._listing_cut or not self._fan_outs_reached)
        self.operations.checkpoint(self.state.to_dict(self.budget.window.to_state(), ledgers, pending))
        self.report.checkpoints += 1
        self._rows_since_checkpoint = self._chars_since_checkpoint = 0
        self._last_checkpoint = self.clock.monotonic()

    # ---- the fetching side: the event loop -------------------------------------------------------------------
    async def _take(self, receive: MemoryObjectReceiveStream[Item]) -> Item:
        """The next item for the drain loop; the room its rows held in the queue is free again."""
        item = await receive.receive()
        if isinstance(item, Rows):
            await self._queue_room.give_back(item.batch.size)
        return item

    async def _fetch_all(self, send: MemoryObjectSendStream[Item]) -> None:
        settings = self.settings
        client = EgnyteClient(
            settings, self.budget, log=self.log, transport=self.transport, clock=self.clock, policy=self.limits
        )
        async with send, client:
            self._client = client
            window = self.tuning.read_ahead_pages or 2 * settings.max_concurrent_requests
            enabled = settings.streams
            roster = Roster(keep_users=BOOKMARKS in enabled, keep_groups=GROUPS in enabled)
            ctx = StreamContext(
                client,
                self.log,
                settings,
                self.started_at,
                window,
                self.ledgers,
                self._barrier,
                roster,
                self.resume_listings_only,
                self._tiers,
            )
            if self.resume_listings_only:
                self.log.info(
                    "the last sync ended before its listings were over, so its fan-outs (group members, bookmarks) "
                    "had no turn: this sync finishes the listings under way, starts no new one, and then fans out"
                )
            if self.tuning.preflight:
                try:
                    await client.get("/pubapi/v1/userinfo", parse=_object, what="checking the token (userinfo)")
                except QuotaExhaustedError as error:
                    for stream in self.streams:
                        await send.send(Stopped(stream.name, str(error), error.reset_after))
                    return
                except Exception as error:
                    await send.send(Failed("connection check", error))
                    return
            async with anyio.create_task_group() as group:
                for stream in self.streams:
                    group.start_soon(self._fetch_stream, ctx, stream, send.clone())
                group.start_soon(self._tell_listings_over, send.clone())

    async def _tell_listings_over(self, send: MemoryObjectSendStream[Item]) -> None:
        """Queues `ListingsOver` behind every listing's batches: each stream sends them before it waits."""
        async with send:
            await self._barrier.opened()
            await send.send(ListingsOver())

    async def _fetch_stream(self, ctx: StreamContext, stream: Stream[Any], send: MemoryObjectSendStream[Item]) -> None:
        name = stream.name
        try:
            await self._produce(ctx, stream, send)
        finally:
            # Whatever the end: no stream waits for this one's listing, nor for its fan-out's tiers.
            ctx.barrier.listing_over(name)
            ctx.tiers.leave(name)

    async def _produce(self, ctx: StreamContext, stream: Stream[Any], send: MemoryObjectSendStream[Item]) -> None:
        name = stream.name
        async with send:
            state = self.positions[name]
            self.log.info(f"{name}: sync started; {state.describe()}")
            try:
                async for batch in stream.produce(ctx, state):
                    await self._queue_room.take(batch.size)
                    await send.send(Rows(name, batch))
            except QuotaExhaustedError as error:
                self._listing_cut = self._listing_cut or not ctx.barrier.is_open
                await send.send(Stopped(name, str(error), error.reset_after))
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as error:
                await send.send(Failed(name, error))
            else:
                await send.send(Finished(name))

    # ---- reporting ---------------------------------------------------------------------------------------------
    def _fill_report(self) -> None:
        self.report.rate_limit, self.report.daily_limit = self.limits.rate, self.budget.daily_limit
        self.report.stated_rate, self.report.stated_quota = self.limits.server_rate, self.limits.server_quota
        self.report.quota_day_ends = self.budget.resets_at()
        if self._client is not None:
            stats = self._client.stats
            self.report.requests = stats.requests
            self.report.retries = stats.retries
            self.report.throttled = stats.throttled
            self.report.refreshes = stats.refreshes

    def _log_progress(self) -> None:
        """Per stream: the records of its listing passed of its total, the pace, the time left, the rows; then the
        calls spent of this sync's share and of the day's quota."""
        elapsed = self.clock.monotonic() - self._started
        streams = "; ".join(f"{name}: {progress.describe()}" for name, progress in self.report.progress.items())
        self.log.info(f"progress after {duration(elapsed)}: {streams}. {self._calls()}")

    def _calls(self) -> str:
        budget = self.budget
        return (
            f"Calls: {budget.used:,} of this sync's {budget.allowed:,}; today {budget.window.calls:,} of "
            f"{budget.daily_limit:,}, the quota resets around {budget.resets_at():%Y-%m-%d %H:%M} UTC"
        )

    def _log_summary(self) -> None:
        report = self.report
        tables = ", ".join(f"{table} {count}" for table, count in sorted(report.rows_by_table.items())) or "none"
        deleted = ", ".join(f"{table} {count}" for table, count in sorted(report.deleted_by_table.items())) or "none"
        self.log.info(
            f"sync summary: rows upserted: {tables}; rows marked deleted: {deleted}; {report.requests} requests, "
            f"{report.retries} retries, {report.throttled} throttled, {report.refreshes} token refreshes, "
            f"{report.elapsed_s:.1f} s. {self._calls()}. {self.limits.describe()}"
        )
        if report.stopped:
            resets = (
                f"; the quota resets around {report.quota_resets_at:%Y-%m-%d %H:%M} UTC"
                if report.quota_resets_at
                else ""
            )
            where = "; ".join(
                f"{name}: {report.progress[name].row_count} rows this sync; "
                f"the next sync {self.positions[name].describe()}"
                for name in report.stopped
            )
            throttle = self._client.stats.refused_throttle_s if self._client else None
            lifts = f"; it lifts around {report.quota_resets_at:%Y-%m-%d %H:%M} UTC" if report.quota_resets_at else ""
            why = (
                f"Egnyte's throttle asked to pause for {throttle:.0f} s (Retry-After), longer than a sync waits{lifts}"
                if throttle is not None
                else f"the request budget for this sync is spent ({self.budget.used} requests; daily_request_limit "
                f"{_setting(self.settings.daily_request_limit)}, {self.budget.daily_limit:,} calls today){resets}"
            )
            self.log.warning(f"{why}. Stopped early, everything fetched is written. {where}.")


def _setting(value: float | None) -> str:
    return "auto" if value is None else f"{value:g}"


def _object(body: Any) -> Any:
    return body
