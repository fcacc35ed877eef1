"""notes: the one stream Egnyte can filter by time (creation time), so it syncs incrementally.

A scan reads a fixed window [start, end]: `end` is the moment the scan began, so notes created while it runs
cannot shift its pages, and `start` is the previous scan's end less an hour of overlap (or `initial_sync_days`
back on the first sync). The window and the page position are saved together, so a resumed scan reads the same
window. Only when a scan completes does the cursor move to its end. Whether Egnyte wants ISO-8601 or plain dates
in `start_time`/`end_time` is not documented: ISO is tried first and a 400 switches to whole days (widened so no
note can fall outside), remembered in the state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from egnyte_async.dates import format_for_notes_filter, parse_egnyte_datetime
from egnyte_async.errors import UnexpectedResponseError
from egnyte_async.items import Batch
from egnyte_async.log import Log
from egnyte_async.mapping import map_note
from egnyte_async.pagination import Listing, Page, Position, ScannedPage, Scanner, optional_int, require_list
from egnyte_async.schema import Table
from egnyte_async.state import readable_part, report_unreadable
from egnyte_async.streams.base import Stream
from egnyte_async.streams.context import StreamContext, map_records
from egnyte_async.streams.scan_state import read_position

NAME = "notes"
NOTES = Table(
    "notes",
    ("id",),
    {
        "id": "STRING",
        "path": "STRING",
        "note_text": "STRING",
        "author": "STRING",
        "author_name": "STRING",
        "created_date": "UTC_DATETIME",
        "file_group_id": "STRING",
        "file_id": "STRING",
        "can_delete": "BOOLEAN",
        "extra": "JSON",
    },
)
#: How far each scan reaches back before the previous scan's end: clock skew and bound inclusivity both fit in it.
CURSOR_OVERLAP = timedelta(hours=1)
TIME_FORMATS = ("iso", "date")
FIRST_OFFSET = 0


@dataclass(frozen=True)
class Window:
    """The creation times one scan reads, fixed when the scan starts."""

    start: datetime
    end: datetime

    def to_state(self) -> dict[str, str]:
        return {"window_start": _iso(self.start), "window_end": _iso(self.end)}


@dataclass(frozen=True)
class NotesState:
    """`cursor`: the end of the last complete scan (as saved); `window` and `position`: the scan under way, if any;
    `time_format`: how Egnyte wants the time bounds written, once learnt."""

    time_format: str = "iso"
    cursor: str | None = None
    window: Window | None = None
    position: Position | None = None

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {"time_format": self.time_format}
        if self.cursor:
            saved["cursor"] = self.cursor
        if self.window is not None and self.position is not None:
            saved["scan"] = {**self.window.to_state(), "position": self.position.to_state()}
        return saved

    def describe(self) -> str:
        if self.window is not None and self.position is not None:
            return f"resumes at record {self.position.index} of the notes created up to {_iso(self.window.end)}"
        if self.cursor:
            return f"reads the notes created since {self.cursor} (less an hour of overlap)"
        return "starts with the notes of the last initial_sync_days"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_time(value: Any) -> datetime | None:
    try:
        return parse_egnyte_datetime(value)
    except ValueError:
        return None


#: Saved instants outside these are garbage (Egnyte's notes are younger; the bounds leave room for the overlap and
#: the whole days that `time_params` adds, which would overflow next to year 1 or 9999).
EARLIEST_SAVED = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_SAVED = datetime(9000, 1, 1, tzinfo=timezone.utc)


def _read_saved_time(value: Any) -> datetime | None:
    """A saved instant (the cursor, a window bound): text this connector wrote, within sane years."""
    moment = _read_time(value) if type(value) is str else None
    return moment if moment is not None and EARLIEST_SAVED <= moment <= LATEST_SAVED else None


def read_state(raw: Mapping[str, Any], log: Log) -> NotesState:
    """Each part is checked; an unreadable one is reported and read as on a first sync (the cursor, the time format)
    or as no scan under way (the window, the position)."""
    time_format = raw.get("time_format", "iso")
    if time_format not in TIME_FORMATS:
        report_unreadable(log, NAME, "'time_format'", time_format, "ISO-8601 time bounds are tried first again")
        time_format = "iso"
    cursor = raw.get("cursor")
    if cursor is not None and _read_saved_time(cursor) is None:
        report_unreadable(
            log, NAME, "'cursor'", cursor, "reading the notes of the last initial_sync_days again", "not an instant"
        )
        cursor = None
    scan = readable_part(raw, "scan", NAME, log)
    if not scan:
        return NotesState(time_format, cursor)
    window = _read_window(scan)
    if window is None:
        report_unreadable(
            log, NAME, "'scan' window", {key: scan.get(key) for key in ("window_start", "window_end")},
            "a new window starts", "window_start and window_end must be two instants, the start first",
        )  # fmt: skip
        return NotesState(time_format, cursor)
    position = read_position(scan.get("position"), NAME, "'scan' position", FIRST_OFFSET, log)
    if position is None:
        return NotesState(time_format, cursor)
    return NotesState(time_format, cursor, window, position)


def _read_window(scan: Mapping[str, Any]) -> Window | None:
    start_time, end_time = _read_saved_time(scan.get("window_start")), _read_saved_time(scan.get("window_end"))
    if start_time is None or end_time is None or start_time > end_time:
        return None
    return Window(start_time, end_time)


def parse_notes_page(body: Any) -> Page:
    items = require_list(body, "notes", "notes listing")
    return Page(items, optional_int(body, "total_results"), optional_int(body, "offset"))


def time_params(window: Window, time_format: str) -> dict[str, str]:
    if time_format == "date":
        # Whole days, one more on each side, whatever the bounds' inclusivity: a few notes twice, none missed.
        return {
            "start_time": format_for_notes_filter(window.start - timedelta(days=1), "date"),
            "end_time": format_for_notes_filter(window.end + timedelta(days=1), "date"),
        }
    return {
        "start_time": format_for_notes_filter(window.start, "iso"),
        "end_time": format_for_notes_filter(window.end, "iso"),
    }


def new_window(state: NotesState, now: datetime, initial_sync_days: int, log: Log) -> Window:
    """The window of a new scan: from the last scan's end less the overlap (or initial_sync_days back) to now."""
    cursor = _read_time(state.cursor)
    if cursor is None:
        if state.cursor:
            log.warning(f"notes: the saved cursor {state.cursor!r} is unreadable; starting a new window")
        return Window(now - timedelta(days=initial_sync_days), now)
    if cursor > now:
        log.warning(
            f"notes: the saved cursor {state.cursor} is in the future (this sync began at {_iso(now)}): a clock or "
            f"state problem; reading the notes created since {_iso(now - CURSOR_OVERLAP)} (an hour before now) instead"
        )
        cursor = now
    return Window(cursor - CURSOR_OVERLAP, now)


