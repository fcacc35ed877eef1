"""Running syncs against the sandbox and comparing what landed with the sandbox's tenant, row by row."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from egnyte_async.catalog import all_tables, table_named
from egnyte_async.pipeline import Sync, SyncReport, Tuning
from egnyte_async.settings import Settings
from egnyte_sandbox import Tenant
from tests.logs import RecordingLog

ALL_STREAMS = ("users", "groups", "notes", "bookmarks")
#: The mark of a soft-deleted row in RecordingOperations (Fivetran's `_fivetran_deleted`).
DELETED = "_fivetran_deleted"
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

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        """A soft delete, as Fivetran makes it: the row stays, marked deleted, until it is upserted again."""
        key = (table, key_of(table, keys))
        self.pending[key] = {**self.pending.get(key, self.committed.get(key, {})), DELETED: True}

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.committed.update(self.pending)
        self.pending.clear()
        self.states.append(json.loads(json.dumps(state)))

    @property
    def last_state(self) -> dict:
        return self.states[-1] if self.states else {}

    def table(self, name: str) -> dict[tuple, dict]:
        """The live rows of table `name`."""
        return {key: row for (table, key), row in self.committed.items() if table == name and DELETED not in row}

    def deleted(self, name: str) -> set[tuple]:
        """The keys of table `name` marked deleted."""
        return {key for (table, key), row in self.committed.items() if table == name and DELETED in row}


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


# Expected rows are written here from the sandbox's own records, as the tenant holds them before the API renders
# them (ids as numbers, instants as epoch milliseconds: Tenant.canonical_*), never through egnyte_async.mapping:
# they state the destination contract (README "Tables created") on their own, so a mapping bug fails the tests.

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc_text(moment: datetime | None) -> str | None:
    """A UTC_DATETIME column's value: `YYYY-MM-DDTHH:MM:SS.mmmZ`, in UTC, milliseconds cut (a naive value is UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _instant(tenant: Tenant, ms: int | None) -> str | None:
    """A sandbox instant as the destination must hold it: what the API's rendering of it says (a plain date says
    midnight UTC, an RFC 1123 date the whole second), as UTC text."""
    if ms is None:
        return None
    return utc_text(_EPOCH + timedelta(milliseconds=tenant.render.served_ms(ms)))


def _extra(record: dict, columned: set[str]) -> dict | None:
    """The fields without a column of their own, or None when there are none."""
    rest = {field: value for field, value in record.items() if field not in columned}
    return rest or None


_USER_COLUMNED = {
    "id", "userName", "email", "name", "role", "userType", "authType", "active", "locked", "externalId",
    "idpUserId", "userPrincipalName", "emailChangePending", "expiryDate", "deleteOnExpiry", "createdDate",
    "lastModificationDate", "lastActiveDate",
}  # fmt: skip
_NOTE_COLUMNED = {
    "id", "file_path", "message", "username", "formatted_name", "creation_time", "group_id", "file_id", "can_delete",
}  # fmt: skip
_BOOKMARK_COLUMNED = {"id", "path", "folder_id", "creation_date"}


def user_row(tenant: Tenant, user: dict) -> dict:
    """A `users` row from a canonical sandbox user."""
    name = user["name"]
    assert set(name) <= {"givenName", "familyName", "formatted"}, name
    return {
        "id": user["id"],
        "username": user["userName"],
        "email": user["email"],
        "first_name": name["givenName"],
        "last_name": name.get("familyName"),
        "display_name": name["formatted"],
        "role": user.get("role"),
        "user_type": user["userType"],
        "auth_type": user["authType"],
        "active": user["active"],
        "locked": user["locked"],
        "external_id": user["externalId"],
        "idp_user_id": user.get("idpUserId"),
        "user_principal_name": user.get("userPrincipalName"),
        "email_change_pending": user["emailChangePending"],
        "expiry_date": _instant(tenant, user["expiryDate"]),
        "delete_on_expiry": user["deleteOnExpiry"],
        "created_date": _instant(tenant, user.get("createdDate")),
        "modified_date": _instant(tenant, user.get("lastModificationDate")),
        "last_active_date": _instant(tenant, user.get("lastActiveDate")),
        "extra": _extra(user, _USER_COLUMNED),
    }


def group_row(tenant: Tenant, group: dict) -> dict:
    """A `groups` row from a sandbox group's list item; the count is of the members its detail call lists."""
    return {
        "id": group["id"],
        "display_name": group["displayName"],
        "member_count": len(tenant.group_members(group["id"])),
        "extra": _extra(group, {"id", "displayName"}),
    }


def member_rows(tenant: Tenant, group_id: str) -> list[dict]:
    """The `group_members` rows of a sandbox group."""
    return [
        {
            "group_id": group_id,
            "user_id": member.ordinal,
            "username": member.username,
            "display_name": member.formatted,
            "extra": None,
        }
        for member in tenant.group_members(group_id)
    ]


def note_row(tenant: Tenant, note: dict) -> dict:
    """A `notes` row from a canonical sandbox note."""
    return {
        "id": note["id"],
        "path": note["file_path"],
        "note_text": note["message"],
        "author": note["username"],
        "author_name": note["formatted_name"],
        "created_date": _instant(tenant, note["creation_time"]),
        "file_group_id": note["group_id"],
        "file_id": note.get("file_id"),
        "can_delete": note["can_delete"],
        "extra": _extra(note, _NOTE_COLUMNED),
    }


def bookmark_row(tenant: Tenant, bookmark: dict, creator: str) -> dict:
    """A `bookmarks` row from a canonical sandbox bookmark listed by `creator`."""
    return {
        "id": bookmark["id"],
        "path": bookmark["path"],
        "folder_id": bookmark["folder_id"],
        "created_date": _instant(tenant, bookmark["creation_date"]),
        "creator": creator,
        "extra": _extra(bookmark, _BOOKMARK_COLUMNED),
    }


def expected_rows(
    tenant: Tenant, now: datetime, initial_sync_days: int = 365, streams=ALL_STREAMS
) -> dict[str, dict[tuple, dict]]:
    """What a complete first sync must leave in each table, from the tenant as it is now."""
    expected: dict[str, dict[tuple, dict]] = {table.name: {} for table in all_tables()}

    def put(table: str, row: dict) -> None:
        assert list(row) == list(table_named(table).columns), f"{table}: {list(row)}"
        expected[table][key_of(table, row)] = row

    if "users" in streams:
        for user in tenant.canonical_users():
            put("users", user_row(tenant, user))
    if "groups" in streams:
        for group in tenant.iter_groups():
            put("groups", group_row(tenant, group))
            for row in member_rows(tenant, group["id"]):
                put("group_members", row)
    if "notes" in streams:
        end_ms = (now - _EPOCH) // timedelta(milliseconds=1)
        start_ms = end_ms - initial_sync_days * 86_400_000
        for note in tenant.canonical_notes():
            if start_ms <= note["creation_time"] <= end_ms:
                put("notes", note_row(tenant, note))
    if "bookmarks" in streams:
        for user in tenant.canonical_users():
            if not user["active"]:
                continue  # nobody can act as a deactivated user, so their bookmarks cannot be listed
            for bookmark in tenant.canonical_bookmarks_of(user["userName"]):
                put("bookmarks", bookmark_row(tenant, bookmark, user["userName"]))
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
    """Every note of the tenant as a `notes` row, whatever its creation time."""
    return {(note["id"],): note_row(tenant, note) for note in tenant.canonical_notes()}


SANDBOX_NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
