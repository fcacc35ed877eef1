"""notes: the one stream Egnyte can filter by time (creation time), so it syncs incrementally.

A scan reads a fixed window [start, end]: `end` is the moment the scan began, so notes created while it runs
cannot shift its pages, and `start` is the previous scan's end less an hour of overlap (or `initial_sync_days`
back on the first sync). The window and the page position are saved together, so a resumed scan reads the same
window. Only when a scan completes does the cursor move to its end. Whether Egnyte wants ISO-8601 or plain dates
in `start_time`/`end_time` is not documented: ISO is tried first and a 400 switches to whole days (widened so no
note can fall outside), remembered in the state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

from egnyte_async.dates import format_for_notes_filter, parse_egnyte_datetime
from egnyte_async.errors import UnexpectedResponseError
from egnyte_async.items import Rows
from egnyte_async.mapping import map_note
from egnyte_async.pagination import Listing, Position, Scanner, parse_notes_page
from egnyte_async.tables.context import StreamContext, map_records

STREAM = "notes"
#: How far each scan reaches back before the previous scan's end: clock skew and bound inclusivity both fit in it.
CURSOR_OVERLAP = timedelta(hours=1)
TIME_FORMATS = ("iso", "date")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_time(value: Any) -> datetime | None:
    try:
        return parse_egnyte_datetime(value)
    except ValueError:
        return None


def time_params(start: datetime, end: datetime, time_format: str) -> dict[str, str]:
    if time_format == "date":
        # Whole days, one more on each side, whatever the bounds' inclusivity: a few notes twice, none missed.
        return {
            "start_time": format_for_notes_filter(start - timedelta(days=1), "date"),
            "end_time": format_for_notes_filter(end + timedelta(days=1), "date"),
        }
    return {"start_time": format_for_notes_filter(start, "iso"), "end_time": format_for_notes_filter(end, "iso")}


def new_window(ctx: StreamContext, state: dict[str, Any]) -> tuple[datetime, datetime]:
    cursor = _read_time(state.get("cursor"))
    if cursor is None:
        if state.get("cursor"):
            ctx.log.warning(f"notes: the saved cursor {state.get('cursor')!r} is unreadable; starting a new window")
        start = ctx.now - timedelta(days=ctx.initial_sync_days)
    else:
        start = min(cursor, ctx.now) - CURSOR_OVERLAP
    return start, ctx.now


async def produce(ctx: StreamContext, state: dict[str, Any]) -> AsyncIterator[Rows]:
    scan = state.get("scan") or {}
    window_start = _read_time(scan.get("window_start"))
    window_end = _read_time(scan.get("window_end"))
    if window_start is None or window_end is None:
        window_start, window_end = new_window(ctx, state)
        scan = {}
    time_format = state.get("time_format") if state.get("time_format") in TIME_FORMATS else "iso"
    position = Position.from_state(scan.get("position"), 0)

    def saved(extra: dict[str, Any]) -> dict[str, Any]:
        out = {"time_format": time_format, **extra}
        if state.get("cursor") and "cursor" not in extra:
            out["cursor"] = state["cursor"]
        return out

    while True:
        listing = Listing(
            STREAM,
            "/pubapi/v1/notes",
            "offset",
            0,
            ctx.page_size,
            parse_notes_page,
            time_params(window_start, window_end, time_format),
        )
        scanner = Scanner(ctx.client, listing, ctx.window, ctx.log)
        pages = scanner.pages(position)
        try:
            first = await anext(pages)
        except UnexpectedResponseError as error:
            if time_format == "iso" and error.status == 400:
                ctx.log.info("notes: Egnyte refused ISO-8601 time bounds; using whole days (YYYY-MM-DD) instead")
                time_format = "date"
                continue
            raise
        break

    window = {"window_start": _iso(window_start), "window_end": _iso(window_end)}

    async def all_pages() -> AsyncIterator[Any]:
        yield first
        async for page in pages:
            yield page

    async for page in all_pages():
        rows = map_records("notes", page.items, map_note, ctx.log)
        if page.last:
            position_state = saved({"cursor": _iso(window_end)})
        else:
            position_state = saved({"scan": {**window, "position": page.after.to_state()}})
        yield Rows(STREAM, rows, position_state, page.total)
