"""bookmarks: Egnyte lists only the bookmarks of the token's user, so each user is listed in turn, acting as them.

The users come from their own SCIM scan (one call per 100 users, a small price next to a call per user), and the
users of a page are listed concurrently. The position advances user by user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from egnyte_async.errors import NotFoundError, PermissionDeniedError, UnexpectedResponseError
from egnyte_async.items import Batch
from egnyte_async.log import Log
from egnyte_async.mapping import map_bookmark
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
#: Users whose bookmarks could not be listed, in a row from the start, before the token is judged to lack the right.
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
    return BookmarksState(
        scan,
        raw.get("after_user_id") if scan is not None else None,
        1 if raw.get("offset_base") == 1 else 0,
        PageCap.from_state(raw.get("page_cap")).to_state(),
    )


def parse_bookmarks_page(body: Any) -> Page:
    items = require_list(body, "bookmarks", "bookmarks listing")
    total = optional_int(body, "total_results")
    total = total if total is not None else optional_int(body, "totalResults")
    return Page(items, total, optional_int(body, "offset"))


def _username(user: dict[str, Any]) -> str | None:
    name = user.get("userName") or user.get("username")
    return name if isinstance(name, str) and name else None


async def produce(ctx: StreamContext, state: BookmarksState) -> AsyncIterator[Batch]:
    users = Scanner(ctx.client, users_listing(ctx.page_size), ctx.window, ctx.log)
    last_done = state.after_user_id
    listed = 0
    failed: list[str] = []
    cap = PageCap.from_state(state.page_cap)  # learnt once, shared by every user's listing, kept
    offset_base = state.offset_base

    def use_one_based_offsets() -> None:
        nonlocal offset_base
        if offset_base == 0:
            offset_base = 1
            ctx.log.info("bookmarks: Egnyte refused offset 0; its bookmark offsets count from 1 here")

    async def bookmarks_of(user: dict[str, Any]) -> list[dict[str, Any]] | None:
        nonlocal listed
        username = _username(user)
        if username is None:
            ctx.log.warning(f"bookmarks: user {user.get('id')} has no userName; their bookmarks cannot be listed")
            return None
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
                    act_as=username,
                )
                try:
                    async for page in Scanner(ctx.client, listing, 1, ctx.log, cap).pages(Position(base)):
                        found.extend(page.items)
                except UnexpectedResponseError as error:
                    # Egnyte's own words must blame the offset: the request's name says "offset" too, and a
                    # 400 for a user deleted meanwhile must not switch every later listing to 1-based offsets.
                    if error.status == 400 and base == 0 and not found and "offset" in error.detail.lower():
                        use_one_based_offsets()
                        continue
                    raise
                break
        except (PermissionDeniedError, NotFoundError, UnexpectedResponseError) as error:
            failed.append(username)
            if listed == 0 and len(failed) >= FAILURES_BEFORE_GIVING_UP:
                raise PermissionDeniedError(
                    f"bookmarks: could not list the bookmarks of {', '.join(failed)} ({error}). Listing other users' "
                    "bookmarks needs an administrator's token (it acts as each user); use one, or set "
                    "enable_bookmarks to false."
                ) from error
            ctx.log.warning(f"bookmarks: skipped the bookmarks of {username}: {error}")
            return None
        listed += 1
        return list({record_key(bookmark): bookmark for bookmark in found}.values())  # pages overlap by one

    async for page in users.pages(state.scan or Position(FIRST_INDEX)):
        items = unprocessed(page.items, page.start.tail, last_done)
        last_done = None
        async for user, found in ordered_map(items, bookmarks_of, ctx.fan_out):
            rows = map_records(BOOKMARKS, found or [], map_bookmark, ctx.log, _username(user))
            yield Batch(rows, BookmarksState(page.start, user.get("id"), offset_base, cap.to_state()))
        yield Batch([], BookmarksState(None if page.last else page.after, None, offset_base, cap.to_state()))


STREAM = Stream(NAME, (BOOKMARKS,), read_state, produce)
