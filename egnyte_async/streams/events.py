"""events: every event of Egnyte's events feed (files and notes), incremental by event id. Opt-in (`enable_events`).

The first sync starts at the oldest event Egnyte still keeps (`oldest_event_id` of `GET /pubapi/v1/events/cursor`):
the table is for analysis, and what Egnyte keeps (its latest few hundred thousand events, at most 30 days) is the
history a user enabling it expects; starting at the latest event would give an empty table until something happens.
Reading it costs one call per 100 events, under the same daily budget as the other streams: a sync that spends its
share stops cleanly and the next one goes on from the last id written.

Every later sync asks for the events after the last id written, 100 at a time, the next page after the last id
received, until a 204 (nothing newer) or a short page. A 404 means the saved id has aged out of the feed: the events
in between are gone for good (a gap, said in a warning) and the read resumes at the oldest event kept. A 403 means
the feed is not available to this domain or token: the sync fails saying so, since the table was asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from egnyte_async.errors import InvalidBodyError, NotFoundError, PermissionDeniedError
from egnyte_async.items import Batch
from egnyte_async.log import Log
from egnyte_async.mapping import map_event
from egnyte_async.pagination import optional_int, require_list
from egnyte_async.schema import Table
from egnyte_async.state import readable_part, report_unreadable
from egnyte_async.streams.base import Stream
from egnyte_async.streams.context import StreamContext, map_records

NAME = "events"
EVENTS = Table(
    "events",
    ("id",),
    {
        "id": "LONG",
        "timestamp": "UTC_DATETIME",
        "type": "STRING",
        "action": "STRING",
        "action_source": "STRING",
        "actor": "LONG",
        "object_detail": "STRING",
        "data": "JSON",
        "extra": "JSON",
    },
)
#: Events asked for per call: Egnyte's maximum.
PAGE = 100


@dataclass(frozen=True)
class EventsState:
    """`after_id`: the last event written; None before the first sync (which starts at the oldest event kept)."""

    after_id: int | None = None

    def to_state(self) -> dict[str, Any]:
        return {} if self.after_id is None else {"scan": {"after_id": self.after_id}}

    def describe(self) -> str:
        if self.after_id is None:
            return "starts at the oldest event Egnyte keeps"
        return f"reads the events after event {self.after_id}"


def read_state(raw: Mapping[str, Any], log: Log) -> EventsState:
    scan = readable_part(raw, "scan", NAME, log)
    if not scan:
        return EventsState()
    after = scan.get("after_id")
    if type(after) is not int or after < 0:
        report_unreadable(log, NAME, "'scan' after_id", after, "reading from the oldest event Egnyte keeps")
        return EventsState()
    return EventsState(after)


@dataclass(frozen=True)
class FeedCursor:
    latest: int
    oldest: int


def parse_cursor(body: Any) -> FeedCursor:
    if isinstance(body, dict):
        latest, oldest = optional_int(body, "latest_event_id"), optional_int(body, "oldest_event_id")
        if latest is not None:
            return FeedCursor(latest, oldest if oldest is not None else latest + 1)
    raise InvalidBodyError("events cursor: expected a JSON object with latest_event_id and oldest_event_id")


def parse_events(body: Any) -> list[Any]:
    return require_list(body, "events", "events page")


def _refused(error: PermissionDeniedError) -> PermissionDeniedError:
    return PermissionDeniedError(
        f"Egnyte refused the events feed ({error}). It is not available on this domain's plan or to this token's "
        "user (an administrator's token is needed). Set enable_events to false to sync without the events table."
    )


async def _cursor(ctx: StreamContext) -> FeedCursor:
    try:
        return await ctx.client.get("/pubapi/v1/events/cursor", parse=parse_cursor, what=f"{NAME}: the feed's cursor")
    except PermissionDeniedError as error:
        raise _refused(error) from error


async def produce(ctx: StreamContext, state: EventsState) -> AsyncIterator[Batch]:
    after = state.after_id
    if after is None:
        cursor = await _cursor(ctx)
        after = max(0, cursor.oldest - 1)
        ctx.log.info(f"{NAME}: first sync: reading the events Egnyte keeps, ids {cursor.oldest} to {cursor.latest}")
    resumed = False
    while True:
        try:
            events = await ctx.client.get(
                "/pubapi/v1/events", {"id": after, "count": PAGE}, parse=parse_events,
                what=f"{NAME}: events after event {after}", no_content=list,
            )  # fmt: skip
        except PermissionDeniedError as error:
            raise _refused(error) from error
        except NotFoundError:
            if resumed:
                raise
            cursor = await _cursor(ctx)
            oldest = max(after, cursor.oldest - 1)
            ctx.log.warning(
                f"{NAME}: Egnyte no longer keeps the events after event {after}: events {after + 1} to "
                f"{cursor.oldest - 1} are lost (a gap in the events table); resuming at event {cursor.oldest}, the "
                "oldest kept. Syncing more often keeps up with the feed"
            )
            after, resumed = oldest, True
            continue
        ids = [event["id"] for event in events if isinstance(event, dict) and type(event.get("id")) is int]
        last = max(ids, default=after)
        if events:
            yield Batch(map_records(EVENTS, events, map_event, ctx.log), EventsState(max(last, after)))
        if len(events) < PAGE:
            return
        if last <= after:
            ctx.log.warning(f"{NAME}: the feed answered events no newer than event {after}; stopping here")
            return
        after = last


STREAM = Stream(NAME, (EVENTS,), read_state, produce, enabled_by_default=False, unit="events")
