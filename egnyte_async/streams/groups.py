"""groups and group_members: the SCIM group listing, plus one detail call per group for its members.

Members are only in `GET /pubapi/v2/groups/{id}`, so each group costs a call. The detail calls of a page run
concurrently, and the position advances group by group: a sync stopped by the quota loses at most the groups in
flight, not a whole page of detail calls.

Groups have no timestamps, so nothing tells whose members changed. A group is detailed when the ledger does not
know it (new: at once), and otherwise once in every `membership_refresh_hours`, spread evenly over the syncs of
that period: the period holds `slots = round(membership_refresh_hours / sync_frequency_hours)` syncs (a *tick* is
one `sync_frequency_hours` of UTC time), and a group is due in the ticks where `tick % slots` is its slot, a
stable hash of its id. Since a scan details the groups due in every tick since the previous scan began (a whole
period's worth at most), a sync that is late or skipped costs no group its turn. A group not due is `Kept`: its
memberships stay live as synced, and its `groups` row is not written (its member count is only known from the
detail call; a renamed group shows its new name when it is next detailed).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from egnyte_async.errors import InvalidBodyError, NotFoundError
from egnyte_async.items import Batch, Completed, Kept, Mark, Refreshed
from egnyte_async.ledger import Ledger, LedgerSpec
from egnyte_async.log import Log
from egnyte_async.mapping import RecordError, Row, cap_long_values, map_group, map_group_members
from egnyte_async.ordered import ordered_map
from egnyte_async.pagination import Position, Scanner, unprocessed
from egnyte_async.schema import Table
from egnyte_async.state import read_id, report_unreadable
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
    """The scan under way (None: the next sync starts a new one) and, inside its page, the last group written; then
    the tick the scan under way began in (`scan_tick`) and the tick the last scan began in (`previous_tick`): the
    scan details the groups due in the ticks between them (None: in its own tick only)."""

    scan: Position | None = None
    after_id: Any = None
    scan_tick: int | None = None
    previous_tick: int | None = None

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {}
        if self.scan is not None:
            saved["scan"] = self.scan.to_state()
            if self.after_id is not None:
                saved["after_id"] = self.after_id
            if self.scan_tick is not None:
                saved["scan_tick"] = self.scan_tick
        if self.previous_tick is not None:
            saved["previous_tick"] = self.previous_tick
        return saved

    def describe(self) -> str:
        if self.scan is None:
            return "starts a new scan"
        inside = f", after group {self.after_id}" if self.after_id is not None else ""
        return f"resumes at record {self.scan.index}{inside}"


def _read_tick(raw: Mapping[str, Any], key: str, log: Log) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if type(value) is not int or not 0 <= value < 2**40:
        again = "the groups due for a refresh are counted from now"
        report_unreadable(log, NAME, repr(key), value, again, "not a tick")
        return None
    return value


def read_state(raw: Mapping[str, Any], log: Log) -> GroupsState:
    """Also reads the previous layout (`scan` and `after_id` only): its scan resumes detailing only the groups new
    or due from the sync's own tick."""
    previous = _read_tick(raw, "previous_tick", log)
    scan = read_scan(raw, NAME, FIRST_INDEX, log)
    if scan is None:
        return GroupsState(previous_tick=previous)
    after = read_id(raw, "after_id", NAME, log, "the page is read again from its first group")
    return GroupsState(scan, after, _read_tick(raw, "scan_tick", log), previous)


