"""groups and group_members: the SCIM group listing every sync, then members from the users or one call per group.

The listing (a call per 100 groups) runs with the other listings, before any fan-out (streams/phases.py): every
sync writes every group's row (its member count as last read) and finds the groups deleted since. Members are
then read in the fan-out: from the users listing, at no call, when it carries each user's groups and this sync's
users scan read it whole (streams/roster.py); otherwise from `GET /pubapi/v2/groups/{id}`, one call per group.

Groups have no timestamps, so nothing tells whose members changed. Detail calls go first to the groups never read
(new: at once), then to those due for the refresh every `membership_refresh_hours`, spread evenly over the syncs of
that period (streams/turns.py). They form a *pass*, which may span syncs when the quota is short: the state keeps
the groups read in it, so a sync stopped by the quota loses at most the calls in flight, and the next one reads
only the others. A group not read keeps its memberships as synced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from egnyte_async.errors import InvalidBodyError, NotFoundError
from egnyte_async.items import Batch, Completed, Gone, Kept, Mark, Refreshed
from egnyte_async.keysets import decode_str_set, encode_str_set
from egnyte_async.ledger import Ledger, LedgerSpec
from egnyte_async.log import Log
from egnyte_async.mapping import RecordError, Row, cap_long_values, map_group, map_group_members
from egnyte_async.ordered import ordered_map
from egnyte_async.pagination import Position, Scanner
from egnyte_async.schema import Table
from egnyte_async.state import report_unreadable
from egnyte_async.streams.base import Stream
from egnyte_async.streams.context import StreamContext
from egnyte_async.streams.passes import DoneSoFar, encode_done, read_done
from egnyte_async.streams.phases import MEMBERSHIP_REFRESH
from egnyte_async.streams.scan_state import read_scan
from egnyte_async.streams.scim import FIRST_INDEX, scim_listing
from egnyte_async.streams.turns import due_between, read_tick, refresh_slots, tick_of

NAME = "groups"
GROUPS = Table("groups", ("id",), {"id": "STRING", "display_name": "STRING", "member_count": "LONG", "extra": "JSON"})
GROUP_MEMBERS = Table(
    "group_members",
    ("group_id", "user_id"),
    {"group_id": "STRING", "user_id": "LONG", "username": "STRING", "display_name": "STRING", "extra": "JSON"},
)


@dataclass(frozen=True)
class GroupsState:
    """The group listing under way (None: the next sync starts a new one); the groups listed whose members were
    never read (`undetailed`); then the detail pass: the tick it began in (None: none under way), the groups read
    in it so far, and the tick the last complete pass began in (`previous_tick`)."""

    scan: Position | None = None
    undetailed: frozenset[str] = frozenset()
    pass_tick: int | None = None
    done: DoneSoFar[str] = field(default_factory=DoneSoFar)
    previous_tick: int | None = None

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {}
        if self.scan is not None:
            saved["scan"] = self.scan.to_state()
        if self.undetailed:
            saved["undetailed"] = encode_str_set(self.undetailed)
        if self.pass_tick is not None:
            saved["pass_tick"] = self.pass_tick
            saved["done"] = encode_done(self.done, str)
        if self.previous_tick is not None:
            saved["previous_tick"] = self.previous_tick
        return saved

    def describe(self) -> str:
        listing = "starts a new listing" if self.scan is None else f"resumes the listing at record {self.scan.index}"
        if self.pass_tick is None:
            return listing
        return f"{listing}; {len(self.done)} group(s) already read in the detail pass under way"


def read_state(raw: Mapping[str, Any], log: Log) -> GroupsState:
    """Also reads the previous release's layout (`scan`, `after_id`, `scan_tick`: a listing that read each group's
    members as it went): its listing starts again (a call per 100 groups), and its pass goes on from its tick."""
    previous = read_tick(raw, "previous_tick", NAME, log)
    undetailed: frozenset[str] = frozenset()
    if raw.get("undetailed") is not None:
        try:
            undetailed = frozenset(decode_str_set(raw["undetailed"]))
        except ValueError as error:
            why = "the groups not read yet are read when their turn comes"
            report_unreadable(log, NAME, "'undetailed'", raw["undetailed"], why, str(error))
    if "after_id" in raw or "scan_tick" in raw:  # the previous release: its scan read members as it went
        return GroupsState(None, undetailed, None, DoneSoFar(), previous)
    scan = read_scan(raw, NAME, FIRST_INDEX, log)
    pass_tick = read_tick(raw, "pass_tick", NAME, log)
    done: DoneSoFar[str] = DoneSoFar()
    if pass_tick is not None:
        done = read_done(raw, "done", str, NAME, log, "the pass's groups are read again")
    return GroupsState(scan, undetailed, pass_tick, done, previous)


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


def members_read(
    scope: str, group: dict[str, Any], detail: dict[str, Any], log: Log
) -> tuple[list[tuple[str, Row]], tuple[Mark, ...]]:
    """The rows of a group whose members were read (its detail, or the users listing), and what they tell the
    ledger: the members it holds, read after the listing (not a meeting of the group by the scan). Nothing for a
    group that cannot be stored, with a warning."""
    try:
        rows = group_rows(group, detail, log)
    except RecordError as error:
        log.warning(f"groups: skipped a group that cannot be stored: {error}")
        return [], ()
    members = frozenset(row["user_id"] for table, row in rows if table == GROUP_MEMBERS.name)
    return rows, (Refreshed(scope, members, meets=False),)


def listing_row(group: dict[str, Any], members: int | None, log: Log) -> Row:
    """A group's row from its listing item, with its member count as last read (None: never read)."""
    row = map_group(group, warn=log.warning)
    row["member_count"] = members
    return cap_long_values(GROUPS, row, log.warning)


