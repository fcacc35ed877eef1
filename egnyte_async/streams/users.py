"""users: a full SCIM scan every sync (Egnyte has no modified-since filter), resumable page by page; it runs before
any fan-out and tells them what they need (streams/roster.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from egnyte_async.items import Batch, Completed, Mark, Refreshed
from egnyte_async.ledger import LedgerSpec
from egnyte_async.log import Log
from egnyte_async.mapping import map_user
from egnyte_async.pagination import Listing, Position, ScannedPage, Scanner
from egnyte_async.schema import Table
from egnyte_async.streams.base import Stream
from egnyte_async.streams.context import StreamContext, map_records
from egnyte_async.streams.scan_state import ScanState, read_scan
from egnyte_async.streams.scim import FIRST_INDEX, scim_listing

NAME = "users"
USERS = Table(
    "users",
    ("id",),
    {
        "id": "LONG",
        "username": "STRING",
        "email": "STRING",
        "first_name": "STRING",
        "last_name": "STRING",
        "display_name": "STRING",
        "role": "STRING",
        "user_type": "STRING",
        "auth_type": "STRING",
        "active": "BOOLEAN",
        "locked": "BOOLEAN",
        "external_id": "STRING",
        "idp_user_id": "STRING",
        "user_principal_name": "STRING",
        "email_change_pending": "BOOLEAN",
        "expiry_date": "UTC_DATETIME",
        "delete_on_expiry": "BOOLEAN",
        "created_date": "UTC_DATETIME",
        "modified_date": "UTC_DATETIME",
        "last_active_date": "UTC_DATETIME",
        "extra": "JSON",
    },
)


def users_listing(page_size: int) -> Listing:
    """The SCIM users listing; the bookmarks stream walks it too."""
    return scim_listing(NAME, "/pubapi/v2/users", page_size)


def read_state(raw: Mapping[str, Any], log: Log) -> ScanState:
    return ScanState(read_scan(raw, NAME, FIRST_INDEX, log))


async def roster_scan(ctx: StreamContext, start: Position | None) -> AsyncIterator[ScannedPage]:
    """The users listing's pages from `start` (None: the first page), each told to the sync's roster
    (streams/roster.py) for the fan-outs that follow: whom to act as for bookmarks, and each group's members when
    the listing carries them. A scan from the first page that reads the last makes the roster complete."""
    scanner = Scanner(ctx.client, users_listing(ctx.page_size), ctx.window, ctx.log)
    if start is None:
        ctx.roster.begin()
    async for page in scanner.pages(start or Position(FIRST_INDEX)):
        ctx.roster.add(page.new_items)
        if page.last:
            ctx.roster.finish()
        yield page


async def produce(ctx: StreamContext, state: ScanState) -> AsyncIterator[Batch]:
    if state.scan is None and ctx.starts_no_new_listing(NAME):
        return
    async for page in roster_scan(ctx, state.scan):
        rows = map_records(USERS, page.new_items, map_user, ctx.log)
        marks: list[Mark] = [Refreshed(row["id"]) for _, row in rows]
        if page.last:
            marks.append(Completed())
        yield Batch(rows, ScanState(None if page.last else page.after), page.total, tuple(marks), page.passed)


#: Each user is a scope of its own: a user met by no complete scan is gone.
LEDGER = LedgerSpec(parent=USERS)

STREAM = Stream(NAME, (USERS,), read_state, produce, ledger=LEDGER, unit="users")
