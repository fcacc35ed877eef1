"""groups and group_members: the SCIM group listing, plus one detail call per group for its members.

Members are only in `GET /pubapi/v2/groups/{id}`, so each group costs a call. The detail calls of a page run
concurrently, and the position advances group by group: a sync stopped by the quota loses at most the groups in
flight, not a whole page of detail calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from egnyte_async.errors import InvalidBodyError, NotFoundError
from egnyte_async.items import Batch, Completed, Refreshed
from egnyte_async.ledger import LedgerSpec
from egnyte_async.log import Log
from egnyte_async.mapping import RecordError, Row, cap_long_values, map_group, map_group_members
from egnyte_async.ordered import ordered_map
from egnyte_async.pagination import Position, Scanner, unprocessed
from egnyte_async.schema import Table
from egnyte_async.state import read_id
from egnyte_async.streams.base import Stream
from egnyte_async.streams.context import StreamContext
from egnyte_async.streams.scan_state import read_scan
from egnyte_async.streams.scim import FIRST_INDEX, scim_listing

NAME = "groups"
GROUPS = Table("groups", ("id",), {"id": "STRING", "display_name": "STRING", "member_count": "LONG", "extra": "JSON"})
GROUP_MEMBERS = Table(
    "group_members",
    ("group_id", "user_id"),
    {"group_id": "STRING", "user_id": "LONG", "username": "STRING", "display_name": "STRING", "extra": "JSON"},
)


@dataclass(frozen=True)
class GroupsState:
    """The scan under way (None: the next sync starts a new one) and, inside its page, the last group written."""

    scan: Position | None = None
    after_id: Any = None

    def to_state(self) -> dict[str, Any]:
        if self.scan is None:
            return {}
        saved: dict[str, Any] = {"scan": self.scan.to_state()}
        if self.after_id is not None:
            saved["after_id"] = self.after_id
        return saved

    def describe(self) -> str:
        if self.scan is None:
            return "starts a new scan"
        inside = f", after group {self.after_id}" if self.after_id is not None else ""
        return f"resumes at record {self.scan.index}{inside}"


def read_state(raw: Mapping[str, Any], log: Log) -> GroupsState:
    scan = read_scan(raw, NAME, FIRST_INDEX, log)
    if scan is None:
        return GroupsState()
    return GroupsState(scan, read_id(raw, "after_id", NAME, log, "the page is read again from its first group"))


def parse_group_detail(body: Any) -> dict[str, Any]:
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


def group_rows(group: dict[str, Any], detail: dict[str, Any], log: Log) -> list[tuple[str, Row]]:
    """The group's row (its listing item merged with its detail) and one row per member."""
    members = detail.get("members") or []
    merged = {**group, **{key: value for key, value in detail.items() if key not in ("members", "schemas")}}
    warn = log.warning
    rows: list[tuple[str, Row]] = [(GROUPS.name, cap_long_values(GROUPS, map_group(merged, members, warn=warn), warn))]
    rows.extend(
        (GROUP_MEMBERS.name, cap_long_values(GROUP_MEMBERS, row, warn))
        for row in map_group_members(str(merged["id"]), members, warn=warn)
    )
    return rows


async def produce(ctx: StreamContext, state: GroupsState) -> AsyncIterator[Batch]:
    listing = scim_listing(NAME, "/pubapi/v2/groups", ctx.page_size)
    scanner = Scanner(ctx.client, listing, ctx.window, ctx.log)
    last_done = state.after_id

    async def detail(group: dict[str, Any]) -> dict[str, Any] | None:
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

    async for page in scanner.pages(state.scan or Position(FIRST_INDEX)):
        items = [group for group in page.items if usable_id(group.get("id"))]
        if len(items) < len(page.items):
            odd = ", ".join(repr(group.get("id"))[:100] for group in page.items if not usable_id(group.get("id")))
            ctx.log.warning(f"groups: skipped {len(page.items) - len(items)} group(s) without a usable id: {odd}")
        items = unprocessed(items, page.start.tail, last_done)
        last_done = None
        async for group, body in ordered_map(items, detail, ctx.fan_out):
            if body is None:
                continue
            try:
                rows = group_rows(group, body, ctx.log)
            except RecordError as error:
                ctx.log.warning(f"groups: skipped a group that cannot be stored: {error}")
                continue
            group_id = rows[0][1]["id"]
            members = frozenset(row["user_id"] for table, row in rows if table == GROUP_MEMBERS.name)
            marks = (Refreshed(group_id, members),)
            state_after = GroupsState(page.start, group["id"])
            yield Batch(rows, state_after, page.total, marks, page.passed_at(group))
        done = (Completed(),) if page.last else ()
        yield Batch([], GroupsState(None if page.last else page.after), page.total, done, page.passed)


#: Each group is a scope whose children are its members' user ids: a member no longer listed by the group's detail
#: call is deleted at once; a group met by no complete scan is gone, with its memberships.
LEDGER = LedgerSpec(
    parent=GROUPS,
    child=GROUP_MEMBERS,
    child_key=lambda group, user: {"group_id": group, "user_id": user},
    scope_kind=str,
)

STREAM = Stream(NAME, (GROUPS, GROUP_MEMBERS), read_state, produce, ledger=LEDGER, unit="groups detailed")
