"""Running syncs against the sandbox and comparing what landed with the sandbox's tenant, row by row."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from egnyte_async.catalog import all_tables, table_named
from egnyte_async.dates import parse_egnyte_datetime
from egnyte_async.mapping import map_bookmark, map_group, map_group_members, map_note, map_user
from egnyte_async.pipeline import Sync, SyncReport, Tuning
from egnyte_async.settings import Settings
from egnyte_sandbox import Tenant
from tests.logs import RecordingLog

ALL_STREAMS = ("users", "groups", "notes", "bookmarks")
Key = tuple[str, tuple]


def key_of(table: str, row: dict[str, Any]) -> tuple:
    return table_named(table).key_of(row)


class Killed(Exception):
    """Stands for a process killed mid-sync."""


class RecordingOperations:
    """The SDK's Operations with its checkpoint semantics: rows count only once a checkpoint has written them.

    `kill_after_upserts` raises Killed from the n-th upsert on, as if the process died there: whatever was upserted
    after the last checkpoint is lost, exactly as with the real SDK.
    """

    def __init__(self, committed: dict[Key, dict] | None = None, kill_after_upserts: int | None = None) -> None:
        self.committed: dict[Key, dict] = dict(committed or {})
        self.pending: dict[Key, dict] = {}
        self.states: list[dict] = []
        self.upserts = 0
        self.kill_after_upserts = kill_after_upserts

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        if self.kill_after_upserts is not None and self.upserts >= self.kill_after_upserts:
            raise Killed(f"killed at upsert {self.upserts}")
        self.upserts += 1
        self.pending[(table, key_of(table, data))] = data

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.committed.update(self.pending)
        self.pending.clear()
        self.states.append(json.loads(json.dumps(state)))

    @property
    def last_state(self) -> dict:
        return self.states[-1] if self.states else {}

    def table(self, name: str) -> dict[tuple, dict]:
        return {key: row for (table, key), row in self.committed.items() if table == name}


def sync_setup(base_url: str, token: str | None, streams=ALL_STREAMS, **overrides: Any) -> tuple[Settings, Tuning]:
    """Settings for a test sync (unpaced, an ample quota, a year of notes) and its tuning; `overrides` may name
    fields of either."""
    tuning = {name: overrides.pop(name) for name in list(overrides) if name in Tuning.__dataclass_fields__}
    defaults: dict[str, Any] = {
        "requests_per_second": 1000,
        "max_concurrent_requests": 8,
        "daily_request_limit": 10**6,
        "sync_frequency_hours": 24,
        "initial_sync_days": 365,
    }
    settings = Settings(
        domain="sandbox", base_url=base_url, api_token=token, streams=tuple(streams), **{**defaults, **overrides}
    )
    return settings, Tuning(**tuning)


def run_sync(
    app_or_url: Any,
    token: str,
    state: dict | None,
    operations: RecordingOperations,
    *,
    now: datetime,
    streams=ALL_STREAMS,
    log: RecordingLog | None = None,
    **overrides: Any,
) -> SyncReport:
    """One sync into `operations`; `app_or_url` is an ASGI app (served in-process) or a base URL."""
    if isinstance(app_or_url, str):
        base_url, transport = app_or_url, None
    else:
        base_url, transport = "http://sandbox.local", httpx.ASGITransport(app=app_or_url)
    settings, tuning = sync_setup(base_url, token, streams, **overrides)
    sync = Sync(settings, state, operations, log or RecordingLog(), tuning=tuning, transport=transport, now=now)
    return sync.run()


def expected_rows(
    tenant: Tenant, now: datetime, initial_sync_days: int = 365, streams=ALL_STREAMS
) -> dict[str, dict[tuple, dict]]:
    """What a complete first sync must leave in each table, mapped from the tenant as it is now."""
    expected: dict[str, dict[tuple, dict]] = {table.name: {} for table in all_tables()}

    def put(table: str, row: dict) -> None:
        expected[table][key_of(table, row)] = row

    if "users" in streams:
        for user in tenant.iter_users():
            put("users", map_user(user))
    if "groups" in streams:
        for group in tenant.iter_groups():
            detail = tenant.group_detail(group["id"])
            members = detail.get("members") or []
            merged = {**group, **{k: v for k, v in detail.items() if k not in ("members", "schemas")}}
            put("groups", map_group(merged, members))
            for row in map_group_members(str(group["id"]), members):
                put("group_members", row)
    if "notes" in streams:
        since = now - timedelta(days=initial_sync_days)
        for note in tenant.iter_notes():
            created = parse_egnyte_datetime(note["creation_time"])
            if created is not None and since <= created <= now:
                put("notes", map_note(note))
    if "bookmarks" in streams:
        for user in tenant.iter_users():
            for bookmark in tenant.bookmarks_of(user["userName"]):
                put("bookmarks", map_bookmark(bookmark, user["userName"]))
    return expected


def assert_matches(
    got: Callable[[str], dict[tuple, dict]],
    expected: dict[str, dict[tuple, dict]],
    tables=None,
    allowed_extra: dict[str, dict[tuple, dict]] | None = None,
) -> int:
    """Every expected row present with equal values, and no other row unless it is an allowed extra (equal to the
    tenant's too); returns the number of rows compared."""
    compared = 0
    for table in tables or expected:
        rows = got(table)
        want = expected[table]
        allowed = (allowed_extra or {}).get(table, {})
        missing = sorted(set(want) - set(rows))
        assert not missing, f"{table}: {len(missing)} rows missing, e.g. {missing[:5]}"
        extra = sorted(set(rows) - set(want) - set(allowed))
        assert not extra, f"{table}: {len(extra)} unexpected rows, e.g. {extra[:5]}"
        for key, row in rows.items():
            reference = want.get(key, allowed.get(key))
            assert row == reference, f"{table} {key}: {row} != {reference}"
            compared += 1
    return compared


def all_notes(tenant: Tenant) -> dict[tuple, dict]:
    return {key_of("notes", row): row for row in (map_note(note) for note in tenant.iter_notes())}


SANDBOX_NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
