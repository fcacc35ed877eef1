"""Choosing faults and acting them out at the ASGI level.

Status faults are ordinary responses; the transport-level ones (a connection dropped mid-body, a cut-off body,
a stall past the client's timeout) need raw ASGI messages, which is why they live here and not in handlers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from .config import FaultPlan
from .mixing import mix64, salt, unit

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STATUS_FAULTS = {"500": 500, "502": 502, "503": 503, "504": 504}
BODY_FAULTS = ("truncated", "reset")
LIST_FAULTS = ("repeat_page", "bad_envelope")


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by the app to drop the connection mid-body.

    Under uvicorn any exception after the response started closes the socket, and the client sees a short body.
    Behind `httpx.ASGITransport` the exception reaches the client as is, so it subclasses the very error httpx
    raises for a real short read: client code handles both paths the same way.
    """

    def __init__(self) -> None:
        super().__init__("peer closed connection without sending complete message body (simulated reset)")


class FaultInjector:
    """Decides whether and how a request fails: from its number, or from its rank among the requests to its path.

    A path-scheduled kind is handed to a request when the request arrives, and given back to the path's queue by
    `settle` when the request ends without it having been injected, for a later request to that path.
    """

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self._salt = salt(seed, "faults")
        self.plan = plan

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    @plan.setter
    def plan(self, plan: FaultPlan) -> None:
        """A new plan counts its paths' requests afresh."""
        self._plan = plan
        self._seen: Counter[str] = Counter()
        self._due: dict[str, deque[str]] = {path: deque() for path in plan.path_schedule}
        self._handed: dict[int, tuple[str, str]] = {}

    def pick(self, number: int, path: str) -> str | None:
        plan = self._plan
        due = self._due.get(path)
        if due is not None:
            self._seen[path] += 1
            scheduled = plan.path_schedule[path].get(self._seen[path])
            if scheduled is not None:
                due.append(scheduled)
            if due:
                kind = due.popleft()
                self._handed[number] = (path, kind)
                return kind
        if plan.paths and not path.startswith(plan.paths):
            return None
        scheduled = plan.schedule.get(number)
        if scheduled is not None:
            return scheduled
        if plan.rate <= 0.0:
            return None
        h = mix64(number ^ self._salt)
        if unit(h) >= plan.rate:
            return None
        return plan.kinds[mix64(h) % len(plan.kinds)]

    def settle(self, number: int, injected: bool) -> None:
        """Request `number` is over: a path-scheduled kind it took but could not use joins the end of its path's
        queue, so that it does not hold up the kinds behind it."""
        handed = self._handed.pop(number, None)
        if handed is None or injected:
            return
        path, kind = handed
        due = self._due.get(path)
        if due is not None:
            due.append(kind)


async def buffered(app: Callable[[Receive, Send], Awaitable[None]], receive: Receive) -> tuple[Message, bytes]:
    """Run `app` to completion and return its response-start message and its whole body."""
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(receive, capture)
    return start, b"".join(chunks)


async def send_truncated(start: Message, body: bytes, send: Send) -> None:
    """A complete, well-framed response whose JSON stops halfway."""
    cut = body[: len(body) // 2]
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(cut)).encode()))
    await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
    await send({"type": "http.response.body", "body": cut})


async def send_reset(start: Message, body: bytes, send: Send) -> None:
    """Announce the full length, send half, then drop the connection."""
    await send(start)
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    raise ConnectionDropped()


async def stall(seconds: float, receive: Receive, sleep: Callable[[float], Awaitable[None]]) -> Receive | None:
    """Hold the request for `seconds`, or until the client gives up; return a replaying receive, or None if gone.

    The request body is read first (and replayed to the handler), so that the only thing left to receive is
    the disconnect: a client timing out frees the server task at once instead of leaving it asleep.
    """
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] == "http.disconnect":
            return None
        if not message.get("more_body"):
            break
    sleeper = asyncio.ensure_future(sleep(seconds))
    watcher = asyncio.ensure_future(receive())
    done, pending = await asyncio.wait({sleeper, watcher}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if watcher in done:
        return None

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


class _QuietDrops(logging.Filter):
    """Keep simulated resets out of uvicorn's error log; they are intended, not bugs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def silence_simulated_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())
