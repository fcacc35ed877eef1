"""The fixes behind the fault, quota, resume and bad-data tests, one by one, at the unit level."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
import respx

from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.client import ClientOptions, EgnyteClient
from egnyte_async.errors import InvalidBodyError, QuotaExhaustedError, RequestFailedError
from egnyte_async.pagination import Listing, Position, Scanner, parse_scim_page, record_key
from egnyte_async.state import SyncState

BASE = "https://acme.egnyte.com"
USERS = f"{BASE}/pubapi/v2/users"
TOKEN = f"{BASE}/puboauth/token"
NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


def make_client(fake_clock, *, refresh: bool = False, retry_attempts: int = 3, limit: int = 1000) -> EgnyteClient:
    options = ClientOptions(
        base_url=BASE,
        api_token="static-token",
        requests_per_second=1000,
        retry_attempts=retry_attempts,
        client_id="cid" if refresh else None,
        client_secret="secret" if refresh else None,
        refresh_token="refresh" if refresh else None,
    )
    budget = RequestBudget(limit, 24, QuotaWindow(NOW), NOW)
    return EgnyteClient(options, budget, clock=fake_clock, sleep=fake_clock.sleep)


async def get_users(client: EgnyteClient, parse=lambda body: body):
    return await client.get("/pubapi/v2/users", {"startIndex": 1}, parse=parse, what="users page")


# ---- the token ----------------------------------------------------------------------------------------------------
@respx.mock
@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503, text="<h1>busy</h1>"), httpx.ConnectError("refused"), httpx.Response(200, text="<html>")],
)
async def test_a_token_endpoint_failing_like_a_server_is_retried_with_the_request(fake_clock, failure):
    def answer(request):
        ok = request.headers["Authorization"] == "Bearer fresh"
        return httpx.Response(200, json={"ok": 1}) if ok else httpx.Response(401)

    respx.get(USERS).mock(side_effect=answer)
    token = respx.post(TOKEN).mock(side_effect=[failure, httpx.Response(200, json={"access_token": "fresh"})])
    async with make_client(fake_clock, refresh=True) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.retries == 1 and client.stats.refreshes == 1
    assert token.call_count == 2


@respx.mock
async def test_a_token_that_expires_again_right_after_its_refresh_is_refreshed_again(fake_clock):
    tokens = iter(["first", "second"])
    respx.post(TOKEN).mock(side_effect=lambda request: httpx.Response(200, json={"access_token": next(tokens)}))

    def answer(request):
        ok = request.headers["Authorization"] == "Bearer second"
        return httpx.Response(200, json={"ok": 1}) if ok else httpx.Response(401)

    respx.get(USERS).mock(side_effect=answer)
    async with make_client(fake_clock, refresh=True) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.refreshes == 2


@respx.mock
async def test_a_refresh_that_never_yields_a_usable_token_ends_after_retry_attempts(fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(401, text="<h1>Developer Inactive</h1>"))
    counter = iter(range(100))
    token = respx.post(TOKEN).mock(
        side_effect=lambda request: httpx.Response(200, json={"access_token": f"t{next(counter)}"})
    )
    async with make_client(fake_clock, refresh=True, retry_attempts=2) as client:
        with pytest.raises(RequestFailedError, match="rejected the access token again right after refreshing it"):
            await get_users(client)
    assert token.call_count == 3  # one refresh per attempt, never a loop


# ---- retries within the time budget ----------------------------------------------------------------------------
@respx.mock
async def test_a_retry_after_beyond_the_time_budget_is_not_waited_for(fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(503, headers={"Retry-After": "3600"}))
    async with make_client(fake_clock, retry_attempts=5) as client:
        with pytest.raises(RequestFailedError, match="failed after 1 attempt"):
            await get_users(client)
    assert route.call_count == 1 and fake_clock.sleeps == []


@respx.mock
async def test_backoff_never_sleeps_past_the_time_budget(fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(502))
    async with make_client(fake_clock, retry_attempts=10) as client:
        client._time_budget_s = 20.0
        with pytest.raises(RequestFailedError):
            await get_users(client)
    assert sum(fake_clock.sleeps) <= 20.0 + 1e-6


# ---- the quota -----------------------------------------------------------------------------------------------------
@respx.mock
async def test_over_rate_spends_the_budget_so_no_other_request_is_sent(fake_clock):
    route = respx.get(USERS).mock(
        return_value=httpx.Response(
            403, headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_RATE", "Retry-After": "600"}
        )
    )
    async with make_client(fake_clock) as client:
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
    assert route.call_count == 1


def test_a_late_answer_never_hands_back_calls_already_spent():
    budget = RequestBudget(1000, 24, QuotaWindow(NOW), NOW)
    budget.observe_server_quota(allotted=100, current=90)  # 10 left
    for _ in range(4):
        budget.take()
    budget.observe_server_quota(allotted=100, current=91)  # an answer admitted before the last three calls
    assert budget.remaining == 6


# ---- rounds ----------------------------------------------------------------------------------------------------
def test_streams_done_in_the_round_wait_until_every_stream_is_done():
    state = SyncState.load({"round_done": ["users", "notes", "unknown"]})
    enabled = ("users", "groups", "notes", "bookmarks")
    assert state.streams_to_sync(enabled) == ("groups", "bookmarks")
    state.finish("groups")
    state.finish("bookmarks")
    assert state.streams_to_sync(enabled) == enabled  # all done: a new round, and the record starts afresh
    assert state.to_dict({})["round_done"] == []
    assert SyncState.load({"round_done": "users"}).streams_to_sync(enabled) == enabled


# ---- pages and ids ---------------------------------------------------------------------------------------------
def test_record_keys_of_every_shape_can_be_compared():
    assert record_key({"id": 5}) == 5 and record_key({"id": "a"}) == "a"
    assert record_key({"id": [1, 2]}) == record_key({"id": [1, 2]}) != record_key({"id": [2, 1]})
    assert record_key({"id": {"v": 1}}) == record_key({"id": {"v": 1}})
    without = {"name": "x"}
    assert record_key(without) == record_key(dict(without)) != record_key({"name": "y"})
    assert record_key("garbage") == record_key("garbage")
    assert len({record_key(item) for item in ({"id": [1]}, {"id": {"a": 1}}, "x", None, {"id": None})}) == 5


@respx.mock
async def test_a_page_whose_envelope_says_it_starts_elsewhere_is_fetched_again(fake_clock):
    resources = [{"id": i} for i in range(1, 4)]
    route = respx.get(USERS).mock(
        side_effect=[
            httpx.Response(200, json={"startIndex": 7, "totalResults": 3, "resources": [{"id": 9}]}),
            httpx.Response(200, json={"startIndex": 1, "totalResults": 3, "resources": resources}),
        ]
    )
    listing = Listing("users", "/pubapi/v2/users", "startIndex", 1, 10, parse_scim_page)
    async with make_client(fake_clock) as client:
        pages = [page async for page in Scanner(client, listing, 2).pages(Position(1))]
    assert [item["id"] for page in pages for item in page.items] == [1, 2, 3]
    assert route.call_count == 2


def test_the_envelope_check_needs_the_envelope_to_say_where_it_starts():
    assert parse_scim_page({"resources": []}).index is None
    assert parse_scim_page({"startIndex": 3, "resources": []}).index == 3
    with pytest.raises(InvalidBodyError):
        parse_scim_page({"resources": {"not": "a list"}})
    assert parse_scim_page({"resources": ["odd", {"id": 1}]}).items == ["odd", {"id": 1}]
