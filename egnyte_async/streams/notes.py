"""notes: synced through Egnyte's events feed, with time-windowed scans by creation time to start it and to fall
back on.

**The feed.** The first complete scan (below) takes the feed's cursor (`GET /pubapi/v1/events/cursor`) *before* it
reads its first page and, once it completes, saves that `latest_event_id` as `events_after`. Every later sync
follows `GET /pubapi/v1/events?id=<events_after>&type=note&count=100` page by page: a `create` fetches the note
(`GET /pubapi/v1/notes/{id}`; a 404 there means it was deleted since: skipped, its `delete` event follows) and
upserts it; a `delete` soft-deletes the row. `events_after` moves page by page, behind the rows and deletions of
the page. A quiet sync costs one call (the feed's 204). Nothing is lost between the scan and the feed: any note
created during the scan has an event after the cursor taken before it, so it is fetched again (a harmless upsert).
Once the feed is read to its end, `cursor` moves to the moment the sync began, so a fallback scan stays short.

**Fallbacks.** An id the feed no longer holds (404: Egnyte keeps about 30 days of events) means a gap: one windowed
scan from `cursor` less the overlap catches the notes created meanwhile (notes deleted during the gap stay live
until a re-sync), with a fresh feed cursor taken before it. A feed the plan does not include (403) means windowed
scans every sync; that is remembered (`feed_refused`) and the feed is asked again once a week (one call), since a
plan can be upgraded.

**Windowed scans.** A scan reads a fixed window [start, end]: `end` is the moment the scan began, so notes
created while it runs cannot shift its pages, and `start` is the previous scan's end less an hour of overlap (or
`initial_sync_days` back on the first sync). The window and the page position are saved together, so a resumed
scan reads the same window. Only when a scan completes does the cursor move to its end. Whether Egnyte wants
ISO-8601 or plain dates in `start_time`/`end_time` is not documented: ISO is tried first and a 400 switches to
whole days (widened so no note can fall outside), remembered in the state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from egnyte_async.dates import format_for_notes_filter, parse_egnyte_datetime
from egnyte_async.errors import InvalidBodyError, NotFoundError, PermissionDeniedError, UnexpectedResponseError
from egnyte_async.items import Batch
from egnyte_async.log import Log
from egnyte_async.mapping import RecordError, Row, cap_long_values, map_note
from egnyte_async.ordered import ordered_map
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
#: Events asked for per call: Egnyte's maximum.
EVENTS_PAGE = 100
#: After the feed answered 403 (not on this plan), how long windowed scans go on before the feed is asked again.
FEED_RETRY = timedelta(days=7)


@dataclass(frozen=True)
class Window:
    """The creation times one scan reads, fixed when the scan starts."""

    start: datetime
    end: datetime

    def to_state(self) -> dict[str, str]:
        return {"window_start": _iso(self.start), "window_end": _iso(self.end)}


@dataclass(frozen=True)
class NotesState:
    """`cursor`: every note created before it is synced (the end of the last complete scan, or the start of the
    last sync that read the feed to its end); `window` and `position`: the scan under way, if any; `time_format`:
    how Egnyte wants the time bounds written, once learnt; `events_after`: the last note event applied (None: the
    next sync scans a window); `scan_events_from`: the feed's cursor taken before the scan under way, which becomes
    `events_after` when it completes; `feed_refused`: when the feed answered 403."""

    time_format: str = "iso"
    cursor: str | None = None
    window: Window | None = None
    position: Position | None = None
    events_after: int | None = None
    scan_events_from: int | None = None
    feed_refused: str | None = None

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {"time_format": self.time_format}
        if self.cursor:
            saved["cursor"] = self.cursor
        if self.events_after is not None:
            saved["events_after"] = self.events_after
        if self.feed_refused:
            saved["feed_refused"] = self.feed_refused
        if self.window is not None and self.position is not None:
            saved["scan"] = {**self.window.to_state(), "position": self.position.to_state()}
            if self.scan_events_from is not None:
                saved["scan"]["events_from"] = self.scan_events_from
        return saved

    def describe(self) -> str:
        if self.window is not None and self.position is not None:
            return f"resumes at record {self.position.index} of the notes created up to {_iso(self.window.end)}"
        if self.events_after is not None:
            return f"follows the events feed after event {self.events_after}"
        if self.cursor:
            return f"reads the notes created since {self.cursor} (less an hour of overlap)"
        return "starts with the notes of the last initial_sync_days"

    def feed_usable(self, now: datetime) -> bool:
        """Whether the feed may be asked: never refused, or refused at least FEED_RETRY ago."""
        refused = _read_saved_time(self.feed_refused)
        return refused is None or now - refused >= FEED_RETRY


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
    events_after = _read_event_id(raw, "events_after", log, "a window is scanned and the feed followed afresh")
    feed_refused = raw.get("feed_refused")
    if feed_refused is not None and _read_saved_time(feed_refused) is None:
        report_unreadable(log, NAME, "'feed_refused'", feed_refused, "the events feed is asked again", "not an instant")
        feed_refused = None
    done = NotesState(time_format, cursor, events_after=events_after, feed_refused=feed_refused)
    scan = readable_part(raw, "scan", NAME, log)
    if not scan:
        return done
    window = _read_window(scan)
    if window is None:
        report_unreadable(
            log, NAME, "'scan' window", {key: scan.get(key) for key in ("window_start", "window_end")},
            "a new window starts", "window_start and window_end must be two instants, the start first",
        )  # fmt: skip
        return done
    position = read_position(scan.get("position"), NAME, "'scan' position", FIRST_OFFSET, log)
    if position is None:
        return done
    events_from = _read_event_id(scan, "events_from", log, "the next sync scans a window again to start the feed")
    return replace(done, window=window, position=position, scan_events_from=events_from)


def _read_event_id(raw: Mapping[str, Any], key: str, log: Log, consequence: str) -> int | None:
    value = raw.get(key)
    if value is None or (type(value) is int and value >= 0):
        return value
    report_unreadable(log, NAME, repr(key), value, consequence, "not an event id")
    return None


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


class FeedGap(Exception):
    """The feed no longer holds the events after the saved id (404)."""


class FeedRefused(Exception):
    """The feed is not available to this token (403: not on this plan, or not allowed)."""


def parse_events_page(body: Any) -> list[Any]:
    return require_list(body, "events", "events page")


def parse_events_cursor(body: Any) -> int:
    latest = optional_int(body, "latest_event_id") if isinstance(body, dict) else None
    if latest is None or latest < 0:
        raise InvalidBodyError("events cursor: expected a JSON object with a latest_event_id")
    return latest


def parse_note(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidBodyError(f"note: expected a JSON object, got {type(body).__name__}")
    return body


def note_id_of(event: Mapping[str, Any]) -> str | None:
    """The note an event is about: `data.note_id` (as documented), or `data.noteId`, `data.note.id`, `data.id`."""
    data = event.get("data")
    if not isinstance(data, dict):
        return None
    nested = data.get("note")
    for value in (
        data.get("note_id"), data.get("noteId"), nested.get("id") if isinstance(nested, dict) else None, data.get("id"),
    ):  # fmt: skip
        if (type(value) is str and value.strip()) or type(value) is int:
            return str(value)
    return None


def event_id(event: Any) -> int | None:
    value = event.get("id") if isinstance(event, dict) else None
    return value if type(value) is int else None


async def read_events_cursor(ctx: StreamContext, what: str) -> int:
    """The feed's latest event id; FeedRefused on a 403."""
    try:
        return await ctx.client.get(
            "/pubapi/v1/events/cursor", parse=parse_events_cursor, what=f"{what}: the events feed's cursor"
        )
    except PermissionDeniedError as error:
        raise FeedRefused(str(error)) from error


