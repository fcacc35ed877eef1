"""bookmarks: Egnyte lists only the bookmarks of the token's user, so each user is listed in turn, acting as them.

The users come from their own SCIM scan (one call per 100 users, a small price next to a call per user), and the
users of a page are listed concurrently. The position advances user by user.

A user's bookmarks are listed only when they can have changed since they were last listed (see `Freshness`): a
user the ledger has never met; one without a readable `lastActiveDate`; one whose `lastActiveDate` is at or after
the start of the last complete scan (less ACTIVITY_MARGIN), since only an active user changes their bookmarks;
and, as a safety net for what `lastActiveDate` may not tell (a folder deleted under a bookmark, activity recorded
late), every user once in `bookmarks_refresh_days`, a share of the users each day. Any other user is kept as they
are, without a call: `Kept` tells the ledger that they still exist, so their bookmarks stay live.

Why that is enough: once a scan that began at S has completed, the bookmarks written for every user reflect every
change made before S (a user it listed was listed after S; a user it kept was not active since the previous
complete scan began, and that scan's listings reflect what came before). So the next scan need only list the users
active since S. The state holds two instants for it, nothing per user: when the scan under way began, and when the
last complete one did.

Users the listing says are deactivated are not asked (Egnyte cannot act as them); a user Egnyte refuses
(deactivated or deleted since the listing: 400, 404) is skipped with a warning. Only bare 403s for the first users
asked, before any listing succeeded, mean the token lacks the right to act as users. A userName that is not ASCII
cannot be sent in a header: such a user is acted as by e-mail address, or skipped.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from egnyte_async.dates import parse_egnyte_datetime, to_utc_iso
from egnyte_async.errors import NotFoundError, PermissionDeniedError, UnexpectedResponseError
from egnyte_async.items import Batch, Completed, Kept, Mark, Refreshed
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
    unprocessed,
)
from egnyte_async.schema import Table
from egnyte_async.state import read_id, report_unreadable
from egnyte_async.streams.base import Stream
from egnyte_async.streams.context import StreamContext, map_records
from egnyte_async.streams.scan_state import read_scan
from egnyte_async.streams.scim import FIRST_INDEX
from egnyte_async.streams.users import users_listing

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
DAY = timedelta(days=1)
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class BookmarksState:
    """The users scan under way (None: the next sync starts a new one), the last user listed inside its page, and
    what was learnt about the endpoint: whether offsets count from 1, and its page cap. Then when the scan under way
    began (`scan_started`) and when the last complete scan began (`previous_scan_started`), as UTC text: users not
    active since the latter are not listed again (None: every user is listed)."""

    scan: Position | None = None
    after_user_id: Any = None
    offset_base: int = 0
    page_cap: dict[str, Any] = field(default_factory=lambda: PageCap().to_state())
    scan_started: str | None = None
    previous_scan_started: str | None = None

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {}
        if self.scan is not None:
            saved["scan"] = self.scan.to_state()
            if self.after_user_id is not None:
                saved["after_user_id"] = self.after_user_id
            if self.scan_started is not None:
                saved["scan_started"] = self.scan_started
        saved["offset_base"] = self.offset_base
        saved["page_cap"] = self.page_cap
        if self.previous_scan_started is not None:
            saved["previous_scan_started"] = self.previous_scan_started
        return saved

    def describe(self) -> str:
        if self.previous_scan_started is None:
            which = "every user's bookmarks"
        else:
            which = f"the bookmarks of new users and of users active since {self.previous_scan_started}"
        if self.scan is None:
            return f"starts a new scan of the users ({which})"
        inside = f", after user {self.after_user_id}" if self.after_user_id is not None else ""
        return f"resumes at user record {self.scan.index}{inside} ({which})"


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
    scan = read_scan(raw, NAME, FIRST_INDEX, log)
    after = read_id(raw, "after_user_id", NAME, log, "the users of that page are listed again")
    offset_base = raw.get("offset_base", 0)
    if type(offset_base) is not int or offset_base not in (0, 1):
        report_unreadable(log, NAME, "'offset_base'", offset_base, "offsets are learnt again", "not 0 or 1")
        offset_base = 0
    page_cap = raw.get("page_cap", {})
    if not isinstance(page_cap, dict):
        report_unreadable(log, NAME, "'page_cap'", page_cap, "the page cap is learnt again")
        page_cap = {}
    learnt = PageCap.from_state(page_cap).to_state()
    # A scan saved without its start (the previous release, or unreadable) completes without one: the next scan then
    # lists every user, since nothing tells when this one's earliest listings were made.
    started = _read_instant(raw, "scan_started", log, "the next scan lists every user's bookmarks")
    previous = _read_instant(raw, "previous_scan_started", log, "every user's bookmarks are listed again")
    if scan is None:
        after = started = None
    return BookmarksState(scan, after, offset_base, learnt, started, previous)


def parse_bookmarks_page(body: Any) -> Page:
    items = require_list(body, "bookmarks", "bookmarks listing")
    total = optional_int(body, "total_results")
    total = total if total is not None else optional_int(body, "totalResults")
    return Page(items, total, optional_int(body, "offset"))


def _username(user: dict[str, Any]) -> str | None:
    name = user.get("userName") or user.get("username")
    return name if isinstance(name, str) and name else None


def _deactivated(user: dict[str, Any]) -> bool:
    """Whether the users listing says the user is deactivated (`active` false, as a boolean, text or number)."""
    active = user.get("active")
    if isinstance(active, str):
        return active.strip().lower() == "false"
    return active is False or (type(active) is int and active == 0)


def _act_as(user: dict[str, Any], username: str) -> str | None:
    """Whom to act as: the username, or when it is not ASCII (a header value must be) the user's e-mail address,
    which the client sends as `X-Egnyte-Act-As-Email` (python-egnyte's form); None when neither can be sent."""
    if username.isascii() and username.isprintable():
        return username
    email = user.get("email")
    if isinstance(email, str) and email.isascii() and email.isprintable() and "@" in email:
        return email
    return None


def _last_active(user: dict[str, Any]) -> datetime | None:
    """When the user was last active by the users listing, or None when it does not say (absent, null, unreadable).
    A plain date may mean any moment of its day: it counts as the day's end."""
    value = user.get("lastActiveDate")
    try:
        moment = parse_egnyte_datetime(value)
    except ValueError:
        return None
    if moment is not None and type(value) is str and _PLAIN_DATE.fullmatch(value.strip()):
        moment += DAY
    return moment


def _day(moment: datetime) -> int:
    """Days since the epoch, in UTC."""
    return int(moment.timestamp() // 86_400)


def refresh_phase(owner: int, days: int) -> int:
    """Which day of every `days` the user's periodic listing falls on: a stable hash of the id (not Python's
    salted hash()), so that the same users are due on the same day in every process, one in `days` a day."""
    return zlib.crc32(str(owner).encode("ascii")) % days


def refresh_due(owner: int, days: int, after_day: int | None, on_day: int) -> bool:
    """Whether a day in (after_day, on_day] is the user's refresh day, i.e. `(day + phase) % days == 0` (None: the
    day `on_day` alone). A range of `days` days or more holds everyone's day."""
    first = on_day if after_day is None else after_day + 1
    if on_day - first + 1 >= days:
        return first <= on_day
    target = -refresh_phase(owner, days) % days
    due = first + (target - first) % days
    return due <= on_day


#: Why a user's bookmarks are listed, for the summary line.
REASONS = {
    "first": "no complete scan before",
    "new": "new",
    "undated": "without lastActiveDate",
    "active": "active since the last scan began",
    "refresh": "due for the periodic refresh",
    "unkeyed": "without a usable id",
}


@dataclass(frozen=True)
class Freshness:
    """Decides whose bookmarks can have changed (see the module's docstring): `since` is the start of the last
    complete scan less ACTIVITY_MARGIN (None: everyone is listed), `known` whether the ledger has met a user."""

    since: datetime | None
    since_day: int | None
    today: int
    refresh_days: int
    known: Callable[[int], bool]

    @classmethod
    def of(cls, ctx: StreamContext, state: BookmarksState) -> Freshness:
        """The refresh days counted are those since the last complete scan began, and at most those between two
        syncs (`sync_frequency_hours`, a day at least): with daily syncs, the one day of the sync, so one user in
        `bookmarks_refresh_days` is listed a day and everyone within that many days; with several syncs a day, only
        the first scan of the day lists the day's share; a scan that spans days (a large tenant under a tight quota)
        lists the share of the day each user is reached, not everyone because its start lies far back."""
        previous = _saved_instant(state.previous_scan_started)
        if previous is not None:
            previous = min(previous, ctx.now)  # a clock set back since: activity is looked for from now at the latest
        ledger: Ledger | None = ctx.ledgers.get(NAME)
        today = _day(ctx.now)
        between_syncs = max(1, math.ceil(ctx.settings.sync_frequency_hours / 24))
        return cls(
            previous - ACTIVITY_MARGIN if previous is not None else None,
            max(_day(previous), today - between_syncs) if previous is not None else None,
            today,
            ctx.settings.bookmarks_refresh_days,
            ledger.knows if ledger is not None else (lambda owner: False),
        )

    def why_listed(self, user: dict[str, Any], owner: int | None) -> str | None:
        """Why this user's bookmarks must be listed (a key of REASONS), or None when they cannot have changed."""
        if owner is None:
            return "unkeyed"  # no scope of the ledger to keep them by
        if self.since is None:
            return "first"
        if not self.known(owner):
            return "new"
        last_active = _last_active(user)
        if last_active is None:
            return "undated"
        if last_active >= self.since:
            return "active"
        if refresh_due(owner, self.refresh_days, self.since_day, self.today):
            return "refresh"
        return None


@dataclass(frozen=True)
class Unchanged:
    """A user whose bookmarks cannot have changed since they were last listed: not asked, kept."""


@dataclass(frozen=True)
class Skipped:
    """A user whose bookmarks are not listed this sync, and why."""

    reason: str
    #: Egnyte refused with a bare 403: evidence that the token may not act as users, unlike a 400 "not active"
    #: or a 404 (a user deactivated or deleted since the users listing), which only concern that user.
    denied: bool = False
    #: Deactivated in the users listing: not asked at all (nobody can act as them).
    deactivated: bool = False


#: Deactivated users named in the summary line; the rest are counted.
NAMED_IN_SUMMARY = 20


async def produce(ctx: StreamContext, state: BookmarksState) -> AsyncIterator[Batch]:
    users = Scanner(ctx.client, users_listing(ctx.page_size), ctx.window, ctx.log)
    last_done = state.after_user_id
    listed = 0
    denied: list[str] = []
    deactivated: dict[str, None] = {}
    cap = PageCap.from_state(state.page_cap)  # learnt once, shared by every user's listing, kept
    offset_base = state.offset_base
    # A new scan begins now; a resumed one keeps its start (None when it was saved without one).
    started = state.scan_started if state.scan is not None else to_utc_iso(ctx.now)
    previous = state.previous_scan_started
    freshness = Freshness.of(ctx, state)
    reasons: dict[str, int] = dict.fromkeys(REASONS, 0)
    kept = 0
    undated_reported = False
    met_any = state.scan is not None  # a resumed scan met users in an earlier sync

    def checkpoint(position: Position | None, after_user: Any) -> BookmarksState:
        return BookmarksState(position, after_user, offset_base, cap.to_state(), started, previous)

    def use_one_based_offsets() -> None:
        nonlocal offset_base
        if offset_base == 0:
            offset_base = 1
            ctx.log.info("bookmarks: Egnyte refused offset 0; its bookmark offsets count from 1 here")

    def report_undated(user: dict[str, Any], why: str) -> None:
        nonlocal undated_reported
        if why == "undated" and "lastActiveDate" not in user and not undated_reported:
            undated_reported = True
            ctx.log.info(
                "bookmarks: the users listing gives no lastActiveDate, so nothing tells whose bookmarks can have "
                "changed: every user's bookmarks are listed"
            )

    async def bookmarks_of(user: dict[str, Any]) -> list[dict[str, Any]] | Skipped | Unchanged:
        username = _username(user)
        if username is None:
            return Skipped(f"user {user.get('id')} has no userName; their bookmarks cannot be listed")
        if _deactivated(user):
            return Skipped("deactivated", deactivated=True)
        act_as = _act_as(user, username)
        if act_as is None:
            return Skipped(
                f"skipped the bookmarks of {username!r}: Egnyte can only act as a user named in ASCII (an HTTP "
                "header), and neither their userName nor their e-mail address is"
            )
        why = freshness.why_listed(user, _owner_scope(user))
        if why is None:
            return Unchanged()
        reasons[why] += 1
        report_undated(user, why)
        found: list[dict[str, Any]] = []
        try:
            while True:
                base = offset_base
                listing = Listing(
                    f"bookmarks of {username}",
                    "/pubapi/v1/bookmarks",
                    "offset",
                    base,
                    ctx.page_size,
                    parse_bookmarks_page,
                    act_as=act_as,
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
            return Skipped(f"skipped the bookmarks of {username}: {error}", denied=True)
        except NotFoundError:
            return Skipped(
                f"skipped the bookmarks of {username}: Egnyte no longer knows this user (404: deleted since the "
                "users were listed?)"
            )
        except UnexpectedResponseError as error:
            return Skipped(f"skipped the bookmarks of {username}: Egnyte refused to act as them ({error})")
        return list({record_key(bookmark): bookmark for bookmark in found}.values())  # pages overlap by one

    try:
        async for page in users.pages(state.scan or Position(FIRST_INDEX)):
            items = unprocessed(page.items, page.start.tail, last_done)
            last_done = None
            async for user, found in ordered_map(items, bookmarks_of, ctx.fan_out):
                # Judged in the users' order, not in the order the listings finish, so the verdict is the same
                # however the concurrent calls complete.
                owner = _owner_scope(user)
                met_any = True
                if isinstance(found, Unchanged):
                    kept += 1
                    rows: list[tuple[str, Row]] = []
                    # Not active since the last complete scan began: the bookmarks synced stay as they are.
                    marks: tuple[Mark, ...] = (Kept(owner),) if owner is not None else ()
                elif isinstance(found, Skipped):
                    if found.deactivated:
                        deactivated.setdefault(_username(user) or str(user.get("id")))  # once, however often listed
                    elif found.denied and listed == 0:
                        denied.append(_username(user) or str(user.get("id")))
                        if len(denied) >= FAILURES_BEFORE_GIVING_UP:
                            raise PermissionDeniedError(
                                f"bookmarks: Egnyte denied access to the bookmarks of {', '.join(denied)}, the first "
                                f"users asked, and allowed it for none ({found.reason}). Listing other "
                                "users' bookmarks needs an administrator's token (it acts as each user); use one, "
                                "or set enable_bookmarks to false."
                            )
                        ctx.log.warning(f"bookmarks: {found.reason}")
                        continue  # the position stays before this user until the token is known to be allowed
                    else:
                        ctx.log.warning(f"bookmarks: {found.reason}")
                    rows = []
                    # The user exists but was not listed: the bookmarks synced earlier stay as they are.
                    marks = (Kept(owner),) if owner is not None else ()
                else:
                    listed += 1
                    rows = map_records(BOOKMARKS, found, map_bookmark, ctx.log, _username(user))
                    listed_ids = frozenset(row["id"] for _, row in rows)
                    marks = (Refreshed(owner, listed_ids),) if owner is not None else ()
                yield Batch(rows, checkpoint(page.start, user.get("id")), page.total, marks, page.passed_at(user))
            if not page.last:
                yield Batch([], checkpoint(page.after, None), page.total, (), page.passed)
                continue
            # The scan is complete: the next one lists the users active since this one began. A scan that met no
            # user at all is no evidence (the ledger does not believe it either): the next one looks as far back.
            after = BookmarksState(None, None, offset_base, cap.to_state(), None, started if met_any else previous)
            yield Batch([], after, page.total, (Completed(),), page.passed)
    finally:
        listed_for = sum(reasons.values())
        if freshness.since is not None and (listed_for or kept):
            why = ", ".join(f"{count} {REASONS[reason]}" for reason, count in reasons.items() if count)
            ctx.log.info(
                f"bookmarks: asked for the bookmarks of {listed_for} user(s) ({why or 'none'}); {kept} user(s) not "
                f"active since {previous} and not due for the periodic refresh were not asked (their bookmarks "
                "stay as synced)"
            )
        if deactivated:
            named = ", ".join(list(deactivated)[:NAMED_IN_SUMMARY])
            more = f" and {len(deactivated) - NAMED_IN_SUMMARY} more" if len(deactivated) > NAMED_IN_SUMMARY else ""
            ctx.log.info(
                f"bookmarks: not listed for {len(deactivated)} deactivated user(s) (Egnyte cannot act as them; "
                f"their bookmarks synced earlier are kept): {named}{more}"
            )


def _owner_scope(user: dict[str, Any]) -> int | None:
    """The user a listing's bookmarks belong to, keyed as the users table keys them (a whole number), so that the
    ledger follows the user across renames; None for an id the users table cannot hold either (such a user's
    bookmarks are synced but never found gone)."""
    value = user.get("id")
    if type(value) is str and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    return value if type(value) is int and 0 <= value < 2**63 else None


#: Each user is a scope whose children are their bookmarks' ids; a user met by no complete scan of the users is
#: gone, and so are their bookmarks.
LEDGER = LedgerSpec(parent=None, child=BOOKMARKS, child_key=lambda owner, bookmark: {"id": bookmark})

STREAM = Stream(NAME, (BOOKMARKS,), read_state, produce, ledger=LEDGER, unit="users' bookmarks listed")
