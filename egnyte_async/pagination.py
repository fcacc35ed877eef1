"""Offset listings read page by page, many pages in flight, emitted in order, safe on a tenant that changes.

Egnyte pages by position (SCIM `startIndex`, v1 `offset`), so a record created or deleted before the current
position shifts every later page. Consecutive pages therefore overlap by one record, and each page must contain
at least one id of the page before it (its "tail"): if it does not, the listing moved under the scan and the
scanner steps back until it finds common ground. A record that exists throughout a scan is never skipped;
duplicates this causes are harmless, rows are upserted by key. A step back is bounded (see `Scanner._step_back`):
a position past the listing's end goes straight to its last page, and a few pages without the tail's ids restart
the scan from its first record, so that every sync makes progress.

A listing's stated total is not trusted to end it: a page full to the total, or beyond it, is read on, one page
at a time, until a short page. Once a page holds records past the total, the total is ignored for the rest of the
scan, with a warning: a short page is then told from the server's cap on a page's size as without a total.

A body whose envelope says it starts elsewhere than asked (SCIM `startIndex`, v1 `offset`) is another page's,
a stale or repeated answer: it is fetched again. This is the only guard on a scan's first page, which has no page
before it to overlap with.

Pages are fetched in a sliding window (as many as `window` ahead, once the first page has told the total) but
handed out strictly in order, so a position handed out with a page always means "everything before here is
done": the contiguous watermark.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from egnyte_async.client import EgnyteClient
from egnyte_async.errors import InvalidBodyError
from egnyte_async.log import Log, NullLog
from egnyte_async.sizes import record_chars

#: Records shared by consecutive pages; one is enough to prove that nothing fell between them.
OVERLAP = 1
#: Ids of a page kept to check the next page against (and saved in the state with the position).
TAIL_SIZE = 5
#: How many times a page that repeats the page before it is fetched again before it is taken as it is.
REPEAT_RETRIES = 3
#: Answers naming another start than asked before the endpoint is judged not to echo it (a stale page is rare:
#: ten in a row never happen by chance, while an endpoint that echoes something else costs these calls once).
ECHO_TRIES = 10
#: After this many shifts in one scan the listing is too busy to chase; the scan warns and goes on.
MAX_STITCHES = 100
#: Pages a step back reads in search of the tail's ids before the scan restarts from its first record: a walk back
#: page by page from a position far past what the listing still holds spent every sync's calls and saved nothing.
STEP_BACK_PAGES = 3
#: The characters of text that pages read ahead of the one handed out may hold together, near enough.
READ_AHEAD_CHARS = 32_000_000
#: The most characters of text a page is asked to hold: a page is read, decoded and queued whole, so pages of
#: long records (notes of hundreds of thousands of characters) are asked for a few records at a time.
PAGE_CHARS = 4_000_000


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int | None
    #: The position the body says it starts at (SCIM `startIndex`, v1 `offset`), when it says.
    index: int | None = None


@dataclass(frozen=True)
class Listing:
    """One paged endpoint: where it is, how its pages are addressed and how its body is read."""

    name: str
    path: str
    index_param: str
    first_index: int
    page_size: int
    parse: Callable[[Any], Page]
    params: Mapping[str, str | int] = field(default_factory=dict)
    act_as: str | None = None


@dataclass(frozen=True)
class Position:
    """Where a scan resumes: the next index to request and the last ids seen before it."""

    index: int
    tail: tuple[Any, ...] = ()

    def to_state(self) -> dict[str, Any]:
        return {"index": self.index, "tail": list(self.tail)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None, first_index: int) -> Position:
        if not state:
            return cls(first_index)
        try:
            index = int(state["index"])
            tail = tuple(_hashable(value) for value in state.get("tail") or ())
        except (KeyError, TypeError, ValueError):
            return cls(first_index)
        return cls(max(index, first_index), tail)


@dataclass(frozen=True)
class ScannedPage:
    """A page as handed out: its records, where it was read, and where the scan resumes after it."""

    items: list[dict[str, Any]]
    start: Position
    after: Position
    total: int | None
    last: bool
    #: The listing's first index (1 for SCIM, 0 for offsets).
    first_index: int = 0

    @property
    def new_items(self) -> list[dict[str, Any]]:
        """The records the page before did not already hand out (the pages' one-record overlap)."""
        return not_in_tail(self.items, self.start.tail)

    @property
    def passed(self) -> int:
        """Records of the listing passed once this page is done."""
        return self.after.index - self.first_index

    def passed_at(self, item: dict[str, Any]) -> int:
        """Records of the listing passed once `item`, a record of this page, is done."""
        for number, candidate in enumerate(self.items, start=1):
            if candidate is item:
                return self.start.index - self.first_index + number
        return self.start.index - self.first_index


def _step(page_size: int) -> int:
    """How far apart consecutive pages start: one record of overlap, unless pages hold a single record."""
    return page_size - OVERLAP if page_size > OVERLAP else page_size


def _fitting_page_size(page_size: int, length: int, chars: int) -> int:
    """The page size whose pages would hold about PAGE_CHARS of text, judged by a page of `length` records holding
    `chars`; never below two records (pages must overlap by one), never above `page_size`."""
    if length == 0 or chars <= PAGE_CHARS:
        return page_size
    return max(OVERLAP + 1, min(page_size, PAGE_CHARS * length // chars))


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) else value


def record_key(item: Any) -> Any:
    """What tells a record from the others across pages: its id, compared by its JSON text when it has an odd shape
    (a list, an object); for a record without an id (or an item that is not an object), a digest of its content,
    so that it still proves, or disproves, the overlap of two pages."""
    if isinstance(item, dict) and item.get("id") is not None:
        return _hashable(item["id"])
    content = json.dumps(item, sort_keys=True, default=str).encode()
    return "content:" + hashlib.sha1(content, usedforsecurity=False).hexdigest()[:20]


def skip_through(items: list[dict[str, Any]], last_done: Any) -> list[dict[str, Any]]:
    """The items after `last_done`; all of them when it is no longer listed (the page moved: redo it, harmlessly)."""
    done = record_key({"id": last_done})
    for index, item in enumerate(items):
        if record_key(item) == done:
            return items[index + 1 :]
    return items


def not_in_tail(items: list[dict[str, Any]], tail: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Drops the records the previous page already ended with (the pages' overlap): each costs a call."""
    if not tail:
        return items
    done = set(tail)
    return [item for item in items if record_key(item) not in done]


def unprocessed(items: list[dict[str, Any]], tail: tuple[Any, ...], last_done: Any = None) -> list[dict[str, Any]]:
    """The records of a page still to process one by one (a detail call or a listing each): those after
    `last_done`, where a resumed sync stopped inside this page, and not among the previous page's last records."""
    if last_done is not None:
        items = skip_through(items, last_done)
    return not_in_tail(items, tail)


def _ids(items: list[dict[str, Any]]) -> list[Any]:
    return [record_key(item) for item in items]


def _shares_an_id(items: list[dict[str, Any]], tail: tuple[Any, ...]) -> bool:
    wanted = {key for key in tail if key is not None}  # (None: from a state saved before record_key)
    if not wanted:
        return True
    return any(record_key(item) in wanted for item in items)


class PageCap:
    """What one endpoint's largest page really is, learnt while reading it.

    Without a total, a page shorter than asked for is either the listing's end or the server capping the page
    size below what was asked (Egnyte documents no maximum for some listings). The first time a short page of a
    new length is met, the next page is read to tell which; what is learnt is shared by every listing of the
    endpoint (the bookmarks of every user), so this costs a handful of calls a sync, not one per listing.
    It also remembers whether the endpoint's envelope echoes the start that was asked for.
    """

    def __init__(self) -> None:
        self.cap: int | None = None
        self.longest_end = 0
        #: Whether the envelope's start (startIndex, offset) echoes the one asked for, as it should.
        self.echoes_index = True

    def to_state(self) -> dict[str, Any]:
        return {"cap": self.cap, "longest_end": self.longest_end, "echoes_index": self.echoes_index}

    @classmethod
    def from_state(cls, state: Any) -> PageCap:
        """What an earlier sync learnt; anything unreadable is learnt again."""
        learnt = cls()
        if isinstance(state, dict):
            cap, longest = state.get("cap"), state.get("longest_end")
            if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
                learnt.cap = cap
            if isinstance(longest, int) and not isinstance(longest, bool) and longest > 0:
                learnt.longest_end = longest
            learnt.echoes_index = state.get("echoes_index") is not False
        return learnt

    def is_end(self, length: int) -> bool:
        if self.cap is not None:
            return length < self.cap
        return length <= self.longest_end


class Scanner:
    """Reads one listing from a position to its end."""

    def __init__(
        self,
        client: EgnyteClient,
        listing: Listing,
        window: int,
        log: Log | None = None,
        cap: PageCap | None = None,
    ) -> None:
        self.client = client
        self.listing = listing
        self.window = max(1, window)
        self.log = log or NullLog()
        self.cap = cap or PageCap()
        self.stitches = 0
        #: Whether a page held records past the listing's stated total: its totals are not trusted any more.
        self.understated = False

    async def fetch(self, index: int, page_size: int) -> Page:
        """One page; a body whose envelope names another start (a stale or repeated answer: nothing else could
        tell, on a first page) is fetched again. An endpoint that always echoes another start simply does not
        echo what was asked: after a few tries the field is ignored for it, with a warning."""
        listing = self.listing
        params = {**listing.params, listing.index_param: index, "count": page_size}
        what = f"{listing.name} page at {listing.index_param}={index}"
        for _ in range(ECHO_TRIES):
            page = await self.client.get(listing.path, params, parse=listing.parse, what=what, act_as=listing.act_as)
            if page.index is None or page.index == index or not self.cap.echoes_index:
                return page
            self.log.debug(f"{what}: the body is the page at {listing.index_param}={page.index}; fetching it again")
        self.cap.echoes_index = False
        self.log.warning(
            f"{listing.name}: Egnyte's pages keep naming {listing.index_param}={page.index} when asked for {index}; "
            "that field is ignored from now on"
        )
        return page

    async def pages(self, position: Position) -> AsyncIterator[ScannedPage]:
        listing = self.listing
        page_size = min(listing.page_size, self.cap.cap or listing.page_size)
        start, tail = position.index, position.tail
        page = await self.fetch(start, page_size)
        pending: deque[tuple[int, asyncio.Task[Page]]] = deque()
        next_index = start + _step(page_size)
        probing: int | None = None  # the length of a short page whose successor tells end from cap
        try:
            while True:
                start, page, stepped_back = await self._settle(start, page, page_size, tail, pending)
                if stepped_back:  # the pages in flight were dropped: go on from the page re-read
                    next_index = start + _step(page_size)
                length = len(page.items)
                if probing is not None:
                    if length <= page_size - _step(page_size):  # nothing beyond the overlap: it was the end
                        self.cap.longest_end = max(self.cap.longest_end, probing)
                    else:
                        self.cap.cap = probing
                        self.log.info(f"{listing.name}: Egnyte returns at most {probing} records a page")
                    probing = None
                if page.total is not None and not self.understated and start + length > self._end(page):
                    self.understated = True
                    self.log.warning(
                        f"{listing.name}: Egnyte gave its total as {page.total} records, but it holds more (the page "
                        f"at {listing.index_param}={start} holds {length} records); the total is "
                        "ignored, the listing is read on, one page at a time, until a short page"
                    )
                total = None if self.understated else page.total  # a total found wrong tells nothing
                if total is not None:
                    # A full page reaching the stated total may not be the last one: the total can be understated.
                    done = length == 0 or (start + length >= self._end(page) and length < page_size)
                    short = not done and length < page_size
                else:
                    # Without a (trusted) total, a short page may be the end or the server's cap on a page's size.
                    done = length < page_size and self.cap.is_end(length)
                    short = not done and length < page_size
                    probing = length if short else None
                chars = sum(record_chars(item) for item in page.items if type(item) is dict)
                lighter = _fitting_page_size(page_size, length, chars)
                if short or lighter < page_size:
                    # Fewer records than asked although more remain: page by what the server gives. Or records so
                    # long that a page would weigh more than PAGE_CHARS: ask for fewer at a time from now on.
                    self._cancel(pending)
                    next_index = start + _step(length)
                    page_size = min(length, lighter)
                new_tail = tuple(_ids(page.items)[-TAIL_SIZE:]) or tail
                after = Position(start + (length if done else _step(length)), new_tail)
                items = self._objects(page.items, start)
                yield ScannedPage(items, Position(start, tail), after, page.total, done, listing.first_index)
                if done:
                    return
                tail = new_tail
                step = _step(page_size)
                end = self._end(page) if total is not None else None
                # Never more pages ahead than the day's budget can still pay for (a stop loses those in flight), nor
                # than READ_AHEAD_CHARS of text can hold (pages of long notes weigh megabytes each).
                room = READ_AHEAD_CHARS // max(1, chars)
                sequential = probing is not None or self.understated  # past an understated total: one page at a time
                ahead = max(1, min(1 if sequential else self.window, self.client.budget.remaining, room))
                while len(pending) < ahead and (end is None or next_index < end):
                    pending.append((next_index, asyncio.ensure_future(self.fetch(next_index, page_size))))
                    next_index += step
                if not pending:
                    # At or past the stated total yet not done: a full page there (the total is understated, or
                    # the listing grew), or the total shrank below the next index while the scan ran. Read on, one
                    # page at a time: the first short page ends the scan.
                    pending.append((next_index, asyncio.ensure_future(self.fetch(next_index, page_size))))
                    next_index += step
                start, task = pending.popleft()
                page = await task
        finally:
            self._cancel(pending)

    def _objects(self, items: list[Any], start: int) -> list[dict[str, Any]]:
        """The page's records; an item that is not a JSON object is no record: reported, and left out (it still
        counts for the positions, which are the server's)."""
        if all(isinstance(item, dict) for item in items):
            return items
        odd = [item for item in items if not isinstance(item, dict)]
        shown = ", ".join(repr(item)[:100] for item in odd[:3])
        self.log.warning(
            f"{self.listing.name}: skipped {len(odd)} item(s) that are not JSON objects in the page at "
            f"{self.listing.index_param}={start}: {shown}"
        )
        return [item for item in items if isinstance(item, dict)]

    def _end(self, page: Page) -> int:
        """The index just past the last record, by the page's total."""
        assert page.total is not None
        return self.listing.first_index + page.total

    @staticmethod
    def _cancel(pending: deque[tuple[int, asyncio.Task[Page]]]) -> None:
        while pending:
            _, task = pending.pop()
            task.cancel()

    async def _step_back(self, start: int, page: Page, page_size: int, tail: tuple[Any, ...]) -> tuple[int, Page]:
        """Re-reads earlier pages until one shares an id with `tail` (or the listing's first page is reached), `page`
        being the one read at `start` that did not; a bounded search, so that a scan always makes progress.

        Every record present throughout the scan and not yet handed out lies after the tail's records in the
        listing's order, so a page holding one of the tail's ids starts a read that misses none of them: the walk
        back looks for such a page, the nearest first (it costs the fewest records read again).

        - A page past the listing's end (empty, its total ending before it) is what a scan resumed after the
          listing shrank meets. The positions between the end and `start` hold no record, so reading them finds
          nothing: the step back goes straight to the last page (the listing's last records, the most recent
          position the listing still has). If one of the tail's ids is there, every record still to hand out lies
          after it, on that page. If not, the step back goes on from there. (A page beyond its total that holds
          records says that the total is understated, not that the listing ended: that step back is an ordinary
          one.)
        - After STEP_BACK_PAGES pages read without one of the tail's ids (they were deleted, or so many records
          before them were that they moved further back than that), the scan restarts from its first record, with
          a warning: the records before `start` were handed out already in this scan, so reading them again costs
          calls (and upserts rows unchanged) but loses nothing, and every record of the listing lies after its
          first position. The walk back page by page to the listing's start could cost a whole sync's calls
          before a page was handed out, nothing was saved, and every later sync did it again.
        """
        self.stitches += 1
        if self.stitches == MAX_STITCHES:
            self.log.warning(
                f"{self.listing.name}: the listing changed under the scan {MAX_STITCHES} times; records created "
                "or moved during this sync may only be picked up by the next one"
            )
        if self.stitches > MAX_STITCHES:
            return start, await self.fetch(start, page_size)
        first, name, param = self.listing.first_index, self.listing.name, self.listing.index_param
        index = start
        for _ in range(STEP_BACK_PAGES):
            earlier = index - _step(page_size)
            if not page.items and page.total is not None and not self.understated and index >= self._end(page):
                last_page = self._end(page) - _step(page_size)  # short by the overlap: it ends the scan at once
                if last_page < earlier:
                    self.log.info(
                        f"{name}: the listing holds {page.total} records now, it ends before {param}={index} (it "
                        "shrank since that position was reached); going back to its last page"
                    )
                earlier = min(earlier, last_page)
            index = max(first, earlier)
            page = await self.fetch(index, page_size)
            if index == first or _shares_an_id(page.items, tail):
                self.log.debug(f"{name}: listing shifted during the scan; re-read from {index}")
                return index, page
        shown = ", ".join(str(key)[:40] for key in tail)
        self.log.warning(
            f"{name}: none of the records read last before {param}={start} (ids {shown}) is on that page or on the "
            f"{STEP_BACK_PAGES} pages read back in search of them (deleted since, or moved far back by deletions "
            "before them): the scan restarts from its first record so that no record is skipped (those read "
            "already are read again)"
        )
        return first, await self.fetch(first, page_size)

    async def _settle(
        self,
        start: int,
        page: Page,
        page_size: int,
        tail: tuple[Any, ...],
        pending: deque[tuple[int, asyncio.Task[Page]]],
    ) -> tuple[int, Page, bool]:
        """The page to take in place of `page` (read at `start`), where it starts, and whether the scan stepped back
        (dropping the pages in flight). Every answer taken, the first one or one fetched again because it looked
        repeated, must share an id with `tail`, else the scan steps back.

        A full page ending on the same id as the page before it made no progress: usually Egnyte repeating a page
        (fetching it again cures it), rarely records inserted before it (then the answer stays the same and is taken
        as it is: the next page moves on). The answer fetched again is read later than the page before it, on a
        listing that may have changed meanwhile (records deleted before `start` shift later ones before it), so it
        is checked for the overlap like any other: taking it unchecked skipped the records that moved before
        `start`, or ended the scan early on a listing that shrank below `start`.
        """
        repeats = 0
        stepped_back = False
        while True:
            if self._lost_ground(start, page, page_size, tail):
                self._cancel(pending)
                start, page = await self._step_back(start, page, page_size, tail)
                stepped_back = True
            if repeats == REPEAT_RETRIES or not (
                tail and len(page.items) == page_size and record_key(page.items[-1]) == tail[-1]
            ):
                return start, page, stepped_back
            repeats += 1
            self.log.debug(f"{self.listing.name}: page at {start} repeats the previous page; fetching it again")
            page = await self.fetch(start, page_size)

    def _lost_ground(self, start: int, page: Page, page_size: int, tail: tuple[Any, ...]) -> bool:
        """Whether `page` shares no id with the previous page's tail: the listing moved and something may lie
        between them (the listing's first page has nothing before it; single-record pages do not overlap)."""
        return (
            bool(tail)
            and page_size > OVERLAP
            and start != self.listing.first_index
            and not _shares_an_id(page.items, tail)
        )


def require_list(body: Any, key: str, what: str) -> list[Any]:
    """The body's list of records, for the streams' envelope parsers; items that are not objects are the Scanner's
    to report (data, not a transient fault: retrying would not cure them)."""
    if not isinstance(body, dict):
        raise InvalidBodyError(f"{what}: expected a JSON object, got {type(body).__name__}")
    items = body.get(key)
    if items is None:
        raise InvalidBodyError(f"{what}: the body has no '{key}' list (keys: {sorted(body)[:10]})")
    if not isinstance(items, list):
        raise InvalidBodyError(f"{what}: '{key}' is not a list")
    return items


def optional_int(body: dict[str, Any], key: str) -> int | None:
    """An envelope's number (a total, an echoed start), given as a JSON number or digits; None otherwise."""
    value = body.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
