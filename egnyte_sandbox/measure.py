"""Measure start-up time and per-page CPU cost of a large tenant: `python -m egnyte_sandbox.measure`.

Reports CPU time (time.process_time), not wall time, for page generation alone, JSON encoding alone, and a whole
request through the ASGI app (gateway, routing, handler, encoding) without any client or socket in the way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from .app import create_app
from .config import SandboxConfig
from .tenant import Tenant


def cpu_per_call(func: Callable[[], Any], repeat: int, batches: int = 5) -> float:
    """CPU seconds of one call of `func`: the best of several batches, so that a busy machine skews less."""
    func()
    best = float("inf")
    per_batch = max(1, repeat // batches)
    for _ in range(batches):
        started = time.process_time()
        for _ in range(per_batch):
            func()
        best = min(best, (time.process_time() - started) / per_batch)
    return best


async def _asgi_get(app: Any, path: str, query: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"authorization", b"Bearer sandbox-token"), (b"host", b"sandbox")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return status


async def _serve_many(app: Any, path: str, query: str, times: int) -> None:
    for _ in range(times):
        await _asgi_get(app, path, query)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--notes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--edits", type=int, default=10_000, help="mutations applied for the 'edited' figures")
    args = parser.parse_args()

    config = SandboxConfig(users=args.users, notes=args.notes, groups=10_000, qps_limit=None, daily_quota=None)
    started = time.perf_counter()
    tenant = Tenant(config)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    Tenant(config)
    warm = time.perf_counter() - started
    started = time.perf_counter()
    app = create_app(config, tenant)
    app_s = time.perf_counter() - started
    print(
        f"tenant of {args.users:,} users, {args.notes:,} notes: start-up {cold * 1000:.0f} ms cold (name pools "
        f"built with Faker), {warm * 1000:.1f} ms warm; create_app {app_s * 1000:.1f} ms"
    )

    last_user = tenant.user_count - 100
    last_note = tenant.note_count - 100
    rows = {
        "users first page": lambda: tenant.users_page(0, 100),
        "users last page": lambda: tenant.users_page(last_user, 100),
        "notes first page": lambda: tenant.notes.page(0, tenant.note_count, 0, 100, False),
        "notes last page": lambda: tenant.notes.page(0, tenant.note_count, last_note, 100, False),
        "groups last page": lambda: tenant.groups_page(tenant.group_count - 100, 100),
    }
    print("\nCPU per page of 100 (generation only):")
    for name, func in rows.items():
        print(f"  {name:<22} {cpu_per_call(func, args.repeat) * 1e6:8.0f} µs")
    page = tenant.users_page(last_user, 100)
    encode = cpu_per_call(lambda: json.dumps(page, ensure_ascii=False, separators=(",", ":")), args.repeat)
    print(f"  (JSON encoding of that users page, for comparison: {encode * 1e6:.0f} µs)")

    loop = asyncio.new_event_loop()
    requests = {
        "users first page": ("/pubapi/v2/users", "startIndex=1&count=100"),
        "users last page": ("/pubapi/v2/users", f"startIndex={last_user + 1}&count=100"),
        "notes last page": ("/pubapi/v1/notes", f"offset={last_note}&count=100"),
    }
    print("\nCPU per whole request through the ASGI app (gateway + routing + handler + JSON):")
    for name, (path, query) in requests.items():
        assert loop.run_until_complete(_asgi_get(app, path, query)) == 200
        cost = cpu_per_call(lambda p=path, q=query: loop.run_until_complete(_serve_many(app, p, q, 20)), args.repeat)
        print(f"  {name:<22} {cost / 20 * 1e6:8.0f} µs")

    rng = random.Random(7)
    tenant.churn("users", args.edits, rng)
    tenant.churn("notes", args.edits, rng)
    last_user = tenant.user_count - 100
    print(f"\nAfter {args.edits:,} random adds/removes per resource (generation only):")
    for name, func in {
        "users first page": lambda: tenant.users_page(0, 100),
        "users middle page": lambda: tenant.users_page(tenant.user_count // 2, 100),
        "users last page": lambda: tenant.users_page(last_user, 100),
    }.items():
        print(f"  {name:<22} {cpu_per_call(func, args.repeat) * 1e6:8.0f} µs")
    loop.close()


if __name__ == "__main__":
    main()