async def produce(ctx: StreamContext, state: GroupsState) -> AsyncIterator[Batch]:
    listing = scim_listing(NAME, "/pubapi/v2/groups", ctx.page_size)
    scanner = Scanner(ctx.client, listing, ctx.window, ctx.log)
    ledger: Ledger | None = ctx.ledgers.get(NAME)
    listed: dict[str, dict[str, Any]] = {}
    # Groups read in the pass under way are read, whatever a state saved before its end still says.
    undetailed = set(state.undetailed) - (state.done.as_set() if state.pass_tick is not None else set())
    whole = state.scan is None  # the listing read from its first page in this sync
    scan = state.scan
    # The last sync never got to the fan-outs: no new listing this sync, so that they get their turn.
    skip = whole and ctx.starts_no_new_listing(NAME)
    whole = whole and not skip
    if not skip:
        async for page in scanner.pages(state.scan or Position(FIRST_INDEX)):
            rows: list[tuple[str, Row]] = []
            marks: list[Mark] = []
            unusable = []
            for group in page.new_items:
                scope = group_scope(group)
                if scope is None:
                    unusable.append(repr(group.get("id") if isinstance(group, dict) else group)[:100])
                    continue
                listed[scope] = group
                if ledger is None or not ledger.knows(scope):
                    undetailed.add(scope)
                members = None if scope in undetailed or ledger is None else len(ledger.children_of(scope))
                rows.append((GROUPS.name, listing_row(group, members, ctx.log)))
                marks.append(Kept(scope))
            if unusable:
                ctx.log.warning(f"groups: skipped {len(unusable)} group(s) without a usable id: {', '.join(unusable)}")
            scan = None if page.last else page.after
            if page.last:
                marks.append(Completed())
                if whole:
                    undetailed &= listed.keys()  # deleted before their members were read
            after = GroupsState(scan, frozenset(undetailed), state.pass_tick, state.done, state.previous_tick)
            yield Batch(rows, after, None, tuple(marks))
    state = GroupsState(scan, frozenset(undetailed), state.pass_tick, state.done, state.previous_tick)
    await ctx.barrier.fan_out(NAME)
    complete = whole and scan is None
    roster = ctx.roster
    if complete and roster.complete and roster.carries_groups:
        async for batch in _members_from_users(ctx, state, listed):
            yield batch
        return
    async for batch in _members_from_details(ctx, state, listed, complete):
        yield batch


