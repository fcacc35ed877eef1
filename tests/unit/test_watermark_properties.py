"""The Scanner's contiguous watermark, under any order of page completion and any crash point (hypothesis).

Responses are held back by a drawn number of event-loop turns each, so the pages in flight complete in any order;
the scanner must still hand them out in order, each starting where the previous one's saved position says, and a
scan stopped after any page and resumed from that page's position must end with every record, asking for nothing
before that position again.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.client import EgnyteClient
from egnyte_async.pagination import Listing, Position, Scanner
from egnyte_async.settings import Settings
from egnyte_async.streams.notes import parse_notes_page
from egnyte_async.streams.scim import parse_scim_page

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


class ShuffledListing:
    """A static listing served SCIM- or offset-style, each answer delayed by its own number of loop turns."""

    def __init__(self, ids: list[int], delays: list[int], *, scim: bool, with_total: bool) -> None:
        self.ids = ids
        self.delays = delays
        self.scim = scim
        self.with_total = with_total
        self.asked: list[int] = []
        self.completed: list[int] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        index = int(params["startIndex"] if self.scim else params["offset"])
        turns = self.delays[len(self.asked) % len(self.delays)]
        self.asked.append(index)
        for _ in range(turns):
            await asyncio.sleep(0)
        self.completed.append(index)
        start = index - 1 if self.scim else index
        page = [{"id": i} for i in self.ids[start : start + int(params["count"])]]
        if self.scim:
            return httpx.Response(200, json={"startIndex": index, "totalResults": len(self.ids), "resources": page})
        body = {"offset": index, "notes": page, **({"total_results": len(self.ids)} if self.with_total else {})}
        return httpx.Response(200, json=body)

    def spec(self, page_size: int) -> Listing:
        if self.scim:
            return Listing("users", "/pubapi/v2/users", "startIndex", 1, page_size, parse_scim_page)
        return Listing("notes", "/pubapi/v1/notes", "offset", 0, page_size, parse_notes_page)


async def scan(listing: ShuffledListing, page_size: int, window: int, start: Position, stop_after: int | None):
    options = Settings(domain="acme", base_url="https://t.egnyte.com", api_token="t", requests_per_second=1e9)
    budget = RequestBudget(10**7, 24, QuotaWindow(NOW), NOW)
    client = EgnyteClient(options, budget, transport=httpx.MockTransport(listing.handle))
    pages = []
    async with client:
        async for page in Scanner(client, listing.spec(page_size), window).pages(start):
            pages.append(page)
            if stop_after is not None and len(pages) >= stop_after:
                break
    return pages


delays = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(min_value=0, max_value=120),
    page_size=st.integers(min_value=2, max_value=30),
    window=st.integers(min_value=1, max_value=8),
    scim=st.booleans(),
    with_total=st.booleans(),
    first_delays=delays,
    second_delays=delays,
    crash_after=st.integers(min_value=1, max_value=30),
)
def test_any_completion_order_and_any_crash_point_give_every_record_once_in_order(
    size, page_size, window, scim, with_total, first_delays, second_delays, crash_after
):
    ids = list(range(10, 10 + 3 * size, 3))
    first = ShuffledListing(ids, first_delays, scim=scim, with_total=with_total)
    start = Position(first.spec(page_size).first_index)
    pages = asyncio.run(scan(first, page_size, window, start, crash_after))

    # Handed out in order whatever the order of completion: each page starts at the previous one's saved position,
    # and repeats only the previous page's last record (the overlap).
    for before, after in itertools.pairwise(pages):
        assert after.start.index == before.after.index
        if after.items and len(before.items) > 1:  # (an empty page marks the end; a one-record page has no overlap)
            assert after.items[0]["id"] == before.items[-1]["id"]
    seen = [item["id"] for page in pages for item in page.items]
    assert seen == sorted(seen)

    if pages[-1].last:
        assert sorted(set(seen)) == ids
        return
    # Crash after the last page handed out: resume from its saved position, the pages completing in another order.
    watermark = pages[-1].after
    second = ShuffledListing(ids, second_delays, scim=scim, with_total=with_total)
    rest = asyncio.run(scan(second, page_size, window, watermark, None))
    if len(pages[-1].items) > 1:
        # Nothing before the watermark is asked for again. (After a page of a single record there is no overlap
        # to check the next page against, and the resumed scan re-reads that one page to find common ground.)
        assert min(second.asked) == watermark.index
        assert rest[0].start.index == watermark.index
    assert rest[-1].last
    assert sorted(set(seen) | {item["id"] for page in rest for item in page.items}) == ids


def test_the_delays_do_reorder_completions():
    """The property above is only worth something if pages really complete out of order."""
    listing = ShuffledListing(list(range(200)), [9, 0, 5, 1, 7, 2], scim=True, with_total=True)
    asyncio.run(scan(listing, 10, 6, Position(1), None))
    assert listing.completed != sorted(listing.completed)
