"""EgnyteClient against respx: every status and header path, throttles, retries and the quota, on a fake clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from egnyte_async.errors import (
    NotFoundError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RedirectRefusedError,
    RequestFailedError,
    UnexpectedResponseError,
)
from tests.clients import BASE, USERS, SlowBody, get_users, identity, qps_throttle
from tests.logs import RecordingLog


@respx.mock
async def test_success_sends_bearer_token_and_parses_json(make_client, fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(200, json={"resources": []}))
    async with make_client() as client:
        assert await get_users(client) == {"resources": []}
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer static-token-1234"
    assert request.url.params["startIndex"] == "1"


@respx.mock
@pytest.mark.parametrize("throttle", [qps_throttle("3"), httpx.Response(429, headers={"Retry-After": "3"})])
async def test_throttle_waits_retry_after_then_succeeds(make_client, fake_clock, throttle):
    respx.get(USERS).mock(side_effect=[throttle, httpx.Response(200, json={"ok": 1})])
    async with make_client() as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.throttled == 1
        assert client.limiter.rate < client.limiter.target_rate
    assert 3.0 in fake_clock.sleeps


@respx.mock
async def test_throttle_pauses_every_request_not_just_one(make_client, fake_clock):
    calls: list[float] = []

    def answer(request):
        calls.append(fake_clock.now)
        if len(calls) == 1:
            return qps_throttle("5")
        return httpx.Response(200, json={})

    respx.get(USERS).mock(side_effect=answer)
    async with make_client() as client:
        first = asyncio.ensure_future(get_users(client))
        while not calls:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        await asyncio.gather(first, get_users(client))
    # every call after the throttle was sent once the 5 s pause had passed
    assert all(moment >= calls[0] + 5 for moment in calls[1:])


@respx.mock
async def test_daily_quota_answer_stops_with_reset_time(make_client, fake_clock):
    respx.get(USERS).mock(
        return_value=httpx.Response(
            403, headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_RATE", "Retry-After": "7200"}
        )
    )
    async with make_client() as client:
        with pytest.raises(QuotaExhaustedError) as caught:
            await get_users(client)
    assert caught.value.reset_after == 7200


@respx.mock
async def test_very_long_throttle_is_treated_as_a_stop_not_a_sleep(make_client, fake_clock):
    respx.get(USERS).mock(return_value=qps_throttle("3600"))
    async with make_client() as client:
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
    assert fake_clock.sleeps == []


@respx.mock
async def test_bare_403_is_a_permission_error_and_not_retried(make_client, fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(403, json={"errors": [{"msg": "Admin only"}]}))
    async with make_client() as client:
        with pytest.raises(PermissionDeniedError, match="Admin only"):
            await get_users(client)
    assert route.call_count == 1


@respx.mock
async def test_server_errors_are_retried_up_to_retry_attempts(make_client, fake_clock):
    route = respx.get(USERS).mock(
        side_effect=[
            httpx.Response(500),
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            httpx.Response(503),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    async with make_client(retry_attempts=3) as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.retries == 3
    assert route.call_count == 4


@respx.mock
async def test_retries_exhausted_names_the_request_and_last_error(make_client, fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(504, text="<html><h1>Gateway Timeout</h1></html>"))
    async with make_client(retry_attempts=2) as client:
        with pytest.raises(RequestFailedError, match=r"users page.*Gateway Timeout"):
            await get_users(client)
    assert route.call_count == 3


@respx.mock
@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("peer closed")],
)
async def test_transport_failures_are_retried(make_client, fake_clock, failure):
    respx.get(USERS).mock(side_effect=[failure, httpx.Response(200, json={"ok": 1})])
    async with make_client() as client:
        assert await get_users(client) == {"ok": 1}


@respx.mock
@pytest.mark.parametrize("body", [b'{"resources": [{"id": 1}', b"<html>oops</html>", b""])
async def test_unreadable_bodies_are_retried(make_client, fake_clock, body):
    respx.get(USERS).mock(side_effect=[httpx.Response(200, content=body), httpx.Response(200, json={"ok": 1})])
    async with make_client() as client:
        assert await get_users(client) == {"ok": 1}


@respx.mock
async def test_404_on_a_listing_says_to_check_the_domain(make_client, fake_clock):
    respx.get(USERS).mock(
        return_value=httpx.Response(404, json={"Errors": [{"description": "No such", "code": "404"}]})
    )
    async with make_client() as client:
        with pytest.raises(NotFoundError, match="domain"):
            await get_users(client)


@respx.mock
async def test_other_4xx_is_unexpected_with_its_status(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(400, json={"inputErrors": [{"msg": "bad start_time"}]}))
    async with make_client() as client:
        with pytest.raises(UnexpectedResponseError, match="bad start_time") as caught:
            await get_users(client)
    assert caught.value.status == 400


@respx.mock
async def test_spent_budget_sends_nothing(make_client, fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(200, json={}))
    async with make_client(limit=2) as client:
        await get_users(client)
        await get_users(client)
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
    assert route.call_count == 2


@respx.mock
async def test_egnyte_quota_headers_tighten_the_budget(make_client, fake_clock):
    used = iter(range(998, 1001))

    def answer(request):
        headers = {"X-Accesstoken-Quota-Allotted": "1000", "X-Accesstoken-Quota-Current": str(next(used))}
        return httpx.Response(200, json={}, headers=headers)

    route = respx.get(USERS).mock(side_effect=answer)
    async with make_client() as client:
        for _ in range(3):  # Egnyte counts 998, 999, 1000 of 1000: the third call is the last one allowed
            await get_users(client)
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
    assert route.call_count == 3


@respx.mock
@pytest.mark.parametrize(
    "target",
    ["https://elsewhere.example/users", "http://acme.egnyte.com/pubapi/v2/users", "https://acme.egnyte.com:8443/x"],
)
async def test_a_redirect_to_another_origin_is_never_followed_and_names_its_host(make_client, fake_clock, target):
    route = respx.get(USERS).mock(return_value=httpx.Response(302, headers={"Location": target}))
    other = respx.get(target).mock(return_value=httpx.Response(200, json={"stolen": True}))
    async with make_client(retry_attempts=3) as client:
        with pytest.raises(RedirectRefusedError) as caught:
            await get_users(client)
    message = str(caught.value)
    assert httpx.URL(target).host in message and "check domain and base_url" in message.lower()
    assert route.call_count == 1 and not other.called  # fatal at once: not retried, never followed


@respx.mock
async def test_a_same_origin_redirect_of_a_get_is_followed_with_the_token(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(301, headers={"Location": "/pubapi/v2/users/?startIndex=1"}))
    moved = respx.get(f"{USERS}/").mock(return_value=httpx.Response(200, json={"ok": 1}))
    async with make_client() as client:
        assert await get_users(client) == {"ok": 1}
    assert moved.calls.last.request.headers["Authorization"] == "Bearer static-token-1234"


@respx.mock
async def test_a_redirect_loop_fails_with_a_clear_sentence(make_client, fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(302, headers={"Location": "/pubapi/v2/users"}))
    async with make_client() as client:
        with pytest.raises(RedirectRefusedError, match=r"(?i)redirect.*loop.*check domain and base_url"):
            await get_users(client)
    assert route.call_count <= 10


@respx.mock
async def test_act_as_header_is_sent(make_client, fake_clock):
    route = respx.get(f"{BASE}/pubapi/v1/bookmarks").mock(return_value=httpx.Response(200, json={}))
    async with make_client() as client:
        await client.get("/pubapi/v1/bookmarks", parse=identity, what="bookmarks", act_as="jdoe")
    assert route.calls.last.request.headers["X-Egnyte-Act-As"] == "jdoe"


@respx.mock
async def test_a_retry_after_beyond_the_time_budget_is_not_waited_for(make_client, fake_clock):
    route = respx.get(USERS).mock(return_value=httpx.Response(503, headers={"Retry-After": "3600"}))
    async with make_client(retry_attempts=5) as client:
        with pytest.raises(RequestFailedError, match="failed after 1 attempt"):
            await get_users(client)
    assert route.call_count == 1 and fake_clock.sleeps == []


@respx.mock
async def test_backoff_never_sleeps_past_the_time_budget(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(502))
    async with make_client(retry_attempts=10) as client:
        client._time_budget_s = 20.0
        with pytest.raises(RequestFailedError):
            await get_users(client)
    assert sum(fake_clock.sleeps) <= 20.0 + 1e-6


@respx.mock
async def test_over_rate_spends_the_budget_so_no_other_request_is_sent(make_client, fake_clock):
    route = respx.get(USERS).mock(
        return_value=httpx.Response(
            403, headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_RATE", "Retry-After": "600"}
        )
    )
    async with make_client() as client:
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
        with pytest.raises(QuotaExhaustedError):
            await get_users(client)
    assert route.call_count == 1


@respx.mock
async def test_request_timeout_is_a_deadline_for_the_whole_answer_not_for_each_read(make_client, fake_clock):
    """A server that sends its headers, then drips its body a byte at a time, each byte well within any read
    timeout: the attempt still ends at request_timeout_seconds (real time: tiny here), and is retried."""
    route = respx.get(USERS).mock(side_effect=lambda request: httpx.Response(200, stream=SlowBody(b"{", drip=True)))
    async with make_client(retry_attempts=1, request_timeout_seconds=0.05) as client:
        with pytest.raises(RequestFailedError, match=r"no answer within 0.05 s"):
            await asyncio.wait_for(get_users(client), timeout=10)  # a hang fails instead of blocking the suite
    assert route.call_count == 2


@respx.mock
async def test_a_body_that_cannot_be_decoded_is_retried(make_client, fake_clock):
    broken = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=SlowBody(b"not gzip at all"))
    respx.get(USERS).mock(side_effect=[broken, httpx.Response(200, json={"ok": 1})])
    async with make_client() as client:
        assert await get_users(client) == {"ok": 1}
        assert client.stats.retries == 1


@respx.mock
async def test_a_body_that_never_decodes_ends_in_a_sentence(make_client, fake_clock):
    respx.get(USERS).mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=SlowBody(b"not gzip at all")
        )
    )
    async with make_client(retry_attempts=1) as client:
        with pytest.raises(
            RequestFailedError, match=r"users page: .*failed after 2 attempt\(s\).*could not be decoded"
        ):
            await get_users(client)


@respx.mock
@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("[Errno -2] Name or service not known"), httpx.ConnectError("[Errno 111] refused")]
)
async def test_a_host_that_cannot_be_reached_is_named_once_with_what_to_check(make_client, fake_clock, failure):
    respx.get(USERS).mock(side_effect=failure)
    async with make_client(retry_attempts=3) as client:
        with pytest.raises(RequestFailedError) as caught:
            await get_users(client)
    message = str(caught.value)
    assert message.count("users page") == 1, message
    assert "acme.egnyte.com" in message and "failed after 4 attempt(s)" in message
    assert "check domain and base_url (and the network)" in message.lower()
    assert "Egnyte may be having trouble" not in message


@respx.mock
async def test_retries_are_logged_at_info_with_debug_logging_and_say_the_request_once(make_client, fake_clock):
    respx.get(USERS).mock(side_effect=[httpx.Response(503), qps_throttle("2"), httpx.Response(200, json={})])
    log = RecordingLog()
    async with make_client(log=log, enable_debug_logging=True) as client:
        await get_users(client)
    retries = [text for text in log.texts("info") if text.startswith("retrying")]
    assert len(retries) == 2, log.lines
    assert all(text.count("users page") == 1 for text in retries), retries
    assert not [text for text in log.texts("debug") if "retrying" in text]


@respx.mock
async def test_the_request_log_line_has_no_stray_question_mark(make_client, fake_clock):
    respx.get(f"{BASE}/pubapi/v1/userinfo").mock(return_value=httpx.Response(200, json={}))
    respx.get(USERS).mock(return_value=httpx.Response(200, json={}))
    log = RecordingLog()
    async with make_client(log=log, enable_debug_logging=True) as client:
        await client.get("/pubapi/v1/userinfo", parse=identity, what="userinfo")
        await get_users(client)
    lines = [text for text in log.texts("info") if text.startswith("GET ")]
    assert lines[0].startswith("GET /pubapi/v1/userinfo -> 200"), lines
    assert lines[1].startswith("GET /pubapi/v2/users?startIndex=1 -> 200"), lines


@respx.mock
async def test_a_throttle_asking_for_too_long_says_it_was_the_servers_throttle(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(429, headers={"Retry-After": "99999"}))
    async with make_client() as client:
        with pytest.raises(QuotaExhaustedError) as caught:
            await get_users(client)
    assert caught.value.throttle_wait_s == 99999
    assert "99999 s" in str(caught.value)


async def test_a_body_does_not_outlive_its_decoding(fake_clock):
    """httpx's answer sits in a reference cycle with its stream: a body kept there would stay in memory until the
    next garbage collection, and pages of long notes weigh megabytes each."""
    import gc

    from egnyte_async.client import EgnyteClient
    from egnyte_async.settings import Settings
    from tests.clients import budget

    page = b'{"resources": [{"id": 1, "text": "' + b"x" * 2_000_000 + b'"}]}'

    async def body():
        yield page

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body()))
    settings = Settings(domain="acme", base_url=BASE, api_token="t", requests_per_second=1000)
    gc.disable()
    try:
        async with EgnyteClient(settings, budget(), transport=transport, clock=fake_clock) as client:
            assert len((await get_users(client))["resources"][0]["text"]) == 2_000_000
            kept = [
                answer
                for answer in gc.get_objects()
                if isinstance(answer, httpx.Response) and len(getattr(answer, "_content", b"")) >= 2_000_000
            ]
        assert kept == []
    finally:
        gc.enable()


@respx.mock
async def test_a_header_value_that_is_not_ascii_does_not_break_the_answer(make_client, fake_clock):
    """The answer is rebuilt from the streamed one: its headers are copied as the bytes that came, since a value
    decoded and encoded again as ASCII does not survive."""
    respx.get(USERS).mock(
        return_value=httpx.Response(200, headers=[(b"Server", "caf\u00e9".encode())], content=b'{"ok": 1}')
    )
    async with make_client() as client:
        assert await get_users(client) == {"ok": 1}


@respx.mock
@pytest.mark.parametrize("location", ["javascript:alert(1)", "mailto:admin"])
async def test_a_redirect_whose_location_is_not_a_url_is_refused(make_client, fake_clock, location):
    """httpx works out a redirect's next request even when it follows none: on such a Location it raises
    httpx.InvalidURL, which is no httpx.HTTPError."""
    route = respx.get(USERS).mock(return_value=httpx.Response(302, headers={"Location": location}))
    async with make_client() as client:
        with pytest.raises(RedirectRefusedError, match="Location is not a URL"):
            await get_users(client)
    assert route.call_count == 1


@respx.mock
@pytest.mark.parametrize(
    ("retry_after", "date", "wait"),
    [
        ("Wed, 21 Oct 2015 07:28:05 -0000", "Wed, 21 Oct 2015 07:28:00 GMT", 5.0),  # -0000: GMT, as every HTTP date
        ("Wed, 21 Oct 2015 07:28:05", "Wed, 21 Oct 2015 07:28:00 GMT", 5.0),  # no zone at all
        ("Wed, 21 Oct 2015 07:28:05 GMT", "Wed, 21 Oct 2015 07:28:00 -0000", 5.0),  # the Date header's zone
        ("Wed, 99999999999999999999 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 1.0),  # overflows
    ],
)
async def test_a_retry_after_date_without_a_zone_is_read_as_gmt(make_client, fake_clock, retry_after, date, wait):
    """`parsedate_to_datetime` leaves such a date naive, and a naive date cannot be compared with an aware one; an
    unreadable one means the default wait."""
    throttle = httpx.Response(429, headers={"Retry-After": retry_after, "Date": date})
    respx.get(USERS).mock(side_effect=[throttle, httpx.Response(200, json={"ok": 1})])
    async with make_client() as client:
        assert await get_users(client) == {"ok": 1}
    assert wait in fake_clock.sleeps


@respx.mock
async def test_an_error_body_nested_too_deep_to_decode_is_quoted_as_text(make_client, fake_clock):
    """The JSON decoder raises RecursionError, not ValueError, on a body nested deeper than it recurses."""
    route = respx.get(USERS).mock(return_value=httpx.Response(500, content=b"[" * 100_000))
    async with make_client(retry_attempts=1) as client:
        with pytest.raises(RequestFailedError, match=r"answered 500 \(\[\[\["):
            await get_users(client)
    assert route.call_count == 2


STATED = {
    "X-Accesstoken-Qps-Allotted": "6",
    "X-Accesstoken-Quota-Allotted": "518400",
    "X-Accesstoken-Quota-Current": "69",
    "X-Quota-Reset": "Sunday, November 29, 2026 12:00:00 AM GMT",
}


@respx.mock
async def test_auto_limits_follow_what_egnyte_states(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(200, json={}, headers=STATED))
    log = RecordingLog()
    async with make_client(requests_per_second=None, daily_request_limit=None, log=log) as client:
        assert (client.limiter.target_rate, client.budget.daily_limit) == (2.0, 1000)  # Egnyte's defaults at first
        await get_users(client)
        assert client.limiter.target_rate == client.limiter.rate == 6.0
        assert client.budget.daily_limit == 518_400 and client.budget.allowed == 518_400
        assert client.budget.window.allotted == 518_400
        assert client.budget.resets_at().isoformat() == "2026-11-29T00:00:00+00:00"
    assert log.lines == []


@respx.mock
async def test_configured_limits_are_caps_said_once_when_egnyte_allows_more(make_client, fake_clock):
    respx.get(USERS).mock(return_value=httpx.Response(200, json={}, headers=STATED))
    log = RecordingLog()
    async with make_client(requests_per_second=4.0, daily_request_limit=2000, limit=2000, log=log) as client:
        for _ in range(3):
            await get_users(client)
        assert client.limiter.target_rate == 4.0 and client.budget.daily_limit == 2000
    assert log.texts("info") == [
        "Egnyte allows this token 6 calls a second; the connector keeps to requests_per_second=4 as configured "
        "(set it to auto to follow Egnyte)",
        "Egnyte allows this token 518,400 calls a day; the connector keeps to daily_request_limit=2000 as "
        "configured (set it to auto to follow Egnyte)",
    ]


@respx.mock
async def test_configured_limits_above_egnytes_are_lowered_to_them(make_client, fake_clock):
    headers = {"X-Accesstoken-Qps-Allotted": "1", "X-Accesstoken-Quota-Allotted": "40"}
    respx.get(USERS).mock(return_value=httpx.Response(200, json={}, headers=headers))
    async with make_client(requests_per_second=10.0, daily_request_limit=5000, limit=5000) as client:
        await get_users(client)
        assert client.limiter.target_rate == 1.0 and client.budget.daily_limit == 40


@respx.mock
async def test_garbled_limit_headers_change_nothing(make_client, fake_clock):
    headers = {
        "X-Accesstoken-Qps-Allotted": "fast",
        "X-Accesstoken-Quota-Allotted": "-1",
        "X-Accesstoken-Quota-Current": "many",
        "X-Quota-Reset": "soon",
    }
    respx.get(USERS).mock(return_value=httpx.Response(200, json={}, headers=headers))
    async with make_client(requests_per_second=None, daily_request_limit=None) as client:
        ends = client.budget.resets_at()
        await get_users(client)
        assert (client.limiter.target_rate, client.budget.daily_limit) == (2.0, 1000)
        assert client.budget.resets_at() == ends and client.budget.remaining == 999
