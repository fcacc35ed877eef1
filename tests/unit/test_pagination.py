"""The Scanner: ordered hand-out of concurrently fetched pages, overlap checks on a changing listing, resumption."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.client import EgnyteClient
from egnyte_async.errors import QuotaExhaustedError
from egnyte_async.pagination import Listing, Position, Scanner, record_key, skip_through
from egnyte_async.settings import Settings
from egnyte_async.streams.notes import parse_notes_page
from egnyte_async.streams.scim import parse_scim_page
from tests.clients import USERS
from tests.logs import RecordingLog

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


class LiveListing:
    """A listing ordered by id whose content can change between requests, served SCIM- or offset-style."""

    def __init__(
        self,
        ids,
        *,
        scim=True,
        with_total=True,
        mutations=None,
        max_count=100,
        echo_shift: int | None = None,
        stated_total: int | None = None,
    ):
        self.ids = sorted(ids)
        self.scim = scim
        self.with_total = with_total
        self.mutations = dict(mutations or {})
        self.max_count = max_count
        self.echo_shift = echo_shift
        self.stated_total = stated_total  # a total the server states whatever it holds
        self.requests = 0
        self.next_new_id = 10**9

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        for kind, where in self.mutations.pop(self.requests, []):
            if kind == "delete" and self.ids:
                self.ids.pop(where % len(self.ids))
            elif kind == "insert":
                position = where % (len(self.ids) + 1)
                low = self.ids[position - 1] if position else 0
                high = self.ids[position] if position < len(self.ids) else low + 2
                if high - low >= 2:
                    self.ids.insert(position, (low + high) // 2)
        params = request.url.params
        count = min(int(params["count"]), self.max_count)
        total = len(self.ids) if self.stated_total is None else self.stated_total
        if self.scim:
            start = int(params["startIndex"]) - 1
            page = [{"id": i} for i in self.ids[start : start + count]]
            body = {"totalResults": total, "resources": page, "itemsPerPage": count}
            if self.echo_shift is not None:
                body["startIndex"] = start + 1 + self.echo_shift
            return httpx.Response(200, json=body)
        start = int(params["offset"])
        page = [{"id": i} for i in self.ids[start : start + count]]
        body = {"notes": page}
        if self.with_total:
            body["total_results"] = total
        return httpx.Response(200, json=body)


def client_for(listing: LiveListing, calls: int = 10**7) -> EgnyteClient:
    options = Settings(domain="acme", base_url="https://t.egnyte.com", api_token="t", requests_per_second=10_000)
    budget = RequestBudget(calls, 24, QuotaWindow(NOW), NOW)
    return EgnyteClient(options, budget, transport=httpx.MockTransport(listing.handle))


def listing_spec(listing: LiveListing, page_size: int) -> Listing:
    if listing.scim:
        return Listing("users", "/pubapi/v2/users", "startIndex", 1, page_size, parse_scim_page)
    return Listing("notes", "/pubapi/v1/notes", "offset", 0, page_size, parse_notes_page)


async def scan(
    listing: LiveListing, page_size: int, window: int, start: Position | None = None, stop_after=None, log=None
):
    spec = listing_spec(listing, page_size)
    pages = []
    async with client_for(listing) as client:
        scanner = Scanner(client, spec, window, log)
        async for page in scanner.pages(start or Position(spec.first_index)):
            pages.append(page)
            if stop_after is not None and len(pages) >= stop_after:
                break
    return pages


def seen(pages) -> list:
    return [item["id"] for page in pages for item in page.items]


def test_static_listing_is_read_whole_in_order_with_one_record_overlap():
    listing = LiveListing(range(1, 251))
    pages = asyncio.run(scan(listing, 100, 4))
    ids = seen(pages)
    assert sorted(set(ids)) == list(range(1, 251))
    assert ids == sorted(ids)
    assert len(ids) - 250 == len(pages) - 1  # one repeated record between consecutive pages
    assert pages[-1].last and not any(page.last for page in pages[:-1])


def test_listing_without_total_stops_at_the_first_short_page():
    listing = LiveListing(range(1, 206), scim=False, with_total=False)
    pages = asyncio.run(scan(listing, 50, 3))
    assert sorted(set(seen(pages))) == list(range(1, 206))


def test_a_stale_first_page_is_fetched_again():
    listing = LiveListing(range(1, 301), echo_shift=0)
    original = listing.handle

    def stale_once(request):
        if listing.requests == 0:  # the first answer is the body of the page at startIndex 101
            listing.requests += 1
            return original(httpx.Request("GET", request.url.copy_set_param("startIndex", "101")))
        return original(request)

    listing.handle = stale_once
    pages = asyncio.run(scan(listing, 100, 2))
    assert sorted(set(seen(pages))) == list(range(1, 301))
    assert pages[0].items[0]["id"] == 1


def test_an_envelope_that_never_echoes_the_start_is_ignored_after_a_few_tries():
    listing = LiveListing(range(1, 301), echo_shift=-1)  # a 0-based echo of a 1-based startIndex
    pages = asyncio.run(scan(listing, 100, 2))
    assert sorted(set(seen(pages))) == list(range(1, 301))


def test_server_that_caps_the_page_size_lower_is_followed():
    listing = LiveListing(range(1, 301), max_count=40)
    pages = asyncio.run(scan(listing, 100, 4))
    assert sorted(set(seen(pages))) == list(range(1, 301))


def test_listing_without_total_learns_a_lower_cap_and_shares_it():
    from egnyte_async.pagination import PageCap

    cap = PageCap()

    async def read(listing, window=3):
        spec = listing_spec(listing, 100)
        async with client_for(listing) as client:
            return [p async for p in Scanner(client, spec, window, cap=cap).pages(Position(0))]

    first = LiveListing(range(1, 131), scim=False, with_total=False, max_count=40)
    assert sorted(set(seen(asyncio.run(read(first))))) == list(range(1, 131))
    assert cap.cap == 40
    second = LiveListing(range(1, 81), scim=False, with_total=False, max_count=40)
    assert sorted(set(seen(asyncio.run(read(second, window=1))))) == list(range(1, 81))
    assert second.requests == 3  # 40 + 39 + the short last page: the cap is known, no probing


def test_short_pages_that_really_end_cost_one_probe_per_new_length():
    from egnyte_async.pagination import PageCap

    cap = PageCap()
    requests = 0
    for size in (3, 2, 3, 1, 3):
        listing = LiveListing(range(1, size + 1), scim=False, with_total=False)
        asyncio.run(scan_with_cap(listing, cap))
        requests += listing.requests
    assert cap.cap is None and cap.longest_end == 3
    assert requests == 5 + 1  # one probe, the first time a page of 3 came back short


async def scan_with_cap(listing, cap):
    spec = listing_spec(listing, 100)
    async with client_for(listing) as client:
        return [p async for p in Scanner(client, spec, 3, cap=cap).pages(Position(0))]


def test_deletions_before_the_position_do_not_skip_records():
    # 30 records vanish at the front just before the second page is served: every later page shifts left.
    mutations = {2: [("delete", 0)] * 30}
    listing = LiveListing(range(1, 501), mutations=mutations)
    pages = asyncio.run(scan(listing, 100, 1))
    assert set(range(31, 501)) <= set(seen(pages))


def test_resume_from_any_page_position_reads_the_rest():
    listing = LiveListing(range(1, 401))
    full = asyncio.run(scan(listing, 100, 2))
    for index, page in enumerate(full[:-1]):
        rest = asyncio.run(scan(LiveListing(range(1, 401)), 100, 2, start=page.after))
        assert set(seen(full[: index + 1])) | set(seen(rest)) == set(range(1, 401))


def test_a_repeated_page_is_fetched_again_not_taken_as_progress():
    listing = LiveListing(range(1, 301))
    served = {"n": 0}
    original = listing.handle

    def repeat_second_page(request):
        served["n"] += 1
        if served["n"] == 2:  # the second page comes back as a copy of the first
            request = httpx.Request("GET", request.url.copy_set_param("startIndex", "1"))
        return original(request)

    listing.handle = repeat_second_page
    pages = asyncio.run(scan(listing, 100, 1))
    assert sorted(set(seen(pages))) == list(range(1, 301))


def _looks_repeated_then_shifts(final_deletes):
    """Page size 5 (consecutive pages 4 apart), one page in flight: before the second page is served, 4 records are
    inserted before the first page's last record (50), so the second page ends on it too, as a repeated page would;
    before that page is fetched again, `final_deletes` records vanish at the front."""
    inserts = [("insert", 1), ("insert", 3), ("insert", 5), ("insert", 7)]  # 15, 25, 35, 45 before 50
    mutations = {2: inserts, 3: [("delete", 0)] * final_deletes}
    return LiveListing(range(10, 210, 10), mutations=mutations)


def test_a_page_fetched_again_as_a_repeat_is_checked_for_the_overlap_too():
    # The second page ([30, 35, 40, 45, 50]) ends on the first page's last id: fetched again, after 8 records
    # vanished at the front, it is [90..130]. Taken unchecked, 60, 70 and 80 were skipped although present
    # throughout; checked, it shares no id with the first page and the scan steps back.
    listing = _looks_repeated_then_shifts(8)
    pages = asyncio.run(scan(listing, 5, 1))
    assert set(range(50, 210, 10)) <= set(seen(pages))
    assert pages[-1].last


def test_a_page_fetched_again_as_a_repeat_on_a_listing_that_shrank_does_not_end_the_scan():
    # The live-tenant failure: fetched again long after, the page lies past the end of a listing that shrank
    # (an empty page whose total ends before it). Taken unchecked, it ended the scan and every record after the
    # first page was lost; checked, the scan steps back and reads the rest.
    listing = _looks_repeated_then_shifts(20)  # 4 records left: the page at 5 is empty
    pages = asyncio.run(scan(listing, 5, 1))
    assert set(range(170, 210, 10)) <= set(seen(pages))
    assert pages[-1].last


mutation = st.tuples(st.sampled_from(["delete", "insert"]), st.integers(min_value=0, max_value=10_000))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(min_value=0, max_value=700),
    page_size=st.integers(min_value=2, max_value=60),
    window=st.integers(min_value=1, max_value=6),
    scim=st.booleans(),
    with_total=st.booleans(),
    server_cap=st.sampled_from([100, 7, 23]),
    churn=st.dictionaries(st.integers(min_value=1, max_value=40), st.lists(mutation, max_size=8), max_size=10),
)
def test_no_record_present_throughout_is_ever_skipped(size, page_size, window, scim, with_total, server_cap, churn):
    """Any listing, page size, window and churn: every record that exists from start to end is handed out."""
    ids = [i * 4 for i in range(1, size + 1)]
    listing = LiveListing(ids, scim=scim, with_total=with_total, mutations=churn, max_count=server_cap)
    original = set(ids)
    deleted: set[int] = set()
    handle = listing.handle

    def tracking(request):
        before = set(listing.ids)
        response = handle(request)
        deleted.update(before - set(listing.ids))
        return response

    listing.handle = tracking
    pages = asyncio.run(scan(listing, page_size, window))
    survivors = original - deleted
    assert survivors <= set(seen(pages))
    assert pages[-1].last


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=500),
    page_size=st.integers(min_value=2, max_value=50),
    window=st.integers(min_value=1, max_value=5),
    crash_at=st.integers(min_value=1, max_value=30),
)
def test_any_crash_point_then_resume_gives_every_record(size, page_size, window, crash_at):
    ids = list(range(1, size + 1))
    first = asyncio.run(scan(LiveListing(ids), page_size, window, stop_after=crash_at))
    if first[-1].last:
        assert set(seen(first)) == set(ids)
        return
    rest = asyncio.run(scan(LiveListing(ids), page_size, window, start=first[-1].after))
    assert set(seen(first)) | set(seen(rest)) == set(ids)


def test_what_an_endpoint_taught_is_kept_in_the_state():
    from egnyte_async.pagination import PageCap

    learnt = PageCap()
    learnt.cap, learnt.longest_end, learnt.echoes_index = 40, 12, False
    again = PageCap.from_state(learnt.to_state())
    assert (again.cap, again.longest_end, again.echoes_index) == (40, 12, False)
    fresh = PageCap.from_state({"cap": "x", "longest_end": -3, "echoes_index": "maybe"})
    assert (fresh.cap, fresh.longest_end, fresh.echoes_index) == (None, 0, True)
    assert PageCap.from_state(None).cap is None


def test_skip_through_resumes_after_the_last_written_item():
    items = [{"id": i} for i in range(5)]
    assert skip_through(items, 2) == [{"id": 3}, {"id": 4}]
    assert skip_through(items, 4) == []
    assert skip_through(items, 99) == items  # no longer listed: the page is redone, harmlessly


def test_record_keys_of_every_shape_can_be_compared():
    assert record_key({"id": 5}) == 5 and record_key({"id": "a"}) == "a"
    assert record_key({"id": [1, 2]}) != record_key({"id": [2, 1]})
    assert record_key({"id": {"a": 1, "b": 2}}) == record_key({"id": {"b": 2, "a": 1}})  # key order is no identity
    assert record_key({"name": "x"}) != record_key({"name": "y"})  # without an id, the content tells records apart
    assert str(record_key({"name": "x"})).startswith("content:")
    assert len({record_key(item) for item in ({"id": [1]}, {"id": {"a": 1}}, "x", None, {"id": None})}) == 5


@respx.mock
async def test_a_page_whose_envelope_says_it_starts_elsewhere_is_fetched_again(make_client, fake_clock):
    resources = [{"id": i} for i in range(1, 4)]
    route = respx.get(USERS).mock(
        side_effect=[
            httpx.Response(200, json={"startIndex": 7, "totalResults": 3, "resources": [{"id": 9}]}),
            httpx.Response(200, json={"startIndex": 1, "totalResults": 3, "resources": resources}),
        ]
    )
    listing = Listing("users", "/pubapi/v2/users", "startIndex", 1, 10, parse_scim_page)
    async with make_client() as client:
        pages = [page async for page in Scanner(client, listing, 2).pages(Position(1))]
    assert [item["id"] for page in pages for item in page.items] == [1, 2, 3]
    assert route.call_count == 2


def test_pages_of_long_records_are_asked_for_a_few_records_at_a_time():
    from egnyte_async.pagination import PAGE_CHARS, _fitting_page_size

    assert _fitting_page_size(100, 100, PAGE_CHARS) == 100  # within the bound: unchanged
    assert _fitting_page_size(100, 100, 100 * 300_000) == PAGE_CHARS // 300_000  # notes of 300,000 characters
    assert _fitting_page_size(100, 100, 100 * 10 * PAGE_CHARS) == 2  # never below the overlap's two records
    assert _fitting_page_size(100, 0, 0) == 100


async def test_a_scan_of_long_records_continues_with_lighter_pages_and_loses_nothing():
    from egnyte_async.pagination import PAGE_CHARS

    long_text = "x" * (PAGE_CHARS // 10)  # ten records fill a page's worth of text
    ids = list(range(1, 61))
    asked: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        offset, count = int(request.url.params["offset"]), int(request.url.params["count"])
        asked.append(count)
        page = [{"id": i, "message": long_text} for i in ids[offset : offset + count]]
        return httpx.Response(200, json={"notes": page, "total_results": len(ids)})

    listing = Listing("notes", "/pubapi/v1/notes", "offset", 0, 50, parse_notes_page)
    settings = Settings(domain="acme", base_url="https://t.egnyte.com", api_token="t", requests_per_second=10_000)
    budget = RequestBudget(10**7, 24, QuotaWindow(NOW), NOW)
    client = EgnyteClient(settings, budget, transport=httpx.MockTransport(handle))
    async with client:
        pages = [page async for page in Scanner(client, listing, 4).pages(Position(0))]
    assert asked[0] == 50 and set(asked[1:]) == {10}
    assert sorted({item["id"] for page in pages for item in page.items}) == ids


def sync_share(listing: LiveListing, position: Position, calls: int = 40, page_size: int = 100, window: int = 4):
    """One sync's part of a scan, as the pipeline runs it: the pages handed out until the listing's end or until
    `calls` requests (the sync's share of the quota) are spent, and how many requests came before the first page
    was handed out (None: the share was spent first, nothing was saved)."""

    async def run():
        pages, first, before = [], None, listing.requests
        async with client_for(listing, calls) as client:
            try:
                async for page in Scanner(client, listing_spec(listing, page_size), window, log).pages(position):
                    first = listing.requests - before if first is None else first
                    pages.append(page)
            except QuotaExhaustedError:
                pass
        return pages, first

    log = RecordingLog()
    pages, first = asyncio.run(run())
    return pages, first, log


def syncs_until_done(listing: LiveListing, position: Position, most: int = 6):
    """Syncs of 40 calls each, every one resuming where the one before saved, until the scan ends: every page
    handed out, how many requests each sync made before its first page, and each sync's log."""
    handed, firsts, logs = [], [], []
    for _ in range(most):
        pages, first, log = sync_share(listing, position)
        handed.extend(pages)
        firsts.append(first)
        logs.append(log)
        if pages and pages[-1].last:
            return handed, firsts, logs
        position = pages[-1].after if pages else position
    raise AssertionError(f"the scan never ended; requests before the first page of each sync: {firsts}")


def stopped_at_3862() -> tuple[list, Position]:
    """A sync of 5,000 users that stopped (the quota) after 39 pages of 100: it resumes at record 3862."""
    pages = asyncio.run(scan(LiveListing(range(1, 5001)), 100, 4, stop_after=39))
    assert pages[-1].after == Position(3862, (3858, 3859, 3860, 3861, 3862))
    return pages, pages[-1].after


@pytest.mark.parametrize(
    "kept",
    [range(1, 1001), range(5, 5001, 5), range(4001, 5001)],
    ids=["the first 1000 kept", "every fifth kept", "the last 1000 kept"],
)
def test_a_tenant_that_shrank_below_the_saved_position_is_resumed_in_a_few_calls(kept):
    # 5,000 users, a scan saved at record 3862, then 4,000 users deleted: the page there is empty (1,000 left).
    # Walking back from 3862 page by page spent every sync's share before reaching the listing's end, nothing
    # was saved, and every sync said "resumes at record 3862" again.
    first_sync, position = stopped_at_3862()
    listing = LiveListing(kept)
    pages, firsts, _ = syncs_until_done(listing, position)
    assert firsts[0] is not None and firsts[0] <= 5, firsts  # the saved page, the last page, two more, the start
    assert len(firsts) == 1 and listing.requests <= 20, (firsts, listing.requests)  # 1,000 users: 11 pages
    assert set(kept) <= set(seen(first_sync)) | set(seen(pages))  # every user present throughout is synced


def test_a_scan_whose_saved_ids_were_all_deleted_restarts_from_its_first_record_with_a_warning():
    # The records read last before the saved position are gone: no page holds one of them, and the walk back in
    # search of them went on to the listing's first page, 40 pages, a whole sync's share, and again every sync.
    first_sync, position = stopped_at_3862()
    listing = LiveListing(set(range(1, 5001)) - set(position.tail))
    pages, firsts, logs = syncs_until_done(listing, position)
    assert all(first is not None and first <= 5 for first in firsts), firsts  # every sync saves progress
    assert len(firsts) == 2  # 4,995 users: the restarted scan takes two syncs of 40 calls
    assert set(listing.ids) <= set(seen(first_sync)) | set(seen(pages))
    warning = next(text for text in logs[0].texts("warning") if "first record" in text)
    assert "users" in warning and "3862" in warning


def test_a_saved_position_far_past_the_listings_end_is_resumed_in_a_few_calls():
    # An index of 10**12 (a state from another tenant, or damaged): stepping back page by page never ended.
    _, saved = stopped_at_3862()
    listing = LiveListing(range(1, 5001))
    pages, firsts, _ = syncs_until_done(listing, Position(10**12, saved.tail))
    assert all(first is not None and first <= 5 for first in firsts), firsts
    assert set(range(3858, 5001)) <= set(seen(pages))  # everything after the saved ids, at least


def test_a_saved_position_past_the_end_whose_ids_are_on_the_last_page_goes_on_from_there():
    # 5,000 users, saved at 3862; the 3,000 users after 1,000 and before the saved ids are deleted: the saved ids
    # are on the listing's last page now, and the scan goes on from there without reading the rest again.
    _, position = stopped_at_3862()
    kept = [*range(1, 1001), *range(3858, 3901)]
    listing = LiveListing(kept)
    pages = asyncio.run(scan(listing, 100, 4, start=position))
    assert listing.requests == 2  # the page at 3862 (empty), the last page
    assert set(range(3858, 3901)) <= set(seen(pages)) and pages[-1].last


@pytest.mark.parametrize("scim", [True, False], ids=["SCIM", "offsets"])
def test_an_understated_total_does_not_end_the_scan_early(scim):
    # The server said 120 and held 250: the page reaching the stated total was full, yet it ended the scan, 200
    # records synced and "done". A full page at or past the stated total is read on, one page at a time.
    listing = LiveListing(range(1, 251), scim=scim, stated_total=120)
    log = RecordingLog()
    pages = asyncio.run(scan(listing, 100, 4, log=log))
    assert sorted(set(seen(pages))) == list(range(1, 251))
    assert pages[-1].last and not any(page.last for page in pages[:-1])
    assert listing.requests == len(pages)  # beyond the stated total, nothing read ahead in vain
    warning = next(text for text in log.texts("warning") if "120" in text)
    assert warning.startswith("users:" if scim else "notes:")


def test_an_understated_total_is_read_on_one_page_at_a_time_to_the_real_end():
    listing = LiveListing(range(1, 1001), stated_total=30)
    pages = asyncio.run(scan(listing, 10, 8))
    assert sorted(set(seen(pages))) == list(range(1, 1001))
    assert listing.requests == len(pages)  # one page at a time: not one speculative page past the real end


@pytest.mark.parametrize(("size", "calls"), [(0, 1), (1, 1), (50, 1), (250, 3), (297, 3)])
def test_a_correct_total_costs_no_extra_call(size, calls):
    # The last page is short (or the listing empty): the scan ends with it, as before. (Only a last page that is
    # exactly full at the total costs one more call: it cannot be told from a full page of an understated total.)
    listing = LiveListing(range(1, size + 1))
    log = RecordingLog()
    pages = asyncio.run(scan(listing, 100, 4, log=log))
    assert sorted(set(seen(pages))) == list(range(1, size + 1))
    assert listing.requests == calls  # pages 99 apart, the last one short
    assert not log.texts("warning")


@pytest.mark.parametrize("scim", [True, False], ids=["SCIM", "offsets"])
def test_a_total_found_understated_is_not_trusted_to_end_a_short_page(scim):
    # The server caps pages at 7 records (8 asked) and says it holds none: the first page is short and past the
    # stated total, which is wrong; the page may be short by the cap, so the listing is read on.
    listing = LiveListing(range(1, 31), scim=scim, max_count=7, stated_total=0)
    pages = asyncio.run(scan(listing, 8, 4))
    assert sorted(set(seen(pages))) == list(range(1, 31))
    assert pages[-1].last
