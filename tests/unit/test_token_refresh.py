"""The access token and its refresh: one shared refresh, its failures, the token endpoint's throttle."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from egnyte_async.errors import AuthenticationError, RedirectRefusedError, RequestFailedError
from tests.clients import CLIENT_SECRET, REFRESH_TOKEN, STATIC_TOKEN, TOKEN, USERS, get_users


@respx.mock
async def test_401_without_refresh_credentials_fails_clearly(make_client, fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(401, text="<h1>Developer Inactive</h1>"))
    async with make_client() as client:
        with pytest.raises(AuthenticationError, match="api_token") as caught:
            await get_users(client)
    assert route.call_count == 1
    assert STATIC_TOKEN not in str(caught.value)


@respx.mock
async def test_401_refreshes_once_and_retries_with_new_token(make_client, fake_clock):
    users = respx.get(USERS).mock(
        side_effect=[httpx.Response(401, text="<h1>Developer Inactive</h1>"), httpx.Response(200, json={"ok": 1})]
    )
    token = respx.post(TOKEN).mock(return_value=httpx.Response(200, json={"access_token": "fresh", "expires_in": 1}))
    async with make_client(refresh=True) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.refreshes == 1
    assert token.call_count == 1
    form = token.calls.last.request.content.decode()
    assert "grant_type=refresh_token" in form and "refresh_token=rtoken-9012" in form
    assert users.calls.last.request.headers["Authorization"] == "Bearer fresh"


@respx.mock
async def test_many_rejected_requests_share_one_refresh(make_client, fake_clock):
    def answer(request):
        if request.headers["Authorization"] == "Bearer fresh":
            return httpx.Response(200, json={})
        return httpx.Response(401)

    respx.get(USERS).mock(side_effect=answer)
    token = respx.post(TOKEN).mock(return_value=httpx.Response(200, json={"access_token": "fresh"}))
    async with make_client(refresh=True) as client:
        await asyncio.gather(*(get_users(client) for _ in range(6)))
    assert token.call_count == 1


@respx.mock
async def test_developer_inactive_403_also_triggers_refresh(make_client, fake_clock):
    respx.get(USERS).mock(
        side_effect=[
            httpx.Response(403, headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_INACTIVE"}),
            httpx.Response(200, json={}),
        ]
    )
    respx.post(TOKEN).mock(return_value=httpx.Response(200, json={"access_token": "fresh"}))
    async with make_client(refresh=True) as client:
        assert await get_users(client) == {}


@respx.mock
async def test_refresh_refused_is_an_authentication_error(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(401))
    respx.post(TOKEN).mock(return_value=httpx.Response(400, json={"error": "invalid_grant"}))
    async with make_client(refresh=True) as client:
        with pytest.raises(AuthenticationError, match="refresh") as caught:
            await get_users(client)
    assert REFRESH_TOKEN not in str(caught.value) and CLIENT_SECRET not in str(caught.value)


@respx.mock
async def test_token_endpoint_throttle_409_is_waited_out(make_client, fake_clock):
    respx.get(USERS).mock(side_effect=[httpx.Response(401), httpx.Response(200, json={})])
    respx.post(TOKEN).mock(
        side_effect=[
            httpx.Response(409, headers={"Retry-After": "30"}),
            httpx.Response(200, json={"access_token": "t"}),
        ]
    )
    async with make_client(refresh=True) as client:
        assert await get_users(client) == {}
    assert 30.0 in fake_clock.sleeps


@respx.mock
@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503, text="<h1>busy</h1>"), httpx.ConnectError("refused"), httpx.Response(200, text="<html>")],
)
async def test_a_token_endpoint_failing_like_a_server_is_retried_with_the_request(make_client, fake_clock, failure):
    def answer(request):
        ok = request.headers["Authorization"] == "Bearer fresh"
        return httpx.Response(200, json={"ok": 1}) if ok else httpx.Response(401)

    respx.get(USERS).mock(side_effect=answer)
    token = respx.post(TOKEN).mock(side_effect=[failure, httpx.Response(200, json={"access_token": "fresh"})])
    async with make_client(refresh=True) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.retries == 1 and client.stats.refreshes == 1
    assert token.call_count == 2


@respx.mock
async def test_a_token_that_expires_again_right_after_its_refresh_is_refreshed_again(make_client, fake_clock):
    tokens = iter(["first", "second"])
    respx.post(TOKEN).mock(side_effect=lambda request: httpx.Response(200, json={"access_token": next(tokens)}))

    def answer(request):
        ok = request.headers["Authorization"] == "Bearer second"
        return httpx.Response(200, json={"ok": 1}) if ok else httpx.Response(401)

    respx.get(USERS).mock(side_effect=answer)
    async with make_client(refresh=True) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.refreshes == 2


@respx.mock
async def test_a_refresh_that_never_yields_a_usable_token_ends_after_retry_attempts(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(401, text="<h1>Developer Inactive</h1>"))
    counter = iter(range(100))
    token = respx.post(TOKEN).mock(
        side_effect=lambda request: httpx.Response(200, json={"access_token": f"t{next(counter)}"})
    )
    async with make_client(refresh=True, retry_attempts=2) as client:
        with pytest.raises(RequestFailedError, match="rejected the access token again right after refreshing it"):
            await get_users(client)
    assert token.call_count == 3  # one refresh per attempt, never a loop


@respx.mock
@pytest.mark.parametrize("location", ["https://collector.example/token", "/puboauth/token/v2"])
async def test_the_token_endpoint_follows_no_redirect_at_all(make_client, fake_clock, location):
    respx.get(USERS).mock(return_value=httpx.Response(401))
    token = respx.post(TOKEN).mock(return_value=httpx.Response(307, headers={"Location": location}))
    elsewhere = respx.post(httpx.URL(TOKEN).join(location)).mock(
        return_value=httpx.Response(200, json={"access_token": "stolen"})
    )
    async with make_client(refresh=True) as client:
        with pytest.raises(RedirectRefusedError) as caught:
            await get_users(client)
    assert token.call_count == 1 and not elsewhere.called  # the credentials went nowhere else
    message = str(caught.value)
    assert httpx.URL(TOKEN).join(location).host in message and "check domain and base_url" in message.lower()
    assert REFRESH_TOKEN not in message and CLIENT_SECRET not in message


@respx.mock
async def test_a_token_endpoint_redirect_whose_location_is_not_a_url_is_refused(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(401))
    token = respx.post(TOKEN).mock(return_value=httpx.Response(302, headers={"Location": "javascript:alert(1)"}))
    async with make_client(refresh=True) as client:
        with pytest.raises(RedirectRefusedError, match="Location is not a URL") as caught:
            await get_users(client)
    assert token.call_count == 1
    assert REFRESH_TOKEN not in str(caught.value) and CLIENT_SECRET not in str(caught.value)


@respx.mock
@pytest.mark.parametrize("token", ["fresh\nline", "fresh\r\nX-Evil: 1", "nul\x00", "with space", "caf\u00e9"])
async def test_an_access_token_no_header_can_carry_is_refused_and_never_sent(make_client, fake_clock, token):
    """On the wire, h11 refuses a header value with a line break, raising an error that quotes the value: the
    Authorization header, token and all, would have ended up in the error message."""
    users = respx.get(USERS).mock(return_value=httpx.Response(401))
    respx.post(TOKEN).mock(return_value=httpx.Response(200, json={"access_token": token}))
    async with make_client(refresh=True) as client:
        with pytest.raises(AuthenticationError, match="usable access_token") as caught:
            await get_users(client)
    assert users.call_count == 1  # the request that needed a new token, sent with the static one
    assert token not in str(caught.value) and repr(token)[1:-1] not in str(caught.value)
