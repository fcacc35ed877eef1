"""Shared helpers for the sandbox's own tests: fake time, and clients wired to an in-process app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from egnyte_sandbox import SandboxConfig, SandboxState, create_app

ADMIN_TOKEN = "sandbox-token"


class FakeClock:
    """A monotonic clock that only moves when a test says so."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeSleep:
    """Stands in for asyncio.sleep: records each requested delay and returns at once."""

    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def quiet_config(**overrides: Any) -> SandboxConfig:
    """A config without rate limits (most tests are not about them) and with fake time."""
    values: dict[str, Any] = {"qps_limit": None, "daily_quota": None, "clock": FakeClock(), "sleep": FakeSleep()}
    values.update(overrides)
    return SandboxConfig(**values)


@dataclass
class Sandbox:
    client: httpx.AsyncClient
    state: SandboxState

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    @property
    def clock(self) -> FakeClock:
        return self.state.config.clock  # type: ignore[return-value]


@asynccontextmanager
async def open_sandbox(config: SandboxConfig | None = None, **overrides: Any) -> AsyncIterator[Sandbox]:
    """An ASGI-transport client authenticated with the static admin token."""
    config = config or quiet_config(**overrides)
    app = create_app(config)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {config.static_token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=headers) as client:
        yield Sandbox(client, app.state.sandbox)


async def fetch_all_users(client: httpx.AsyncClient, count: int = 100) -> list[dict[str, Any]]:
    """Page through /users the way a careful client does: by startIndex + len(resources) against totalResults."""
    out: list[dict[str, Any]] = []
    start = 1
    while True:
        body = (await client.get("/pubapi/v2/users", params={"startIndex": start, "count": count})).json()
        out.extend(body["resources"])
        start += len(body["resources"])
        if not body["resources"] or start > body["totalResults"]:
            return out


async def password_token(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    form = {
        "grant_type": "password",
        "client_id": "sandbox-client",
        "username": username,
        "password": "sandbox-password",
    }
    response = await client.post("/puboauth/token", data=form)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