def tick_of(moment: datetime, sync_frequency_hours: float) -> int:
    """Which `sync_frequency_hours` of UTC time since the epoch `moment` falls in."""
    return int(moment.timestamp() // (sync_frequency_hours * 3600))


def refresh_slots(membership_refresh_hours: int, sync_frequency_hours: float) -> int:
    """Syncs in a refresh period: each detail a share of the groups, so that every group is detailed once in it."""
    return max(1, round(membership_refresh_hours / sync_frequency_hours))


def group_slot(group_id: str, slots: int) -> int:
    """The tick of every `slots` a group is due in: a stable hash of its id (not Python's salted hash()), the same
    in every process."""
    return zlib.crc32(group_id.encode("utf-8", "surrogatepass")) % slots


def refresh_due(group_id: str, slots: int, after_tick: int | None, on_tick: int) -> bool:
    """Whether a tick in (after_tick, on_tick] is the group's (None, or a clock set back: the tick `on_tick` only).
    A range of `slots` ticks or more holds every group's; one slot is every sync's, even of a sync in the tick of
    the one before."""
    if slots <= 1:
        return True
    first = on_tick if after_tick is None or after_tick > on_tick else after_tick + 1
    if on_tick - first + 1 >= slots:
        return first <= on_tick
    due = first + (group_slot(group_id, slots) - first) % slots
    return due <= on_tick


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
    settings = ctx.settings
    slots = refresh_slots(settings.membership_refresh_hours, settings.sync_frequency_hours)
    now_tick = tick_of(ctx.now, settings.sync_frequency_hours)
    # A new scan begins in this tick; a resumed one keeps its own (this tick when it was saved without one).
    scan_tick = state.scan_tick if state.scan is not None and state.scan_tick is not None else now_tick
    ledger: Ledger | None = ctx.ledgers.get(NAME)
    counts = {"new": 0, "due": 0, "kept": 0}

    def needs_detail(group: dict[str, Any]) -> bool:
        scope = group_scope(group)
        if scope is None or ledger is None or not ledger.knows(scope):
            counts["new"] += 1
            return True
        if refresh_due(scope, slots, state.previous_tick, scan_tick):
            counts["due"] += 1
            return True
        counts["kept"] += 1
        return False

    async def detail(group: dict[str, Any]) -> dict[str, Any] | Kept | None:
        group_id = group.get("id")
        if not needs_detail(group):
            scope = group_scope(group)
            assert scope is not None
            return Kept(scope)
        try:
            return await ctx.client.get(
                f"/pubapi/v2/groups/{quote(str(group_id), safe='')}",
                parse=parse_group_detail,
                what=f"members of group {group_id}",
            )
        except NotFoundError:
            ctx.log.warning(f"groups: group {group_id} was deleted while the sync ran; it is not stored")
            return None

    def checkpoint(position: Position | None, after_id: Any) -> GroupsState:
        return GroupsState(position, after_id, scan_tick, state.previous_tick)

    try:
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
                if isinstance(body, Kept):
                    # Not due: its memberships stay as synced, and its row too (the count is the detail's).
                    yield Batch([], checkpoint(page.start, group["id"]), page.total, (body,), page.passed_at(group))
                    continue
                try:
                    rows = group_rows(group, body, ctx.log)
                except RecordError as error:
                    ctx.log.warning(f"groups: skipped a group that cannot be stored: {error}")
                    continue
                group_id = rows[0][1]["id"]
                members = frozenset(row["user_id"] for table, row in rows if table == GROUP_MEMBERS.name)
                marks: tuple[Mark, ...] = (Refreshed(group_id, members),)
                yield Batch(rows, checkpoint(page.start, group["id"]), page.total, marks, page.passed_at(group))
            if not page.last:
                yield Batch([], checkpoint(page.after, None), page.total, (), page.passed)
                continue
            after = GroupsState(None, None, None, scan_tick)
            yield Batch([], after, page.total, (Completed(),), page.passed)
    finally:
        if counts["kept"]:
            ctx.log.info(
                f"groups: detailed {counts['new'] + counts['due']} group(s) ({counts['new']} new, {counts['due']} due "
                f"for the refresh every {settings.membership_refresh_hours} h); {counts['kept']} group(s) not due "
                "were not detailed (their memberships stay as synced)"
            )


def group_scope(group: dict[str, Any]) -> str | None:
    """The group's key in the ledger, as its row keys it (text)."""
    try:
        return map_group(group)["id"]  # type: ignore[no-any-return]
    except RecordError:
        return None


#: Each group is a scope whose children are its members' user ids: a member no longer listed by the group's detail
#: call is deleted at once; a group met by no complete scan is gone, with its memberships.
LEDGER = LedgerSpec(
    parent=GROUPS,
    child=GROUP_MEMBERS,
    child_key=lambda group, user: {"group_id": group, "user_id": user},
    scope_kind=str,
    children_are="users",
)

STREAM = Stream(NAME, (GROUPS, GROUP_MEMBERS), read_state, produce, ledger=LEDGER, unit="groups detailed")