async def follow_feed(ctx: StreamContext, state: NotesState) -> AsyncIterator[Batch]:
    """The note events after `state.events_after`, a page at a time; FeedGap or FeedRefused when the feed fails."""
    after = state.events_after
    assert after is not None

    async def fetch(note_id: str) -> Row | None:
        try:
            note = await ctx.client.get(
                f"/pubapi/v1/notes/{quote(note_id, safe='')}", parse=parse_note, what=f"{NAME}: note {note_id}"
            )
        except NotFoundError:
            return None  # deleted since it was created: its delete event follows
        try:
            return cap_long_values(NOTES, map_note(note, warn=ctx.log.warning), ctx.log.warning)
        except RecordError as error:
            ctx.log.warning(f"{NAME}: skipped a note that cannot be stored: {error}")
            return None

    while True:
        params: dict[str, str | int] = {"id": after, "type": "note", "count": EVENTS_PAGE}
        try:
            events = await ctx.client.get(
                "/pubapi/v1/events", params, parse=parse_events_page,
                what=f"{NAME}: note events after event {after}", no_content=list,
            )  # fmt: skip
        except NotFoundError as error:
            raise FeedGap(str(error)) from error
        except PermissionDeniedError as error:
            raise FeedRefused(str(error)) from error
        created: list[str] = []
        deleted: list[str] = []
        unreadable = 0
        for event in events:
            if not isinstance(event, dict) or event.get("type", "note") != "note":
                continue
            note_id = note_id_of(event)
            action = event.get("action")
            if note_id is None or action not in ("create", "delete"):
                unreadable += 1
            elif action == "create":
                created.append(note_id)
            else:
                deleted.append(note_id)
        if unreadable:
            ctx.log.warning(
                f"{NAME}: {unreadable} note event(s) after event {after} name no note or an unknown action; skipped"
            )
        gone = set(deleted)
        rows: list[tuple[str, Row]] = []
        wanted = [note_id for note_id in dict.fromkeys(created) if note_id not in gone]  # a note deleted: no fetch
        async for _, row in ordered_map(wanted, fetch, ctx.fan_out):
            if row is not None:
                rows.append((NOTES.name, row))
        ids = [number for number in map(event_id, events) if number is not None]
        last = max(ids, default=after)
        if events and last <= after:
            ctx.log.warning(f"{NAME}: the events feed answered events no newer than event {after}; stopping here")
        state = replace(state, events_after=max(last, after))
        deletes = tuple((NOTES.name, {"id": note_id}) for note_id in dict.fromkeys(deleted))
        if events:
            yield Batch(rows, state, deletes=deletes)
        if len(events) < EVENTS_PAGE or last <= after:
            break
        after = last
    # Read to its end: every note created before this sync began has had its event applied.
    cursor = _read_saved_time(state.cursor)
    if cursor is None or cursor < ctx.now:
        state = replace(state, cursor=_iso(ctx.now))
    yield Batch([], state)


