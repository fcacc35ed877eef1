"""users: a full SCIM scan every sync (Egnyte has no modified-since filter), resumable page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from egnyte_async.items import Rows
from egnyte_async.mapping import map_user
from egnyte_async.pagination import Listing, Position, Scanner, parse_scim_page
from egnyte_async.tables.context import StreamContext, map_records

STREAM = "users"


def users_listing(page_size: int) -> Listing:
    return Listing(STREAM, "/pubapi/v2/users", "startIndex", 1, page_size, parse_scim_page)


async def produce(ctx: StreamContext, state: dict[str, Any]) -> AsyncIterator[Rows]:
    scanner = Scanner(ctx.client, users_listing(ctx.page_size), ctx.window, ctx.log)
    async for page in scanner.pages(Position.from_state(state.get("scan"), 1)):
        rows = map_records("users", page.items, map_user, ctx.log)
        yield Rows(STREAM, rows, {} if page.last else {"scan": page.after.to_state()}, page.total)
