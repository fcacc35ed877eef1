"""bookmarks: Egnyte lists only the bookmarks of the token's user, so each user is listed in turn, acting as them.

The users come from this sync's users scan (streams/roster.py), which runs before any fan-out (streams/phases.py);
when the users table is not synced, this stream scans the users itself first. A user's bookmarks are listed only
when they can have changed since they were last listed (see `Freshness`): a user never listed; one without a
readable `lastActiveDate` (a null one means the user never signed in: nothing of theirs changed); one whose
`lastActiveDate` is at or after the start of the last complete pass (less ACTIVITY_MARGIN), since only an active user
changes their bookmarks; and, as a safety net for what
`lastActiveDate` may not tell (a folder deleted under a bookmark, activity recorded late), every user once in
`bookmarks_refresh_days`, a share of the users each sync (streams/turns.py). Any other user costs no call, and
their bookmarks stay live as synced.

The listings of a *pass* go to new users first, then to the active, then to the refresh: when the quota cannot
cover a pass in one sync, the state keeps the users listed in it and the next sync lists only the others. Why
that is enough: once a pass that began at S has completed, the bookmarks written for every user reflect every
change made before S (a user it listed was listed after S; a user it did not was not active since the previous
pass began, and that pass's listings reflect what came before). So the next pass need only list the users active
since S. A users scan read whole in this sync also tells which users exist: the bookmarks of a user gone from
Egnyte are deleted with the user.

Users the listing says are deactivated are not asked (Egnyte cannot act as them); a user Egnyte refuses
(deactivated or deleted since the listing: 400, 404) is skipped with a warning. Only bare 403s for the first users
asked, before any listing succeeded, mean the token lacks the right to act as users. A userName that is not ASCII
cannot be sent in a header: such a user is acted as by e-mail address, or skipped.
"""

from __future__ import annotations

import dataclasses
import itertools
from array import array
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from egnyte_async.dates import parse_egnyte_datetime, to_utc_iso
from egnyte_async.errors import NotFoundError, PermissionDeniedError, UnexpectedResponseError
from egnyte_async.items import Batch, Kept, Mark, Present, Refreshed
from egnyte_async.ledger import Ledger, LedgerSpec
from egnyte_async.log import Log
from egnyte_async.mapping import Row, map_bookmark
from egnyte_async.ordered import ordered_map
from egnyte_async.pagination import (
    Listing,
    Page,
    PageCap,
    Position,
    Scanner,
    optional_int,
    record_key,
    require_list,
)
from egnyte_async.schema import Table
from egnyte_async.state import report_unreadable
from egnyte_async.streams.base import Stream
from egnyte_async.streams.context import StreamContext, map_records
from egnyte_async.streams.passes import DoneSoFar, decode_done, encode_done, read_done
from egnyte_async.streams.phases import BOOKMARK_REFRESH
from egnyte_async.streams.roster import RosterUser
from egnyte_async.streams.scan_state import read_scan
from egnyte_async.streams.scim import FIRST_INDEX
from egnyte_async.streams.turns import due_between, read_tick, refresh_slots, tick_of
from egnyte_async.streams.users import roster_scan

