"""Helpers for the fault, resume, quota and live-tenant tests: virtual time, timeouts and kills without waiting.

- `VirtualTime` is one clock for the sandbox and the connector: it moves only when something sleeps on it, so a
  retry backoff, a Retry-After or a token lifetime costs no real time and every run repeats exactly.
- `TimeoutASGITransport` serves the in-process sandbox like `httpx.ASGITransport`, but gives a request that the
  sandbox stalls (the `slow` fault) the fate it meets over a socket: `httpx.ReadTimeout` once the client's read
  timeout has passed, in virtual time.
- `ShufflingTransport` holds each answer back a given number of event-loop turns, so that the requests in flight
  complete in any order.
- `KillableOperations` adds to the harness's `RecordingOperations` a kill that can come from any thread (the
  event loop, in the middle of a retry) and behaves like kill -9: nothing after the last checkpoint survives.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from datetime import datetime, timedelta
from typing import Any

import httpx
from harness import SANDBOX_NOW, Killed, RecordingOperations, sync_setup

from egnyte_async.pipeline import Sync, SyncReport
from egnyte_sandbox import SandboxConfig, create_app
from tests.logs import RecordingLog

_STALLED: contextvars.ContextVar[tuple[asyncio.Event, asyncio.Event] | None] = contextvars.ContextVar(
    "stalled", default=None
)


class VirtualTime:
    """A monotonic clock and a wall clock that advance together, only when something sleeps (or `advance`)."""

    def __init__(self, start: float = 10_000.0, wall: datetime = SANDBOX_NOW) -> None:
        self._lock = threading.Lock()
        self.now = start
        self._start = start
        self._wall = wall
        self.slept: list[float] = []
        self.on_sleep = None  # optional hook called with the seconds of every sleep (a kill mid-retry)
        #: Sandbox sleeps up to this long are latency, not a stall.
        self.latency_up_to = 0.0

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return self._wall + timedelta(seconds=self.now - self._start)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)

    async def sandbox_sleep(self, seconds: float) -> None:
        """The sandbox's sleep: a stall (the `slow` fault, longer than `latency_up_to`) hangs until the client gives
        up; latency (up to `latency_up_to`) passes in virtual time."""
        events = _STALLED.get()
        if events is not None and seconds > self.latency_up_to:
            stalled, released = events
            stalled.set()
            await released.wait()  # the client timed out: the server finishes, to nobody
            return
        self.advance(seconds)
        await asyncio.sleep(0)


class TimeoutASGITransport(httpx.AsyncBaseTransport):
    """`httpx.ASGITransport` plus the client's read timeout, counted in virtual time."""

    def __init__(self, app: Any, time: VirtualTime) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._time = time
        self.timeouts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        stalled, released = asyncio.Event(), asyncio.Event()
        token = _STALLED.set((stalled, released))
        try:
            served = asyncio.ensure_future(self._inner.handle_async_request(request))
        finally:
            _STALLED.reset(token)
        waiter = asyncio.ensure_future(stalled.wait())
        try:
            await asyncio.wait({served, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            served.cancel()
            raise
        finally:
            waiter.cancel()
        if served.done():
            return served.result()
        timeout = (request.extensions.get("timeout") or {}).get("read") or 0.0
        self._time.advance(timeout)
        self.timeouts += 1
        released.set()
        await asyncio.gather(served, return_exceptions=True)
        raise httpx.ReadTimeout("timed out (the sandbox stalled the request)", request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class ShufflingTransport(httpx.AsyncBaseTransport):
    """Holds each answer back a given number of event-loop turns: the requests in flight complete in any order."""

    def __init__(self, inner: httpx.AsyncBaseTransport, delays: list[int]) -> None:
        self.inner = inner
        self.delays = delays
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        turns = self.delays[self.sent % len(self.delays)]
        self.sent += 1
        for _ in range(turns):
            await asyncio.sleep(0)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class KillableOperations(RecordingOperations):
    """RecordingOperations that can also be killed from any thread: every later op raises, nothing is written."""

    def __init__(self, committed=None, kill_after_upserts: int | None = None) -> None:
        super().__init__(committed, kill_after_upserts)
        self.dead = False

    def kill(self) -> None:
        self.dead = True

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        if self.dead:
            raise Killed("killed")
        try:
            super().upsert(table, data)
        except Killed:
            self.dead = True
            raise

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        if self.dead:
            raise Killed("killed")
        super().delete(table, keys)

    def checkpoint(self, state: dict[str, Any]) -> None:
        if self.dead:
            self.pending.clear()
            raise Killed("killed")
        super().checkpoint(state)

    def survivor(self) -> KillableOperations:
        """What the destination holds after the process died: the committed rows only."""
        return KillableOperations(self.committed)


def run(
    app: Any,
    state: dict | None,
    operations: RecordingOperations,
    time: VirtualTime,
    *,
    token: str = "sandbox-token",
    log: RecordingLog | None = None,
    now: datetime | None = None,
    delays: list[int] | None = None,
    **overrides: Any,
) -> SyncReport:
    """One sync on virtual time, against an in-process sandbox app (or a served one, given its base URL); with
    `delays`, each answer is held back that many event-loop turns (cycling through the list)."""
    overrides.setdefault("max_records_per_page", 20)
    overrides.setdefault("checkpoint_rows", 15)
    overrides.setdefault("retry_attempts", 6)
    overrides.setdefault("max_concurrent_requests", 4)
    overrides.setdefault("request_timeout_seconds", 5.0)
    overrides.setdefault("requests_per_second", 1e9)  # no pacing: the order of requests is the same every run
    streams = overrides.pop("streams", ("users", "groups", "notes", "bookmarks"))
    moment = now or SANDBOX_NOW
    served_in_process = not isinstance(app, str)
    transport: httpx.AsyncBaseTransport | None = TimeoutASGITransport(app, time) if served_in_process else None
    if delays:
        transport = ShufflingTransport(transport or httpx.AsyncHTTPTransport(), delays)
    settings, tuning = sync_setup("http://sandbox.local" if served_in_process else app, token, streams, **overrides)
    sync = Sync(
        settings, state, operations, log or RecordingLog(), tuning=tuning, transport=transport, now=moment, clock=time
    )
    return sync.run()


def sandbox_app(time: VirtualTime, tenant: dict[str, int] | None = None, **config: Any):
    """An in-process sandbox on `time`, without rate limits unless asked for."""
    config.setdefault("qps_limit", None)
    config.setdefault("daily_quota", None)
    return create_app(SandboxConfig(**(tenant or {}), clock=time, sleep=time.sandbox_sleep, **config))


def refresh_credentials(app: Any) -> dict[str, str]:
    """The sandbox's OAuth client and refresh token, as connector overrides."""
    config = app.state.sandbox.config
    return {"client_id": config.client_id, "client_secret": config.client_secret, "refresh_token": config.refresh_token}
