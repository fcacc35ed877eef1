"""Run a coroutine per item, several at once, and hand the results back in the items' order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def ordered_map(items: Iterable[T], fn: Callable[[T], Awaitable[R]], limit: int) -> AsyncIterator[tuple[T, R]]:
    """Yields (item, fn(item)) in order, with at most `limit` calls in flight; pending calls are cancelled on exit."""
    pending: deque[tuple[T, asyncio.Future[R]]] = deque()
    try:
        for item in items:
            pending.append((item, asyncio.ensure_future(fn(item))))
            if len(pending) >= limit:
                head, future = pending.popleft()
                yield head, await future
        while pending:
            head, future = pending.popleft()
            yield head, await future
    finally:
        for _, future in pending:
            future.cancel()
