"""groups and group_members: the SCIM group listing, plus one detail call per group for its members.

Members are only in `GET /pubapi/v2/groups/{id}`, so each group costs a call. The detail calls of a page run
concurrently, and the position advances group by group: a sync stopped by the quota loses at most the groups in
flight, not a whole page of detail calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from egnyte_async.errors import InvalidBodyError, NotFoundError
from egnyte_async.items import Rows
from egnyte_async.mapping import RecordError, cap_long_values, map_group, map_group_members
from egnyte_async.pagination import Listing, Position, Scanner, parse_scim_page, unprocessed
from egnyte_async.tables.context import StreamContext
from egnyte_async.tables.ordered import ordered_map

STREAM = "groups"


def parse_group_detail(body: Any) -> dict:
    if not isinstance(body, dict) or "id" not in body:
        raise InvalidBodyError("group detail: expected a JSON object with an id")
    members = body.get("members", [])
    if members is None:
        members = []
    if not isinstance(members, list) or not all(isinstance(member, dict) for member in members):
        raise InvalidBodyError("group detail: 'members' is not a list of objects")
    return body


def usable_id(value: Any) -> bool:
    """Whether a group id can name a detail call and a row: a non-empty string, or a whole number."""
    return (type(value) is str and bool(value.strip())) or type(value) is int


async def produce(ctx: StreamContext, state: dict[str, Any]) -> AsyncIterator[Rows]:
    listing = Listing(STREAM, "/pubapi/v2/groups", "startIndex", 1, ctx.page_size, parse_scim_page)
    scanner = Scanner(ctx.client, listing, ctx.window, ctx.log)
    last_done = state.get("after_id")

    async def detail(group: dict) -> dict | None:
        group_id = group.get("id")
        try:
            return await ctx.client.get(
                f"/pubapi/v2/groups/{quote(str(group_id), safe='')}",
                parse=parse_group_detail,
                what=f"members of group {group_id}",
            )
        except NotFoundError:
            ctx.log.warning(f"groups: group {group_id} was deleted while the sync ran; it is not stored")
            return None

    async for page in scanner.pages(Position.from_state(state.get("scan"), 1)):
        items = [group for group in page.items if usable_id(group.get("id"))]
        if len(items) < len(page.items):
            odd = ", ".join(repr(group.get("id"))[:100] for group in page.items if not usable_id(group.get("id")))
            ctx.log.warning(f"groups: skipped {len(page.items) - len(items)} group(s) without a usable id: {odd}")
        items = unprocessed(items, page.start.tail, last_done)
        last_done = None
        async for group, body in ordered_map(items, detail, ctx.fan_out):
            if body is None:
                continue
            members = body.get("members") or []
            merged = {**group, **{k: v for k, v in body.items() if k not in ("members", "schemas")}}
            try:
                warn = ctx.log.warning
                group_row = cap_long_values("groups", map_group(merged, members, warn=warn), warn)
                rows: list[tuple[str, dict]] = [("groups", group_row)]
                members_rows = [
                    cap_long_values("group_members", row, warn)
                    for row in map_group_members(str(merged["id"]), members, warn=warn)
                ]
            except RecordError as error:
                ctx.log.warning(f"groups: skipped a group that cannot be stored: {error}")
                continue
            rows.extend(("group_members", row) for row in members_rows)
            yield Rows(STREAM, rows, {"scan": page.start.to_state(), "after_id": group["id"]}, page.total)
        yield Rows(STREAM, [], {} if page.last else {"scan": page.after.to_state()}, page.total)
