"""bookmarks: Egnyte lists only the bookmarks of the token's user, so each user is listed in turn, acting as them.

The users come from their own SCIM scan (one call per 100 users, a small price next to a call per user), and the
users of a page are listed concurrently. The position advances user by user.

Users the listing says are deactivated are not asked (Egnyte cannot act as them); a user Egnyte refuses
(deactivated or deleted since the listing: 400, 404) is skipped with a warning. Only bare 403s for the first users
asked, before any listing succeeded, mean the token lacks the right to act as users. A userName that is not ASCII
cannot be sent in a header: such a user is acted as by e-mail address, or skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from egnyte_async.errors import NotFoundError, PermissionDeniedError, UnexpectedResponseError
from egnyte_async.items import Batch, Completed, Kept, Mark, Refreshed
from egnyte_async.ledger import LedgerSpec
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


@dataclass(frozen=True)
class BookmarksState:
    """The users scan under way (None: the next sync starts a new one), the last user listed inside its page, and
    what was learnt about the endpoint: whether offsets count from 1, and its page cap."""

    scan: Position | None = None
    after_user_id: Any = None
    offset_base: int = 0
    page_cap: dict[str, Any] = field(default_factory=lambda: PageCap().to_state())

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {}
        if self.scan is not None:
            saved["scan"] = self.scan.to_state()
            if self.after_user_id is not None:
                saved["after_user_id"] = self.after_user_id
        saved["offset_base"] = self.offset_base
        saved["page_cap"] = self.page_cap
        return saved

    def describe(self) -> str:
        if self.scan is None:
            return "starts a new scan of the users"
        inside = f", after user {self.after_user_id}" if self.after_user_id is not None else ""
        return f"resumes at user record {self.scan.index}{inside}"


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
    return BookmarksState(scan, after if scan is not None else None, offset_base, learnt)


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

    def use_one_based_offsets() -> None:
        nonlocal offset_base
        if offset_base == 0:
            offset_base = 1
            ctx.log.info("bookmarks: Egnyte refused offset 0; its bookmark offsets count from 1 here")

    async def bookmarks_of(user: dict[str, Any]) -> list[dict[str, Any]] | Skipped:
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
                if isinstance(found, Skipped):
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
                    rows: list[tuple[str, Row]] = []
                    # The user exists but was not listed: the bookmarks synced earlier stay as they are.
                    marks: tuple[Mark, ...] = (Kept(owner),) if owner is not None else ()
                else:
                    listed += 1
                    rows = map_records(BOOKMARKS, found, map_bookmark, ctx.log, _username(user))
                    listed_ids = frozenset(row["id"] for _, row in rows)
                    marks = (Refreshed(owner, listed_ids),) if owner is not None else ()
                state_after = BookmarksState(page.start, user.get("id"), offset_base, cap.to_state())
                yield Batch(rows, state_after, page.total, marks, page.passed_at(user))
            done = (Completed(),) if page.last else ()
            after = BookmarksState(None if page.last else page.after, None, offset_base, cap.to_state())
            yield Batch([], after, page.total, done, page.passed)
    finally:
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
