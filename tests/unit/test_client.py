"""EgnyteClient against respx: every status and header path, with a fake clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import httpx
import pytest
import respx

from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.client import ClientOptions, EgnyteClient
from egnyte_async.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RequestFailedError,
    UnexpectedResponseError,
)

BASE = "https://acme.egnyte.com"
USERS = f"{BASE}/pubapi/v2/users"
TOKEN = f"{BASE}/puboauth/token"
NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


def budget(limit: int = 1000) -> RequestBudget:
    return RequestBudget(limit, 24, QuotaWindow(NOW), NOW)


def make_client(fake_clock, *, refresh: bool = False, retry_attempts: int = 3, limit: int = 1000) -> EgnyteClient:
    options = ClientOptions(
        base_url=BASE,
        api_token="static-token-1234",
        requests_per_second=1000,
        max_concurrent_requests=8,
        retry_attempts=retry_attempts,
        client_id="cid" if refresh else None,
        client_secret="csecret-5678" if refresh else None,
        refresh_token="rtoken-9012" if refresh else None,
    )
    return EgnyteClient(options, budget(limit), clock=fake_clock, sleep=fake_clock.sleep)


def identity(body):
    return body


async def get_users(client: EgnyteClient):
    return await client.get("/pubapi/v2/users", {"startIndex": 1}, parse=identity, what="users page")


def qps_throttle(retry_after: str = "3") -> httpx.Response:
    return httpx.Response(
        403,
        headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_QPS", "Retry-After": retry_after},
        text="<h1>Developer Over Qps</h1>",
    )


@respx.mock
async def test_success_sends_bearer_token_and_parses_json(fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(200, json={"resources": []}))
    async with make_client(fake_clock) as client:
        assert await get_users(client) == {"resources": []}
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer static-token-1234"
    assert request.url.params["startIndex"] == "1"


@respx.mock
@pytest.mark.parametrize("throttle", [qps_throttle("3"), httpx.Response(429, headers={"Retry-After": "3"})])
async def test_throttle_waits_retry_after_then_succeeds(fake_clock, throttle):
    respx.get(USERS).mock(side_effect=[throttle, httpx.Response(200, json={"ok": 1})])
    async with make_client(fake_clock) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.throttled == 1
        assert client.limiter.rate < client.limiter.target_rate
    assert 3.0 in fake_clock.sleeps


@respx.mock
async def test_throttle_pauses_every_request_not_just_one(fake_clock):
    calls: list[float] = []

    def answer(request):
        calls.append(fake_clock.now)
        if len(calls) == 1:
            return qps_throttle("5")
        return httpx.Response(200, json={})

    respx.get(USERS).mock(side_effect=answer)
    async with make_client(fake_clock) as client:
        first = asyncio.ensure_future(get_users(client))
        while not calls:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        await asyncio.gather(first, get_users(client))
    # every call after the throttle was sent once the 5 s pause had passed
    assert all(moment >= calls[0] + 5 for moment in calls[1:])


@respx.mock
async def test_daily_quota_answer_stops_with_reset_time(fake_clock):
    respx.get(USERS).mock(
        return_value=httpx.Response(
            403, headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_RATE", "Retry-After": "7200"}
        )
    )
    async with make_client(fake_clock) as client:
        with pytest.raises(QuotaExhaustedError) as caught:
            await get_users(client)
    assert caught.value.reset_after == 7200


@respx.mock
async def test_very_long_throttle_is_treated_as_a_stop_not_a_sleep(fake_clock):
    respx.get(USERS).mock(return_value=qps_throttle("3600"))
    async with make_client(fake_clock) as client:
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
    assert fake_clock.sleeps == []


@respx.mock
async def test_bare_403_is_a_permission_error_and_not_retried(fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(403, json={"errors": [{"msg": "Admin only"}]}))
    async with make_client(fake_clock) as client:
        with pytest.raises(PermissionDeniedError, match="Admin only"):
            await get_users(client)
    assert route.call_count == 1


@respx.mock
async def test_401_without_refresh_credentials_fails_clearly(fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(401, text="<h1>Developer Inactive</h1>"))
    async with make_client(fake_clock) as client:
        with pytest.raises(AuthenticationError, match="api_token") as caught:
            await get_users(client)
    assert route.call_count == 1
    assert "static-token-1234" not in str(caught.value)


@respx.mock
async def test_401_refreshes_once_and_retries_with_new_token(fake_clock):
    users = respx.get(USERS).mock(
        side_effect=[httpx.Response(401, text="<h1>Developer Inactive</h1>"), httpx.Response(200, json={"ok": 1})]
    )
    token = respx.post(TOKEN).mock(return_value=httpx.Response(200, json={"access_token": "fresh", "expires_in": 1}))
    async with make_client(fake_clock, refresh=True) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.refreshes == 1
    assert token.call_count == 1
    form = token.calls.last.request.content.decode()
    assert "grant_type=refresh_token" in form and "refresh_token=rtoken-9012" in form
    assert users.calls.last.request.headers["Authorization"] == "Bearer fresh"


@respx.mock
async def test_many_rejected_requests_share_one_refresh(fake_clock):
    def answer(request):
        if request.headers["Authorization"] == "Bearer fresh":
            return httpx.Response(200, json={})
        return httpx.Response(401)

    respx.get(USERS).mock(side_effect=answer)
    token = respx.post(TOKEN).mock(return_value=httpx.Response(200, json={"access_token": "fresh"}))
    async with make_client(fake_clock, refresh=True) as client:
        await asyncio.gather(*(get_users(client) for _ in range(6)))
    assert token.call_count == 1


@respx.mock
async def test_developer_inactive_403_also_triggers_refresh(fake_clock):
    respx.get(USERS).mock(
        side_effect=[
            httpx.Response(403, headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_INACTIVE"}),
            httpx.Response(200, json={}),
        ]
    )
    respx.post(TOKEN).mock(return_value=httpx.Response(200, json={"access_token": "fresh"}))
    async with make_client(fake_clock, refresh=True) as client:
        assert await get_users(client) == {}


@respx.mock
async def test_refresh_refused_is_an_authentication_error(fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(401))
    respx.post(TOKEN).mock(return_value=httpx.Response(400, json={"error": "invalid_grant"}))
    async with make_client(fake_clock, refresh=True) as client:
        with pytest.raises(AuthenticationError, match="refresh") as caught:
            await get_users(client)
    assert "rtoken-9012" not in str(caught.value) and "csecret-5678" not in str(caught.value)


@respx.mock
async def test_token_endpoint_throttle_409_is_waited_out(fake_clock):
    respx.get(USERS).mock(side_effect=[httpx.Response(401), httpx.Response(200, json={})])
    respx.post(TOKEN).mock(
        side_effect=[
            httpx.Response(409, headers={"Retry-After": "30"}),
            httpx.Response(200, json={"access_token": "t"}),
        ]
    )
    async with make_client(fake_clock, refresh=True) as client:
        assert await get_users(client) == {}
    assert 30.0 in fake_clock.sleeps


@respx.mock
async def test_server_errors_are_retried_up_to_retry_attempts(fake_clock):
    route = respx.get(USERS).mock(
        side_effect=[
            httpx.Response(500),
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            httpx.Response(503),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    async with make_client(fake_clock, retry_attempts=3) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.retries == 3
    assert route.call_count == 4


@respx.mock
async def test_retries_exhausted_names_the_request_and_last_error(fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(504, text="<html><h1>Gateway Timeout</h1></html>"))
    async with make_client(fake_clock, retry_attempts=2) as client:
        with pytest.raises(RequestFailedError, match=r"users page.*Gateway Timeout"):
            await get_users(client)
    assert route.call_count == 3


@respx.mock
@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("peer closed")],
)
async def test_transport_failures_are_retried(fake_clock, failure):
    respx.get(USERS).mock(side_effect=[failure, httpx.Response(200, json={"ok": 1})])
    async with make_client(fake_clock) as client:
        assert await get_users(client) == {"ok": 1}


@respx.mock
@pytest.mark.parametrize("body", [b'{"resources": [{"id": 1}', b"<html>oops</html>", b""])
async def test_unreadable_bodies_are_retried(fake_clock, body):
    respx.get(USERS).mock(side_effect=[httpx.Response(200, content=body), httpx.Response(200, json={"ok": 1})])
    async with make_client(fake_clock) as client:
        assert await get_users(client) == {"ok": 1}


@respx.mock
async def test_404_on_a_listing_says_to_check_the_domain(fake_clock):
    respx.get(USERS).mock(
        return_value=httpx.Response(404, json={"Errors": [{"description": "No such", "code": "404"}]})
    )
    async with make_client(fake_clock) as client:
        with pytest.raises(NotFoundError, match="domain"):
            await get_users(client)


@respx.mock
async def test_other_4xx_is_unexpected_with_its_status(fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(400, json={"inputErrors": [{"msg": "bad start_time"}]}))
    async with make_client(fake_clock) as client:
        with pytest.raises(UnexpectedResponseError, match="bad start_time") as caught:
            await get_users(client)
    assert caught.value.status == 400


@respx.mock
async def test_spent_budget_sends_nothing(fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(200, json={}))
    async with make_client(fake_clock, limit=2) as client:
        await get_users(client)
        await get_users(client)
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
    assert route.call_count == 2


@respx.mock
async def test_egnyte_quota_headers_tighten_the_budget(fake_clock):
    used = iter(range(998, 1001))

    def answer(request):
        headers = {"X-Accesstoken-Quota-Allotted": "1000", "X-Accesstoken-Quota-Current": str(next(used))}
        return httpx.Response(200, json={}, headers=headers)

    route = respx.get(USERS).mock(side_effect=answer)
    async with make_client(fake_clock) as client:
        for _ in range(3):  # Egnyte counts 998, 999, 1000 of 1000: the third call is the last one allowed
            await get_users(client)
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
    assert route.call_count == 3


@respx.mock
async def test_redirect_to_another_host_does_not_carry_the_token(fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(302, headers={"Location": "https://elsewhere.example/users"}))
    other = respx.get("https://elsewhere.example/users").mock(return_value=httpx.Response(200, json={}))
    async with make_client(fake_clock) as client:
        await get_users(client)
    assert "Authorization" not in other.calls.last.request.headers


@respx.mock
async def test_act_as_header_is_sent(fake_clock):
    route = respx.get(f"{BASE}/pubapi/v1/bookmarks").mock(return_value=httpx.Response(200, json={}))
    async with make_client(fake_clock) as client:
        await client.get("/pubapi/v1/bookmarks", parse=identity, what="bookmarks", act_as="jdoe")
    assert route.calls.last.request.headers["X-Egnyte-Act-As"] == "jdoe"
