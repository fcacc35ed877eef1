"""A sync: the streams fetch on an event loop in a worker thread; the calling thread writes.

The event loop runs behind an anyio blocking portal. Each enabled stream is a task that sends pages of rows
(with the position they complete) into one bounded memory stream; the calling thread (`update()`'s) takes them
out one by one and is the only one to call the SDK's operations: it upserts the rows, then records the position,
and checkpoints by volume and time. The bounded stream is the backpressure: fetching runs ahead of writing by at
most `QUEUE_PAGES` pages, so memory stays flat whatever the tenant's size.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

import anyio
import httpx
from anyio.abc import ObjectSendStream
from anyio.from_thread import start_blocking_portal

from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.client import ClientOptions, EgnyteClient
from egnyte_async.errors import EgnyteError, QuotaExhaustedError
from egnyte_async.items import Failed, Finished, Item, Rows, Stopped, StreamProgress
from egnyte_async.log import Log
from egnyte_async.state import SyncState
from egnyte_async.tables import bookmarks, groups, notes, users
from egnyte_async.tables.context import StreamContext, clamp_page_size

PRODUCERS = {
    "users": users.produce,
    "groups": groups.produce,
    "notes": notes.produce,
    "bookmarks": bookmarks.produce,
}
#: Pages that may wait between the fetching side and the writing side.
QUEUE_PAGES = 16
CHECKPOINT_ROWS = 10_000
CHECKPOINT_SECONDS = 10.0
PROGRESS_SECONDS = 30.0


class Operations(Protocol):
    """The part of the SDK's `Operations` a sync uses."""

    def upsert(self, table: str, data: dict[str, Any]) -> Any: ...
    def checkpoint(self, state: dict[str, Any]) -> Any: ...


class SyncFailedError(EgnyteError):
    """A stream failed; everything fetched before the failure was written and checkpointed."""


@dataclass
class SyncOptions:
    """How a sync runs; built from the settings by `SyncOptions.from_settings`."""

    client: ClientOptions
    streams: tuple[str, ...]
    page_size: int = 100
    initial_sync_days: int = 90
    daily_request_limit: int = 1000
    sync_frequency_hours: float = 4.0
    #: Pages of one listing requested ahead of the one being handed out; None: twice the requests in flight, so
    #: that pages finished behind a slow one wait in order without idling the request slots.
    read_ahead_pages: int | None = None
    checkpoint_rows: int = CHECKPOINT_ROWS
    checkpoint_seconds: float = CHECKPOINT_SECONDS
    preflight: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> SyncOptions:
        return cls(
            client=ClientOptions.from_settings(settings),
            streams=tuple(settings.enabled_tables),
            page_size=settings.max_records_per_page,
            initial_sync_days=settings.initial_sync_days,
            daily_request_limit=settings.daily_request_limit,
            sync_frequency_hours=settings.sync_frequency_hours,
        )


@dataclass
class SyncReport:
    """What a sync did, for its closing log lines and for tests."""

    rows_by_table: dict[str, int] = field(default_factory=dict)
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