NAME = "bookmarks"
BOOKMARKS = Table(
    "bookmarks",
    ("id",),
    {
        "id": "LONG",
        "path": "STRING",
        "folder_id": "STRING",
        "created_date": "UTC_DATETIME",
        "creator": "STRING",
        "extra": "JSON",
    },
)
#: Active users refused with a bare 403 before any user's bookmarks were listed, before the token is judged to lack
#: the administrator's right to act as users (a 400 "not active" or a 404 concerns only the user it names).
FAILURES_BEFORE_GIVING_UP = 3
#: Activity this long before the last complete scan began still counts as activity since: it absorbs a connector's
#: clock ahead of Egnyte's and a `lastActiveDate` recorded a little late, for one more listing of a few users.
ACTIVITY_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class Recent:
    """The users whose bookmarks were listed lately, as a compact text per tick (earlier ticks, never changed once
    written) and the users listed in the current tick so far (appended to as the sync lists them)."""

    earlier: tuple[tuple[int, str], ...] = ()
    tick: int | None = None
    now: DoneSoFar[int] = field(default_factory=DoneSoFar)

    def to_state(self) -> dict[str, str]:
        saved = {str(tick): text for tick, text in self.earlier}
        if self.tick is not None and len(self.now):
            saved[str(self.tick)] = encode_done(self.now, int)
        return saved

    @classmethod
    def from_state(cls, raw: Any, log: Log) -> Recent:
        if raw is None:
            return cls()
        try:
            if not isinstance(raw, dict):
                raise ValueError(f"a {type(raw).__name__}, not an object")
            earlier = []
            for key, text in raw.items():
                tick = int(key) if type(key) is str and key.isdigit() else None
                if tick is None or type(text) is not str:
                    raise ValueError(f"not a tick and a text: {key!r}")
                decode_done(text, int)
                earlier.append((tick, text))
        except ValueError as error:
            report_unreadable(log, NAME, "'recent'", raw, "users listed lately may take their refresh turn", str(error))
            return cls()
        return cls(tuple(sorted(earlier)))

    def since(self, first_tick: int, tick: int) -> tuple[Recent, set[int]]:
        """This record as kept from `tick` on (ticks before `first_tick` dropped, the current tick's users ready to
        be appended to), and every user listed from `first_tick` on."""
        kept = tuple((at, text) for at, text in self.earlier if first_tick <= at < tick)
        listed: set[int] = set()
        for _, text in kept:
            listed |= decode_done(text, int).as_set()
        current: DoneSoFar[int] = DoneSoFar()
        for at, text in self.earlier:
            if at == tick:
                current = decode_done(text, int)
        if self.tick == tick:
            current = self.now
        listed |= current.as_set()
        return Recent(kept, tick, current), listed

    def with_listed(self, owner: int) -> Recent:
        return Recent(self.earlier, self.tick, self.now.with_done(owner))


@dataclass(frozen=True)
class BookmarksState:
    """What was learnt about the endpoint (whether offsets count from 1, its page cap); the pass under way: when it
    began (`pass_started`, UTC text; None: none under way) and the users listed in it so far; when the last complete
    pass began (`previous_pass_started`): users not active since are not listed again (None: every user is). `scan`
    is this stream's own scan of the users, under way, when the users table is not synced. Then the periodic
    refresh's own pass, counted in ticks (streams/turns.py): the tick it is for, the users it listed, and the tick of
    the last complete one; it runs behind every signaled change (streams/phases.py), so a short quota holds back the
    refresh, never the active users."""

    offset_base: int = 0
    page_cap: dict[str, Any] = field(default_factory=lambda: PageCap().to_state())
    pass_started: str | None = None
    done: DoneSoFar[int] = field(default_factory=DoneSoFar)
    previous_pass_started: str | None = None
    scan: Position | None = None
    refresh_tick: int | None = None
    refresh_done: DoneSoFar[int] = field(default_factory=DoneSoFar)
    refresh_previous_tick: int | None = None
    #: When the last sync that worked on the pass under way began: a user it listed who was active since is listed
    #: again by the next sync, rather than wait for the pass to end.
    pass_sync_started: str | None = None
    #: Who was listed lately, by tick: a user listed in the half period before their refresh turn skips it.
    recent: Recent = field(default_factory=lambda: Recent())

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {"offset_base": self.offset_base, "page_cap": self.page_cap}
        if self.pass_started is not None:
            saved["pass_started"] = self.pass_started
            saved["done"] = encode_done(self.done, int)
            if self.pass_sync_started is not None:
                saved["pass_sync_started"] = self.pass_sync_started
        if self.previous_pass_started is not None:
            saved["previous_pass_started"] = self.previous_pass_started
        if self.scan is not None:
            saved["scan"] = self.scan.to_state()
        if self.refresh_tick is not None:
            saved["refresh_tick"] = self.refresh_tick
            saved["refresh_done"] = encode_done(self.refresh_done, int)
        if self.refresh_previous_tick is not None:
            saved["refresh_previous_tick"] = self.refresh_previous_tick
        recent = self.recent.to_state()
        if recent:
            saved["recent"] = recent
        return saved

    def describe(self) -> str:
        if self.previous_pass_started is None:
            which = "every user's bookmarks"
        else:
            which = f"the bookmarks of new users and of users active since {self.previous_pass_started}"
        if self.pass_started is None:
            return f"starts a new pass ({which})"
        return f"goes on with the pass begun {self.pass_started}, {len(self.done)} user(s) listed so far ({which})"


#: Saved instants outside these are garbage.
EARLIEST_SAVED = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_SAVED = datetime(9000, 1, 1, tzinfo=timezone.utc)


