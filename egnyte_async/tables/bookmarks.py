"""bookmarks: Egnyte lists only the bookmarks of the token's user, so each user is listed in turn, acting as them.

The users come from their own SCIM scan (one call per 100 users, a small price next to a call per user), and the
users of a page are listed concurrently. The position advances user by user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from egnyte_async.errors import NotFoundError, PermissionDeniedError, UnexpectedResponseError
from egnyte_async.items import Rows
from egnyte_async.mapping import map_bookmark
from egnyte_async.pagination import (
    Listing,
    PageCap,
    Position,
    Scanner,
    parse_bookmarks_page,
    record_key,
    unprocessed,
)
from egnyte_async.tables.context import StreamContext, map_records
from egnyte_async.tables.ordered import ordered_map
from egnyte_async.tables.users import users_listing

STREAM = "bookmarks"
#: Users whose bookmarks could not be listed, in a row from the start, before the token is judged to lack the right.
FAILURES_BEFORE_GIVING_UP = 3


def _username(user: dict) -> str | None:
    name = user.get("userName") or user.get("username")
    return name if isinstance(name, str) and name else None


async def produce(ctx: StreamContext, state: dict[str, Any]) -> AsyncIterator[Rows]:
    users = Scanner(ctx.client, users_listing(ctx.page_size), ctx.window, ctx.log)
    last_done = state.get("after_user_id")
    listed = 0
    failed: list[str] = []
    cap = PageCap.from_state(state.get("page_cap"))  # learnt once, shared by every user's listing, kept
    offset_base = 1 if state.get("offset_base") == 1 else 0

    def use_one_based_offsets() -> None:
        nonlocal offset_base
        if offset_base == 0:
            offset_base = 1
            ctx.log.info("bookmarks: Egnyte refused offset 0; its bookmark offsets count from 1 here")

    async def bookmarks_of(user: dict) -> list[dict] | None:
        nonlocal listed
        username = _username(user)
        if username is None:
            ctx.log.warning(f"bookmarks: user {user.get('id')} has no userName; their bookmarks cannot be listed")
            return None
        found: list[dict] = []
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

    async for page in users.pages(Position.from_state(state.get("scan"), 1)):
        items = unprocessed(page.items, page.start.tail, last_done)
        last_done = None
        async for user, found in ordered_map(items, bookmarks_of, ctx.fan_out):
            rows = map_records("bookmarks", found or [], map_bookmark, ctx.log, _username(user))
            position = {
                "scan": page.start.to_state(),
                "after_user_id": user.get("id"),
                "offset_base": offset_base,
                "page_cap": cap.to_state(),
            }
            yield Rows(STREAM, rows, position)
        learnt = {"offset_base": offset_base, "page_cap": cap.to_state()}
        yield Rows(STREAM, [], {**learnt, **({} if page.last else {"scan": page.after.to_state()})})