class Sync:
    """One run of update(): build it, then call `run()` from the thread that may call the SDK's operations."""

    def __init__(
        self,
        options: SyncOptions,
        state: dict[str, Any] | None,
        operations: Operations,
        log: Log,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.options = options
        self.state = SyncState.load(state)
        self.operations = operations
        self.log = log
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.started_at = now()
        self.budget = RequestBudget(
            options.daily_request_limit,
            options.sync_frequency_hours,
            QuotaWindow.from_state(self.state.quota, self.started_at),
            self.started_at,
        )
        self.streams = self.state.streams_to_sync(options.streams)
        self.report = SyncReport(progress={name: StreamProgress() for name in self.streams})
        self._client: EgnyteClient | None = None

    # ---- the writing side: this thread -------------------------------------------------------------------------
    def run(self) -> SyncReport:
        started = self.clock()
        self._last_checkpoint = started
        self._last_progress = started
        self._rows_since_checkpoint = 0
        failure: Failed | None = None
        waiting = [name for name in self.options.streams if name not in self.streams]
        if waiting:
            self.log.info(
                f"{', '.join(waiting)}: already synced in this round; this sync finishes {', '.join(self.streams)} "
                "first (the previous sync stopped before they were done)"
            )
        with start_blocking_portal(backend="asyncio") as portal:
            send, receive = anyio.create_memory_object_stream[Item](max_buffer_size=QUEUE_PAGES)
            future = portal.start_task_soon(self._fetch_all, send)
            try:
                while True:
                    try:
                        item = portal.call(receive.receive)
                    except anyio.EndOfStream:
                        break
                    failure = self._handle(item) or failure
                    if failure is not None:
                        break
            finally:
                if not future.done():
                    future.cancel()
                portal.call(receive.aclose)
            if failure is None:
                future.result()
        self.report.elapsed_s = self.clock() - started
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
        if isinstance(item, Rows):
            upsert = self.operations.upsert
            counts = self.report.rows_by_table
            for table, row in item.rows:
                upsert(table, row)
                counts[table] = counts.get(table, 0) + 1
            progress = self.report.progress[item.stream]
            progress.rows += len(item.rows)
            if item.total is not None:
                progress.total = item.total
            self.state.advance(item.stream, item.position)
            self._rows_since_checkpoint += len(item.rows)
            now = self.clock()
            if (
                self._rows_since_checkpoint >= self.options.checkpoint_rows
                or now - self._last_checkpoint >= self.options.checkpoint_seconds
            ):
                self._checkpoint()
            if now - self._last_progress >= PROGRESS_SECONDS:
                self._last_progress = now
                self._log_progress()
        elif isinstance(item, Finished):
            self.report.finished.append(item.stream)
            self.state.finish(item.stream)
            self.log.info(f"{item.stream}: done, {self.report.progress[item.stream].rows} rows")
            self._checkpoint()
        elif isinstance(item, Stopped):
            self.report.stopped[item.stream] = item.reason
            if item.reset_after is not None:
                self.report.quota_resets_at = (
                    datetime.fromtimestamp(self.started_at.timestamp() + item.reset_after, timezone.utc)
                    if self.report.quota_resets_at is None
                    else self.report.quota_resets_at
                )
        elif isinstance(item, Failed):
            return item
        return None

    def _checkpoint(self) -> None:
        self.operations.checkpoint(self.state.to_dict(self.budget.window.to_state()))
        self.report.checkpoints += 1
        self._rows_since_checkpoint = 0
        self._last_checkpoint = self.clock()

    # ---- the fetching side: the event loop -------------------------------------------------------------------
    async def _fetch_all(self, send: ObjectSendStream[Item]) -> None:
        options = self.options
        client = EgnyteClient(
            options.client, self.budget, log=self.log, transport=self.transport, clock=self.clock, sleep=self.sleep
        )
        async with send, client:
            self._client = client
            page_size = clamp_page_size(options.page_size, self.log)
            window = options.read_ahead_pages or 2 * max(1, options.client.max_concurrent_requests)
            ctx = StreamContext(
                client,
                self.log,
                page_size,
                window,
                self.started_at,
                options.initial_sync_days,
                fan_out=max(1, options.client.max_concurrent_requests),
            )
            if options.preflight:
                try:
                    await client.get("/pubapi/v1/userinfo", parse=_object, what="checking the token (userinfo)")
                except QuotaExhaustedError as error:
                    for name in self.streams:
                        await send.send(Stopped(name, str(error), error.reset_after))
                    return
                except Exception as error:
                    await send.send(Failed("connection check", error))
                    return
            async with anyio.create_task_group() as group:
                for name in self.streams:
                    group.start_soon(self._fetch_stream, ctx, name, send.clone())

    async def _fetch_stream(self, ctx: StreamContext, name: str, send: ObjectSendStream[Item]) -> None:
        async with send:
            self.log.info(f"{name}: sync started" + (" (resuming)" if self.state.position(name) else ""))
            try:
                async for rows in PRODUCERS[name](ctx, self.state.position(name)):
                    await send.send(rows)
            except QuotaExhaustedError as error:
                await send.send(Stopped(name, str(error), error.reset_after))
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as error:
                await send.send(Failed(name, error))
            else:
                await send.send(Finished(name))

    # ---- reporting ---------------------------------------------------------------------------------------------
    def _fill_report(self) -> None:
        if self._client is not None:
            stats = self._client.stats
            self.report.requests = stats.requests
            self.report.retries = stats.retries
            self.report.throttled = stats.throttled
            self.report.refreshes = stats.refreshes

    def _log_progress(self) -> None:
        parts = []
        for name, progress in self.report.progress.items():
            of = f" of about {progress.total}" if progress.total is not None and name in ("users", "notes") else ""
            parts.append(f"{name} {progress.rows}{of}")
        self.log.info("progress: " + ", ".join(parts) + f"; {self.budget.used} requests")

    def _log_summary(self) -> None:
        report = self.report
        tables = ", ".join(f"{table} {count}" for table, count in sorted(report.rows_by_table.items())) or "none"
        self.log.info(
            f"sync summary: rows upserted: {tables}; {report.requests} requests, {report.retries} retries, "
            f"{report.throttled} throttled, {report.refreshes} token refreshes, {report.elapsed_s:.1f} s"
        )
        if report.stopped:
            resets = (
                f"; the quota resets around {report.quota_resets_at:%Y-%m-%d %H:%M} UTC"
                if report.quota_resets_at
                else ""
            )
            where = "; ".join(
                f"{name}: {self.report.progress[name].rows} rows this sync, {describe(self.state.position(name))}"
                for name in report.stopped
            )
            self.log.warning(
                f"the request budget for this sync is spent ({self.budget.used} requests; daily_request_limit "
                f"{self.options.daily_request_limit}){resets}. Stopped early: {where}. The next sync carries on "
                "from there."
            )


def describe(position: dict[str, Any]) -> str:
    """A stream's position in words, for the log."""
    scan = position.get("scan") or {}
    index = scan.get("index", (scan.get("position") or {}).get("index"))
    if index is None:
        return "next sync starts a new scan" if "cursor" in position or not position else "resumes where it stopped"
    return f"resumes at record {index}"


def _object(body: Any) -> Any:
    return body