async def _members_from_users(
    ctx: StreamContext, state: GroupsState, listed: dict[str, dict[str, Any]]
) -> AsyncIterator[Batch]:
    """Every group's members as this sync's users scan carried them: no call, and no group waits its turn."""
    now_tick = tick_of(ctx.now, ctx.settings.sync_frequency_hours)
    after = GroupsState(state.scan, frozenset(), None, DoneSoFar(), now_tick)
    for scope, group in listed.items():
        rows, marks = members_read(
            scope, group, {"id": group.get("id"), "members": ctx.roster.member_records(scope)}, ctx.log
        )
        if rows:
            yield Batch(rows, after, None, marks)
    ctx.log.info(
        f"groups: the members of {len(listed)} group(s) come from Egnyte's users listing, which carries each user's "
        "groups: no detail call"
    )
    yield Batch([], after)


async def _members_from_details(
    ctx: StreamContext, state: GroupsState, listed: dict[str, dict[str, Any]], complete: bool
) -> AsyncIterator[Batch]:
    """The detail pass: new groups first, then those due for the refresh, those read in the pass excepted. It ends
    when every group due is read, on a listing read whole in this sync (else some groups due were not seen)."""
    settings = ctx.settings
    slots = refresh_slots(settings.membership_refresh_hours, settings.sync_frequency_hours)
    pass_tick = state.pass_tick if state.pass_tick is not None else tick_of(ctx.now, settings.sync_frequency_hours)
    done = state.done if state.pass_tick is not None else DoneSoFar[str]()
    read = done.as_set()
    # New groups first: those listed in this sync, then any listed by an earlier sync that stopped before it read them.
    fresh = [scope for scope in listed if scope in state.undetailed and scope not in read]
    fresh += sorted(state.undetailed - listed.keys() - read)
    due = sorted(
        scope
        for scope in listed
        if scope not in state.undetailed
        and scope not in read
        and due_between(scope, slots, state.previous_tick, pass_tick)
    )
    not_due = len(listed.keys() - state.undetailed - read) - len(due)

    async def detail(scope: str) -> dict[str, Any] | None:
        group_id = listed.get(scope, {"id": scope}).get("id")
        try:
            return await ctx.client.get(
                f"/pubapi/v2/groups/{quote(str(group_id), safe='')}",
                parse=parse_group_detail,
                what=f"members of group {group_id}",
            )
        except NotFoundError:
            ctx.log.warning(f"groups: group {group_id} was deleted since it was listed; it is marked deleted")
            return None

    undetailed = state.undetailed
    read_now = 0
    total = len(read) + len(fresh) + len(due)  # the groups of the pass: read before, and to read now

    async def read_all() -> AsyncIterator[tuple[str, dict[str, Any] | None]]:
        async for pair in ordered_map(fresh, detail, ctx.fan_out):
            yield pair
        # The refresh waits until every fan-out has read what the listings signal as changed.
        await ctx.tiers.reach(NAME, MEMBERSHIP_REFRESH)
        async for pair in ordered_map(due, detail, ctx.fan_out):
            yield pair

    try:
        async for scope, body in read_all():
            done = done.with_done(scope)
            read_now += 1
            rows: list[tuple[str, Row]] = []
            marks: tuple[Mark, ...] = (Gone(scope),)
            if body is not None:
                rows, marks = members_read(scope, listed.get(scope, {"id": scope}), body, ctx.log)
            after = GroupsState(state.scan, undetailed, pass_tick, done, state.previous_tick)
            yield Batch(rows, after, total, marks, len(done))
        if complete:
            left = frozenset(undetailed - done.as_set())
            yield Batch([], GroupsState(state.scan, left, None, DoneSoFar(), pass_tick))
    finally:
        if read_now or not_due:
            ctx.log.info(
                f"groups: read the members of {read_now} group(s) ({len(fresh)} new, {len(due)} due for the refresh "
                f"every {settings.membership_refresh_hours} h, some may wait for the next sync); {not_due} group(s) "
                "not due were not read (their memberships stay as synced)"
            )


def group_scope(group: Any) -> str | None:
    """The group's key in the ledger, as its row keys it (text); None for a group whose id can name neither a detail
    call nor a row."""
    if not isinstance(group, dict) or not usable_id(group.get("id")):
        return None
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

STREAM = Stream(
    NAME, (GROUPS, GROUP_MEMBERS), read_state, produce, ledger=LEDGER, unit="groups detailed", fans_out=True
)