async def produce(ctx: StreamContext, state: NotesState) -> AsyncIterator[Batch]:
    if state.window is None or state.position is None:
        if state.events_after is not None and state.feed_usable(ctx.now):
            try:
                async for batch in follow_feed(ctx, state):
                    yield batch
                    if isinstance(batch.state, NotesState):
                        state = batch.state
                return
            except FeedGap as error:
                ctx.log.warning(
                    f"{NAME}: the events feed no longer holds the events after event {state.events_after} ({error}); "
                    f"scanning the notes created since {state.cursor or 'initial_sync_days ago'} (less an hour) "
                    "instead, then following the feed from a fresh cursor. Notes deleted meanwhile stay live until "
                    "a re-sync"
                )
                state = replace(state, events_after=None)
            except FeedRefused as error:
                ctx.log.warning(
                    f"{NAME}: the events feed is not available ({error}); scanning notes by creation time every "
                    f"sync instead (deleted notes are then not marked deleted); the feed is asked again in a week"
                )
                state = replace(state, events_after=None, feed_refused=_iso(ctx.now))
        state = await start_scan(ctx, state)
    async for batch in scan_window(ctx, state):
        yield batch


async def start_scan(ctx: StreamContext, state: NotesState) -> NotesState:
    """A new window, with the feed's cursor taken before its first page (when the feed may be asked)."""
    events_from: int | None = None
    feed_refused = state.feed_refused
    if state.feed_usable(ctx.now):
        try:
            events_from = await read_events_cursor(ctx, NAME)
            feed_refused = None
        except FeedRefused as error:
            if state.feed_refused is None:
                ctx.log.warning(
                    f"{NAME}: the events feed is not available ({error}); notes are scanned by creation time every "
                    "sync instead (deleted notes are then not marked deleted); the feed is asked again in a week"
                )
            else:
                ctx.log.info(f"{NAME}: the events feed is still not available; scanning by creation time")
            feed_refused = _iso(ctx.now)
    window = new_window(state, ctx.now, ctx.settings.initial_sync_days, ctx.log)
    return replace(
        state, window=window, position=Position(FIRST_OFFSET), events_after=None,
        scan_events_from=events_from, feed_refused=feed_refused,
    )  # fmt: skip


async def scan_window(ctx: StreamContext, state: NotesState) -> AsyncIterator[Batch]:
    window, position = state.window, state.position
    assert window is not None and position is not None
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

    # The cursor moves only when the scan completes; the feed then starts from the cursor taken before it.
    done = NotesState(
        state.time_format, _iso(window.end), events_after=state.scan_events_from, feed_refused=state.feed_refused
    )
    async for page in all_pages():
        rows = map_records(NOTES, page.new_items, map_note, ctx.log)
        after = done if page.last else replace(state, position=page.after)
        yield Batch(rows, after, page.total, reached=page.passed)


STREAM = Stream(NAME, (NOTES,), read_state, produce, unit="notes in the window")