def _saved_instant(value: Any) -> datetime | None:
    """A saved instant: UTC text this connector wrote, within sane years; None otherwise."""
    if type(value) is not str:
        return None
    try:
        moment = parse_egnyte_datetime(value)
    except ValueError:
        return None
    return moment if moment is not None and EARLIEST_SAVED <= moment <= LATEST_SAVED else None


def _read_instant(raw: Mapping[str, Any], key: str, log: Log, consequence: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if _saved_instant(value) is None:
        report_unreadable(log, NAME, repr(key), value, consequence, "not an instant")
        return None
    return str(value)


def read_state(raw: Mapping[str, Any], log: Log) -> BookmarksState:
    """Also reads the previous release's layout (a scan of the users listing each user as it went: `scan`,
    `after_user_id`, `scan_started`, `previous_scan_started`): its scan under way becomes the pass under way, with
    nobody listed yet in it (some users are listed once more), and its last complete scan's start the last pass's."""
    offset_base = raw.get("offset_base", 0)
    if type(offset_base) is not int or offset_base not in (0, 1):
        report_unreadable(log, NAME, "'offset_base'", offset_base, "offsets are learnt again", "not 0 or 1")
        offset_base = 0
    page_cap = raw.get("page_cap", {})
    if not isinstance(page_cap, dict):
        report_unreadable(log, NAME, "'page_cap'", page_cap, "the page cap is learnt again")
        page_cap = {}
    learnt = PageCap.from_state(page_cap).to_state()
    if "scan_started" in raw or "previous_scan_started" in raw or "after_user_id" in raw:
        started = _read_instant(raw, "scan_started", log, "the pass under way lists every user's bookmarks")
        if raw.get("scan") is None:
            started = None
        previous = _read_instant(raw, "previous_scan_started", log, "every user's bookmarks are listed again")
        if raw.get("scan") is not None and started is None:
            previous = None  # a scan under way without its start: nothing tells when its listings were made
        return BookmarksState(offset_base, learnt, started, DoneSoFar(), previous)
    started = _read_instant(raw, "pass_started", log, "the pass under way starts again")
    done: DoneSoFar[int] = DoneSoFar()
    if started is not None:
        done = read_done(raw, "done", int, NAME, log, "the pass's users are listed again")
    previous = _read_instant(raw, "previous_pass_started", log, "every user's bookmarks are listed again")
    scan = read_scan(raw, NAME, FIRST_INDEX, log)
    refresh_tick = read_tick(raw, "refresh_tick", NAME, log)
    refreshed: DoneSoFar[int] = DoneSoFar()
    if refresh_tick is not None:
        refreshed = read_done(raw, "refresh_done", int, NAME, log, "the refresh's users are listed again")
    previous_tick = read_tick(raw, "refresh_previous_tick", NAME, log)
    sync_started = None
    if started is not None:
        sync_started = _read_instant(raw, "pass_sync_started", log, "users listed earlier in the pass wait for its end")
    recent = Recent.from_state(raw.get("recent"), log)
    return BookmarksState(
        offset_base, learnt, started, done, previous, scan, refresh_tick, refreshed, previous_tick, sync_started, recent
    )


def parse_bookmarks_page(body: Any) -> Page:
    items = require_list(body, "bookmarks", "bookmarks listing")
    total = optional_int(body, "total_results")
    total = total if total is not None else optional_int(body, "totalResults")
    return Page(items, total, optional_int(body, "offset"))


#: Why a user's bookmarks are listed, in the order a pass lists them, for the summary line.
REASONS = {
    "new": "new",
    "first": "no complete pass before",
    "active": "active since the last pass began",
    "undated": "without lastActiveDate",
    "refresh": "due for the periodic refresh",
    "unkeyed": "without a usable id",
}


@dataclass(frozen=True)
class Freshness:
    """Decides whose bookmarks can have changed (see the module's docstring): `since` is the start of the last
    complete pass less ACTIVITY_MARGIN (None: everyone is listed), `known` whether the ledger has met a user; the
    refresh takes the users whose turn falls in the ticks since the last pass began (streams/turns.py)."""

    since: datetime | None
    slots: int
    previous_tick: int | None
    refresh_tick: int
    known: Callable[[int], bool]

    @classmethod
    def of(
        cls, ctx: StreamContext, previous_started: str | None, refresh_tick: int, previous_tick: int | None
    ) -> Freshness:
        previous = _saved_instant(previous_started)
        if previous is not None:
            previous = min(previous, ctx.now)  # a clock set back since: activity is looked for from now at the latest
        ledger: Ledger | None = ctx.ledgers.get(NAME)
        return cls(
            previous - ACTIVITY_MARGIN if previous is not None else None,
            refresh_slots(ctx.settings.bookmarks_refresh_days * 24, ctx.settings.sync_frequency_hours),
            previous_tick,
            refresh_tick,
            ledger.knows if ledger is not None else (lambda owner: False),
        )

    def refresh_due(self, user: RosterUser) -> bool:
        """Whether the user's turn of the periodic refresh falls in the refresh pass's ticks."""
        return user.owner is not None and due_between(
            str(user.owner), self.slots, self.previous_tick, self.refresh_tick
        )

    def why_listed(self, user: RosterUser) -> str | None:
        """Why this user's bookmarks must be listed (a key of REASONS), or None when they cannot have changed."""
        if user.owner is None:
            return "unkeyed"  # no scope of the ledger to keep them by
        if self.since is None:
            return "first"
        if not self.known(user.owner):
            return "new"
        if user.last_active is None and not user.never_active:
            return "undated"
        if user.last_active is not None and user.last_active >= self.since:
            return "active"
        return "refresh" if self.refresh_due(user) else None


@dataclass(frozen=True)
class Skipped:
    """A user whose bookmarks are not listed this sync, and why."""

    reason: str
    #: Egnyte refused with a bare 403: evidence that the token may not act as users, unlike a 400 "not active"
    #: or a 404 (a user deactivated or deleted since the users listing), which only concern that user.
    denied: bool = False


#: Deactivated users named in the summary line; the rest are counted.
NAMED_IN_SUMMARY = 20


async def produce(ctx: StreamContext, state: BookmarksState) -> AsyncIterator[Batch]:
    if NAME_OF_USERS not in ctx.settings.streams:
        async for batch in _scan_users(ctx, state, state.scan):
            yield batch
            assert isinstance(batch.state, BookmarksState)
            state = batch.state
    await ctx.barrier.fan_out(NAME)
    if not ctx.roster.complete:
        # The users scan of this sync resumed one stopped earlier (or stopped itself): it did not meet every user.
        ctx.log.info(
            "bookmarks: this sync's users scan did not read every user (it resumed one stopped earlier), so the "
            "users are listed once more to tell whose bookmarks can have changed"
        )
        async for batch in _scan_users(ctx, state, None):
            yield batch
            assert isinstance(batch.state, BookmarksState)
            state = batch.state
    async for batch in _list_bookmarks(ctx, state):
        yield batch


NAME_OF_USERS = "users"


async def _scan_users(ctx: StreamContext, state: BookmarksState, start: Position | None) -> AsyncIterator[Batch]:
    """A users scan of this stream's own, from `start` (None: the first page): no rows, only the roster. When the
    users table is not synced; and when this sync's users scan did not read every user."""
    async for page in roster_scan(ctx, start):
        yield Batch([], dataclasses.replace(state, scan=None if page.last else page.after))


async def _list_bookmarks(ctx: StreamContext, state: BookmarksState) -> AsyncIterator[Batch]:
    roster = ctx.roster
    cap = PageCap.from_state(state.page_cap)  # learnt once, shared by every user's listing, kept
    offset_base = state.offset_base
    # A new pass begins now; one under way keeps its start and the users it listed. The same for the refresh.
    started: str | None = state.pass_started or to_utc_iso(ctx.now)
    done = state.done if state.pass_started is not None else DoneSoFar[int]()
    previous = state.previous_pass_started
    refresh_tick = state.refresh_tick
    if refresh_tick is None:
        refresh_tick = tick_of(ctx.now, ctx.settings.sync_frequency_hours)
    refreshed = state.refresh_done if state.refresh_tick is not None else DoneSoFar[int]()
    refresh_previous: int | None = state.refresh_previous_tick
    freshness = Freshness.of(ctx, previous, refresh_tick, refresh_previous)
    listed = 0
    denied: list[str] = []

    this_sync = to_utc_iso(ctx.now)
    now_tick = tick_of(ctx.now, ctx.settings.sync_frequency_hours)
    # A user listed in the half period before their refresh turn skips it (at most 1.5 periods between listings).
    recent, listed_lately = state.recent.since(now_tick - max(1, freshness.slots // 2) + 1, now_tick)
    # Users listed by the syncs before in the pass under way, and active since the last of them began: again.
    relist_since = _saved_instant(state.pass_sync_started) if state.pass_started is not None else None

    def checkpoint() -> BookmarksState:
        return BookmarksState(
            offset_base,
            cap.to_state(),
            started,
            done,
            previous,
            None,
            refresh_tick,
            refreshed,
            refresh_previous,
            this_sync if started is not None else None,
            recent,
        )

    # The users that exist: the bookmarks of any other user are gone with them.
    yield Batch([], checkpoint(), None, (Present(frozenset(roster.owners())),))

    # Positions in the roster, not users: on a first pass of a large tenant every user is to be listed.
    read, read_for_refresh = done.as_set(), refreshed.as_set()
    deactivated: list[str] = []
    work_by_reason: dict[str, array[int]] = {reason: array("q") for reason in REASONS}
    refresh: array[int] = array("q")
    reasons: dict[str, int] = dict.fromkeys(REASONS, 0)
    kept = everyone = 0
    dated = False
    for position in roster.positions():
        user = roster.user(position)
        everyone += 1
        dated = dated or user.dated
        if user.deactivated:
            deactivated.append(user.username or user.shown_id)
            continue
        why = freshness.why_listed(user)
        if user.owner is not None and user.owner in read:
            why = "active" if _active_since(user, relist_since) else None
        if why == "refresh":
            why = None  # the refresh has a pass of its own, behind every signaled change
        if why is not None:
            reasons[why] += 1
            work_by_reason[why].append(position)
        elif user.owner not in read_for_refresh and user.owner not in listed_lately and freshness.refresh_due(user):
            reasons["refresh"] += 1
            refresh.append(position)
        elif user.owner is None or user.owner not in read:
            kept += 1
    work = itertools.chain.from_iterable(work_by_reason.values())  # new users first, then the active, ...
    if reasons["undated"] and not dated:
        ctx.log.info(
            "bookmarks: the users listing gives no lastActiveDate, so nothing tells whose bookmarks can have "
            "changed: every user's bookmarks are listed"
        )

    def use_one_based_offsets() -> None:
        nonlocal offset_base
        if offset_base == 0:
            offset_base = 1
            ctx.log.info("bookmarks: Egnyte refused offset 0; its bookmark offsets count from 1 here")

    async def bookmarks_of(position: int) -> list[dict[str, Any]] | Skipped:
        user = roster.user(position)
        if user.username is None:
            return Skipped(f"user {user.shown_id} has no userName; their bookmarks cannot be listed")
        if user.act_as is None:
            return Skipped(
                f"skipped the bookmarks of {user.username!r}: Egnyte can only act as a user named in ASCII (an HTTP "
                "header), and neither their userName nor their e-mail address is"
            )
        found: list[dict[str, Any]] = []
        try:
            while True:
                base = offset_base
                listing = Listing(
                    f"bookmarks of {user.username}",
                    "/pubapi/v1/bookmarks",
                    "offset",
                    base,
                    ctx.page_size,
                    parse_bookmarks_page,
                    act_as=user.act_as,
                )
                try:
                    async for page in Scanner(ctx.client, listing, 1, ctx.log, cap).pages(Position(base)):
                        found.extend(page.items)
                except UnexpectedResponseError as error:
                    # Egnyte's own words must blame the offset: the request's name says "offset" too, and a
                    # 400 for a user deactivated meanwhile must not switch every later listing to 1-based offsets.
                    if error.status == 400 and base == 0 and not found and "offset" in error.detail.lower():
                        use_one_based_offsets()
                        continue
                    raise
                break
        except PermissionDeniedError as error:
            return Skipped(f"skipped the bookmarks of {user.username}: {error}", denied=True)
        except NotFoundError:
            return Skipped(
                f"skipped the bookmarks of {user.username}: Egnyte no longer knows this user (404: deleted since the "
                "users were listed?)"
            )
        except UnexpectedResponseError as error:
            return Skipped(f"skipped the bookmarks of {user.username}: Egnyte refused to act as them ({error})")
        return list({record_key(bookmark): bookmark for bookmark in found}.values())  # pages overlap by one

    async def list_all() -> AsyncIterator[tuple[int, list[dict[str, Any]] | Skipped]]:
        nonlocal started, done, previous
        async for pair in ordered_map(work, bookmarks_of, ctx.fan_out):
            yield pair
        # Every user whose bookmarks can have changed is listed: the pass is complete, and the next one lists the
        # users active since this one began.
        started, done, previous = None, DoneSoFar[int](), started
        await ctx.tiers.reach(NAME, BOOKMARK_REFRESH)
        async for pair in ordered_map(refresh, bookmarks_of, ctx.fan_out):
            yield pair

    # Progress counts the users of the scan: those that need no listing are passed from the start.
    passed = everyone - sum(reasons.values())
    try:
        async for position, found in list_all():
            passed += 1
            user = roster.user(position)
            # Judged in the pass's order, not in the order the listings finish, so the verdict is the same
            # however the concurrent calls complete.
            owner = user.owner
            rows: list[tuple[str, Row]] = []
            if isinstance(found, Skipped):
                if found.denied and listed == 0:
                    denied.append(user.username or user.shown_id)
                    if len(denied) >= FAILURES_BEFORE_GIVING_UP:
                        raise PermissionDeniedError(
                            f"bookmarks: Egnyte denied access to the bookmarks of {', '.join(denied)}, the first "
                            f"users asked, and allowed it for none ({found.reason}). Listing other users' bookmarks "
                            "needs an administrator's token (it acts as each user); use one, or set enable_bookmarks "
                            "to false."
                        )
                    ctx.log.warning(f"bookmarks: {found.reason}")
                    continue  # not done: listed again once the token is known to be allowed
                ctx.log.warning(f"bookmarks: {found.reason}")
                # The user exists but was not listed: the bookmarks synced earlier stay as they are.
                marks: tuple[Mark, ...] = (Kept(owner),) if owner is not None else ()
            else:
                listed += 1
                if owner is not None and owner not in listed_lately:
                    listed_lately.add(owner)
                    recent = recent.with_listed(owner)
                rows = map_records(BOOKMARKS, found, map_bookmark, ctx.log, user.username)
                listed_ids = frozenset(row["id"] for _, row in rows)
                marks = (Refreshed(owner, listed_ids),) if owner is not None else ()
            if owner is not None:
                if started is not None:
                    done = done.with_done(owner)
                if freshness.refresh_due(user) and owner not in read_for_refresh:
                    read_for_refresh.add(owner)
                    refreshed = refreshed.with_done(owner)
            yield Batch(rows, checkpoint(), everyone, marks, passed)
        # Both passes are complete.
        refresh_tick, refreshed, refresh_previous = None, DoneSoFar[int](), refresh_tick
        yield Batch([], checkpoint())
    finally:
        asked = sum(reasons.values())
        if freshness.since is not None and (asked or kept):
            why = ", ".join(f"{count} {REASONS[reason]}" for reason, count in reasons.items() if count)
            ctx.log.info(
                f"bookmarks: asked for the bookmarks of {asked} user(s) ({why or 'none'}); {kept} user(s) not "
                f"active since {state.previous_pass_started} and not due for the periodic refresh were not asked "
                "(their bookmarks stay as synced)"
            )
        if deactivated:
            names = deactivated
            named = ", ".join(names[:NAMED_IN_SUMMARY])
            more = f" and {len(names) - NAMED_IN_SUMMARY} more" if len(names) > NAMED_IN_SUMMARY else ""
            ctx.log.info(
                f"bookmarks: not listed for {len(names)} deactivated user(s) (Egnyte cannot act as them; "
                f"their bookmarks synced earlier are kept): {named}{more}"
            )


def _active_since(user: RosterUser, moment: datetime | None) -> bool:
    """Whether the user was active since `moment`, less ACTIVITY_MARGIN (never when either is unknown)."""
    return moment is not None and user.last_active is not None and user.last_active >= moment - ACTIVITY_MARGIN


#: Each user is a scope whose children are their bookmarks' ids; a user absent from a users scan read whole is
#: gone, and so are their bookmarks (`Present`).
LEDGER = LedgerSpec(parent=None, child=BOOKMARKS, child_key=lambda owner, bookmark: {"id": bookmark})

STREAM = Stream(NAME, (BOOKMARKS,), read_state, produce, ledger=LEDGER, unit="users' bookmarks checked", fans_out=True)
