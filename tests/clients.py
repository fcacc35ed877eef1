"""An EgnyteClient against respx, on a fake clock: what the unit tests of the client, the token refresh and the
scanner share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import httpx

from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.client import EgnyteClient
from egnyte_async.settings import Settings

BASE = "https://acme.egnyte.com"
USERS = f"{BASE}/pubapi/v2/users"
TOKEN = f"{BASE}/puboauth/token"
NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
STATIC_TOKEN = "static-token-1234"
CLIENT_SECRET = "csecret-5678"
REFRESH_TOKEN = "rtoken-9012"


def budget(limit: int = 1000) -> RequestBudget:
    return RequestBudget(limit, 24, QuotaWindow(NOW), NOW)


def new_client(
    clock: Any,
    *,
    refresh: bool = False,
    retry_attempts: int = 3,
    limit: int = 1000,
    log: Any = None,
    **overrides: Any,
) -> EgnyteClient:
    """A client of acme.egnyte.com, unpaced, with refresh credentials when `refresh`; `overrides` are Settings
    fields (request_timeout_seconds, enable_debug_logging)."""
    overrides.setdefault("requests_per_second", 1000)
    settings = Settings(
        domain="acme",
        base_url=BASE,
        api_token=STATIC_TOKEN,
        max_concurrent_requests=8,
        retry_attempts=retry_attempts,
        client_id="cid" if refresh else None,
        client_secret=CLIENT_SECRET if refresh else None,
        refresh_token=REFRESH_TOKEN if refresh else None,
        **overrides,
    )
    return EgnyteClient(settings, budget(limit), log=log, clock=clock)


def identity(body: Any) -> Any:
    return body


async def get_users(client: EgnyteClient) -> Any:
    return await client.get("/pubapi/v2/users", {"startIndex": 1}, parse=identity, what="users page")


class SlowBody(httpx.AsyncByteStream):
    """A body that arrives in `chunks`, then, when `drip`, one byte at a time for ever, each after a real pause
    shorter than any read timeout: a server that drips its answer."""

    def __init__(self, *chunks: bytes, drip: bool = False) -> None:
        self.chunks = chunks
        self.drip = drip

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        while self.drip:
            await asyncio.sleep(0.005)
            yield b" "


def qps_throttle(retry_after: str = "3") -> httpx.Response:
    return httpx.Response(
        403,
        headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_QPS", "Retry-After": retry_after},
        text="<h1>Developer Over Qps</h1>",
    )