async def produce(ctx: StreamContext, state: NotesState) -> AsyncIterator[Batch]:
    window, position = state.window, state.position
    if window is None or position is None:
        window, position = new_window(state, ctx.now, ctx.settings.initial_sync_days, ctx.log), Position(FIRST_OFFSET)
        state = replace(state, window=window, position=position)
    while True:
        listing = Listing(
            NAME,
            "/pubapi/v1/notes",
            "offset",
            FIRST_OFFSET,
            ctx.page_size,
            parse_notes_page,
            time_params(window, state.time_format),
        )
        pages = Scanner(ctx.client, listing, ctx.window, ctx.log).pages(position)
        try:
            first = await anext(pages)
        except UnexpectedResponseError as error:
            if state.time_format == "iso" and error.status == 400:
                ctx.log.info("notes: Egnyte refused ISO-8601 time bounds; using whole days (YYYY-MM-DD) instead")
                state = replace(state, time_format="date")
                continue
            raise
        break

    async def all_pages() -> AsyncIterator[ScannedPage]:
        yield first
        async for page in pages:
            yield page

    async for page in all_pages():
        rows = map_records(NOTES, page.new_items, map_note, ctx.log)
        done = NotesState(state.time_format, _iso(window.end))  # the cursor moves only when the scan completes
        after = done if page.last else replace(state, position=page.after)
        yield Batch(rows, after, page.total, reached=page.passed)


STREAM = Stream(NAME, (NOTES,), read_state, produce, unit="notes in the window")
