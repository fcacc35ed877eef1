"""EgnyteClient.get against a server that answers at random: the client's contract holds whatever comes back.

Each example scripts a server (an `httpx.MockTransport`): for every GET and every token request in turn, a status
with random headers and body, a transport failure, or an answer that never ends; once the script runs out, the
server keeps giving one last answer (a success, a server error, a throttle or a dropped connection). Whatever it
does, `get`
- returns what `parse` made of a 200 it was sent, or raises an `EgnyteError` that is not a `RetryableError` (those
  are retried, then reported as `RequestFailedError`): never a bare httpx, Unicode, Key... error;
- never hangs (each example runs under `asyncio.wait_for`);
- never shows a secret (the static token, client_secret, the refresh tokens, an access token the token endpoint
  handed out) in the error, the errors it was raised from, or a log line;
- never sends a request to another origin, nor a token to the token endpoint, nor a token it was not given;
- sends a bounded number of requests, spends no call beyond the budget, and waits a bounded time.

Waits are on a fake clock, so backoff and Retry-After cost no real time. The request deadline (anyio.fail_after) is
real time: the rare answer that never ends comes with a 0.05 s `request_timeout_seconds`.

The server checks every request's headers as h11 does on the wire (a header value with a line break is refused
there with a `LocalProtocolError` quoting the value), so what a MockTransport would let through does not pass here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import h11
import httpx
import orjson
from h11._headers import normalize_and_validate
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from egnyte_async.auth import TOKEN_PATH, TOKEN_THROTTLE_MAX_WAIT_S, TOKEN_THROTTLE_RETRIES
from egnyte_async.client import LONGEST_THROTTLE_WAIT_S, MAX_REDIRECTS, MAX_THROTTLE_WAITS, EgnyteClient
from egnyte_async.errors import EgnyteError, InvalidBodyError, RetryableError
from egnyte_async.settings import Settings
from tests.clients import BASE, CLIENT_SECRET, REFRESH_TOKEN, STATIC_TOKEN, budget
from tests.conftest import FakeClock
from tests.logs import RecordingLog

HOST = "acme.egnyte.com"
USERS_PATH = "/pubapi/v2/users"
#: No example may take this long in real time; the slowest ones take a fraction of a second.
EXAMPLE_TIMEOUT_S = 5.0
#: The request deadline of examples whose server may never finish an answer.
SHORT_TIMEOUT_S = 0.05

MEGABYTE = "x" * 1_000_000
ENVELOPE = {"resources": [{"id": 1, "userName": "ann"}], "totalResults": 1, "itemsPerPage": 1, "startIndex": 1}
NOW = datetime.now(timezone.utc)


def parse_page(body: Any) -> dict[str, Any]:
    """Like the streams' parsers: the envelope, or InvalidBodyError."""
    if not isinstance(body, dict) or not isinstance(body.get("resources"), list):
        raise InvalidBodyError(f"not a users page ({type(body).__name__})")
    return body


# --- what the server may say ------------------------------------------------------------------------------------

BODIES: list[bytes] = [
    b"",
    orjson.dumps(ENVELOPE),
    orjson.dumps(ENVELOPE)[:17],  # truncated JSON
    b"[1, 2, 3]",
    b'"a string"',
    b"42",
    b"null",
    b"{}",
    b'{"resources": null}',
    b'{"resources": {"id": 1}}',
    orjson.dumps({"resources": [], "note": MEGABYTE}),
    orjson.dumps({"errors": [{"msg": MEGABYTE}]}),
    b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>",
    b"\xff\xfe\x00garbage \xc3\x28 not utf-8",
    b'{"Errors": [{"description": "Developer Inactive"}], "message": 7}',
    b'{"errors": "not a list", "inputErrors": [1, null, {"x": 1}], "error": {"nested": true}}',
    b"[" * 100_000,  # nesting deeper than any decoder recurses
    b'{"a":' * 3_000 + b"1" + b"}" * 3_000,
    b"9" * 10_000,  # an integer too long for int()
    b"NaN",
    b'{"resources": [], "x": 1e999}',
]

RETRY_AFTERS: list[str] = [
    "0",
    "1",
    "3",
    "2.5",
    "-5",
    "99999",
    str(10**12),
    "1e999",
    "nan",
    "inf",
    "-inf",
    "",
    "   ",
    "soon",
    "12abc",
    "\uff15",  # a fullwidth 5
    format_datetime(NOW - timedelta(hours=1), usegmt=True),
    format_datetime(NOW + timedelta(seconds=30), usegmt=True),
    format_datetime(NOW + timedelta(days=3), usegmt=True),
    "Wed, 21 Oct 2015 07:28:00 -0000",  # an unknown zone
    "Wed, 21 Oct 2015 07:28:00",  # no zone at all
    "Wed, 21 Oct 2015 07:28:00 +0200",
    "Wed, 21 Oct 2015 07:28:00 +9999",
    "Wed, 99999999999999999999 Oct 2015 07:28:00 GMT",
    "Wed, 21 Oct 99999 07:28:00 GMT",
    "Mon, 32 Foo 2015 25:61:61 GMT",
]
DATES: list[str] = [
    format_datetime(NOW, usegmt=True),
    "Wed, 21 Oct 2015 07:28:00 -0000",
    "Wed, 21 Oct 2015 07:28:00",
    "yesterday",
    "Wed, 99999999999999999999 Oct 2015 07:28:00 GMT",
]
QUOTA_NUMBERS: list[str] = ["1000", "999", "0", "5", "-3", "abc", "", "1.5", "9" * 5000, "\uff11\uff12"]
MASHERY_CODES = ["ERR_403_DEVELOPER_OVER_QPS", "ERR_403_DEVELOPER_OVER_RATE", "ERR_403_DEVELOPER_INACTIVE", "ERR_X"]
LOCATIONS: list[str | None] = [
    None,
    "",
    "/pubapi/v2/users?startIndex=2",
    "users?x=1",
    f"{BASE}/pubapi/v2/users",
    f"https://{HOST}:443/pubapi/v2/users",
    "https://evil.example.com/steal",
    "//evil.example.com/steal",
    f"https://{HOST}:8443/pubapi/v2/users",
    f"http://{HOST}/pubapi/v2/users",
    f"https://{HOST}.evil.example.com/",
    "http://[::1",
    f"https://{HOST}:99999/",
    "ht!tp://what",
    "javascript:alert(1)",
    "mailto:admin@acme.egnyte.com",
    "https:no-slashes",
    "https://user:pass@evil.example.com/",
    "/" + "a" * 10_000,
    "/pubapi/v2/caf\u00e9?q=\u00fc",
]
#: Weighted towards the answers that are retried or followed, so that an example goes on for a while.
STATUSES = [
    *[200] * 4,
    *[301, 302, 307, 308] * 2,
    *[401, 403, 408, 429] * 2,
    *[500, 502, 503, 504] * 2,
    *[100, 201, 204, 206, 300, 303, 304, 400, 404, 409, 418, 599, 999],
]
FAILURES: list[Callable[[httpx.Request], Exception]] = [
    lambda request: httpx.ConnectError("connection refused", request=request),
    lambda request: httpx.ConnectTimeout("connect timed out", request=request),
    lambda request: httpx.ReadError("connection reset by peer", request=request),
    lambda request: httpx.ReadTimeout("read timed out", request=request),
    lambda request: httpx.RemoteProtocolError("peer closed connection without sending a body", request=request),
    lambda request: httpx.WriteError("broken pipe", request=request),
    lambda request: httpx.PoolTimeout("no connection free", request=request),
]


@dataclass(frozen=True)
class Answer:
    """What the server does with one request."""

    kind: str  # "respond", "fail" (the transport raises), "hang_head" (no answer ever), "hang_body" (endless body)
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    encoding: str = ""  # a Content-Encoding: "gzip" (a valid body), "gzip-broken", "deflate-broken", "br", "bogus"
    failure: int = 0


def headers_strategy(status: int) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    optional: list[st.SearchStrategy[tuple[str, str]]] = [
        st.sampled_from(RETRY_AFTERS).map(lambda value: ("Retry-After", value)),
        st.sampled_from(DATES).map(lambda value: ("Date", value)),
        st.sampled_from(QUOTA_NUMBERS).map(lambda value: ("X-Accesstoken-Quota-Allotted", value)),
        st.sampled_from(QUOTA_NUMBERS).map(lambda value: ("X-Accesstoken-Quota-Current", value)),
        st.sampled_from(MASHERY_CODES).map(lambda value: ("X-Mashery-Error-Code", value)),
        st.sampled_from(["text/html", "application/json; charset=latin-1", "text/plain; charset=bogus"]).map(
            lambda value: ("Content-Type", value)
        ),
    ]
    if status in (301, 302, 307, 308):
        optional.append(st.sampled_from(LOCATIONS).map(lambda value: ("Location", value or "")))
    return st.lists(st.one_of(optional), max_size=4).map(tuple)


@st.composite
def responses(draw: st.DrawFn, statuses: list[int], bodies: list[bytes]) -> Answer:
    status = draw(st.sampled_from(statuses))
    headers = draw(headers_strategy(status))
    if status in (301, 302, 307, 308):
        location = draw(st.sampled_from(LOCATIONS))
        if location is not None:
            headers = (*headers, ("Location", location))
    if status == 403 and draw(st.booleans()):
        headers = (*headers, ("X-Mashery-Error-Code", draw(st.sampled_from(MASHERY_CODES))))
    body = draw(st.sampled_from(bodies) | st.binary(max_size=40))
    encoding = draw(st.sampled_from(["", "", "", "", "gzip", "gzip", "gzip-broken", "deflate-broken", "br", "bogus"]))
    return Answer("respond", status, headers, body, encoding)


def answers(statuses: list[int], bodies: list[bytes]) -> st.SearchStrategy[Answer]:
    return st.one_of(
        responses(statuses, bodies),
        responses(statuses, bodies),
        responses(statuses, bodies),
        st.integers(0, len(FAILURES) - 1).map(lambda index: Answer("fail", failure=index)),
    )


#: The rare answers that never end; only scripted when the example's request deadline is short.
HANGS = st.sampled_from([Answer("hang_head"), Answer("hang_body", body=b'{"resources": [')])

#: What the server keeps answering once its script has run out.
TAILS = st.sampled_from(
    [
        Answer("respond", 200, (), orjson.dumps(ENVELOPE)),
        Answer("respond", 500, (), b"<h1>oops</h1>"),
        Answer("respond", 429, (("Retry-After", "1"),), b""),
        Answer("fail", failure=2),
    ]
)

#: The access tokens the token endpoint hands out: some of them no HTTP header can carry.
TOKEN_SUFFIXES = ["plain", "with space", "line\nbreak", "cr\rlf\n", "nul\x00", "tab\there", "caf\u00e9", "x" * 2000]


@st.composite
def token_answers(draw: st.DrawFn) -> Answer:
    if draw(st.booleans()):  # a 200 with a token in some shape
        body: dict[str, Any] = {}
        if draw(st.booleans()):
            body["access_token"] = draw(
                st.sampled_from(TOKEN_SUFFIXES).map(lambda suffix: f"at-{suffix}")
                | st.sampled_from(["", None, 42, ["at-list"], {"t": "at-dict"}])
            )
        else:
            body["access_token"] = "at-plain"
        if draw(st.booleans()):
            body["refresh_token"] = draw(st.sampled_from(["rt-rotated-1", "rt rot\nated", "", None, 7]))
        if draw(st.booleans()):
            body["expires_in"] = draw(st.sampled_from([3600, -1, "soon", None]))
        return Answer("respond", 200, (), orjson.dumps(body))
    return draw(
        answers(
            [200, 301, 302, 307, 308, 400, 401, 403, 404, 408, 409, 409, 418, 500, 503],
            [b"", b"[]", b'"at-string"', b"null", b"{not json", b"\xff\xfe", b'{"access_token": 5}'],
        )
    )


@dataclass(frozen=True)
class Scenario:
    gets: list[Answer]
    tail: Answer
    tokens: list[Answer]
    refresh: bool
    static_token: bool
    retry_attempts: int
    short_deadline: bool
    debug_logging: bool
    act_as: str | None
    #: How many GETs run at once, sharing the server, the token, the throttle gate and the budget.
    parallel: int
    #: The day's request limit: a small one runs out mid-example.
    daily_limit: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    short_deadline = draw(st.integers(0, 19)) == 0
    refresh = draw(st.booleans())
    # With refresh credentials, rejected tokens are common, so that refreshes (and the token endpoint) are too.
    get_answer = answers(STATUSES + [401] * 8 if refresh else STATUSES, BODIES)
    token_answer = token_answers()
    if short_deadline:
        get_answer = get_answer | HANGS
        token_answer = token_answer | HANGS
    return Scenario(
        gets=draw(st.lists(get_answer, min_size=1, max_size=8)),
        tail=draw(TAILS),
        tokens=draw(st.lists(token_answer, max_size=4)) if refresh else [],
        refresh=refresh,
        static_token=not refresh or draw(st.booleans()),
        retry_attempts=draw(st.integers(0, 3)),
        short_deadline=short_deadline,
        debug_logging=draw(st.booleans()),
        act_as=draw(st.sampled_from([None, "ann", "ann@example.com"])),
        parallel=draw(st.sampled_from([1, 1, 1, 2, 3])),
        daily_limit=draw(st.sampled_from([1000, 1000, 1000, 4, 1])),
    )


# --- the server --------------------------------------------------------------------------------------------------


@dataclass
class Server:
    scenario: Scenario
    gets: int = 0
    posts: int = 0
    #: Every access token handed out (whatever its type) and every rotated refresh token: none may show.
    secrets: set[str] = field(default_factory=set)
    #: Bearer tokens the client may send: the static one and the usable ones handed out.
    tokens_given: set[str] = field(default_factory=set)
    successes: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._gets = itertools.chain(self.scenario.gets, itertools.repeat(self.scenario.tail))
        self._tokens = itertools.chain(
            self.scenario.tokens, itertools.repeat(Answer("respond", 200, (), b'{"access_token": "at-tail"}'))
        )
        if self.scenario.static_token:
            self.tokens_given.add(STATIC_TOKEN)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if (url.scheme, url.host, url.port) != ("https", HOST, None):
            self.problems.append(f"a request left the origin: {request.method} {url}")
            return httpx.Response(599)
        if request.method == "GET":
            self.gets += 1
        # What h11 would refuse to put on the wire (a line break, a NUL in a header value), refused as httpx would.
        try:
            normalize_and_validate(request.headers.raw)
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        if request.method == "POST" and url.path == TOKEN_PATH:
            self.posts += 1
            if "authorization" in request.headers:
                self.problems.append("the token request carried an Authorization header")
            answer = next(self._tokens)
            self._note_tokens(answer)
        elif request.method == "GET":
            authorization = request.headers.get("authorization", "")
            if authorization.removeprefix("Bearer ") not in self.tokens_given:
                self.problems.append(f"a GET carried a token it was never given ({len(authorization)} chars)")
            answer = next(self._gets)
            if answer.kind == "respond" and answer.status == 200 and not answer.encoding.endswith("-broken"):
                with contextlib.suppress(orjson.JSONDecodeError, InvalidBodyError):
                    self.successes.append(parse_page(orjson.loads(answer.body)))
        else:
            self.problems.append(f"unexpected request {request.method} {url.path}")
            return httpx.Response(405)
        return await self._perform(answer, request)

    def _note_tokens(self, answer: Answer) -> None:
        if answer.kind != "respond" or answer.status != 200:
            return
        try:
            body = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            return
        if not isinstance(body, dict):
            return
        for key in ("access_token", "refresh_token"):
            value = body.get(key)
            if isinstance(value, str) and value:
                self.secrets.add(value)
                if key == "access_token":
                    self.tokens_given.add(value)

    async def _perform(self, answer: Answer, request: httpx.Request) -> httpx.Response:
        if answer.kind == "fail":
            raise FAILURES[answer.failure](request)
        if answer.kind == "hang_head":
            await asyncio.Event().wait()
        if answer.kind == "hang_body":
            return httpx.Response(200, content=endless(answer.body))
        # As bytes, as they come off the wire: a header value need not be ASCII.
        headers = [(name.encode(), value.encode()) for name, value in answer.headers]
        body = answer.body
        if answer.encoding:
            headers.append((b"Content-Encoding", answer.encoding.removesuffix("-broken").encode()))
            if answer.encoding == "gzip":
                body = gzip.compress(body)
            elif answer.encoding.endswith("-broken"):
                body = b"\x1f\x8b\x08\x00broken" + body
        return httpx.Response(answer.status, headers=headers, content=body)


async def endless(start: bytes) -> AsyncIterator[bytes]:
    yield start
    await asyncio.Event().wait()
    yield b"]}"  # pragma: no cover


# --- the property ------------------------------------------------------------------------------------------------


def chain(error: BaseException) -> list[BaseException]:
    """The error and every error it was raised from or while handling."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not other for other in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


async def no_wait() -> None:
    await asyncio.sleep(0)


async def run(scenario: Scenario) -> None:
    clock = FakeClock()
    log = RecordingLog()
    server = Server(scenario)
    timeout = SHORT_TIMEOUT_S if scenario.short_deadline else 30.0
    options = Settings(
        domain="acme",
        base_url=BASE,
        api_token=STATIC_TOKEN if scenario.static_token else None,
        client_id="cid" if scenario.refresh else None,
        client_secret=CLIENT_SECRET if scenario.refresh else None,
        refresh_token=REFRESH_TOKEN if scenario.refresh else None,
        requests_per_second=1000,
        max_concurrent_requests=4,
        retry_attempts=scenario.retry_attempts,
        request_timeout_seconds=timeout,
        enable_debug_logging=scenario.debug_logging,
    )
    spend = budget(scenario.daily_limit)
    async with EgnyteClient(
        options, spend, log=log, transport=httpx.MockTransport(server.handle), clock=clock
    ) as client:
        # The rate limiter paces in real time (aiolimiter): after a run of throttles it would cost real seconds. Its
        # pacing is tested on its own (test_pacing.py); here only its bookkeeping (on_throttle, on_success) runs.
        client.limiter.acquire = no_wait  # type: ignore[method-assign]
        gets = [
            client.get(USERS_PATH, {"startIndex": index}, parse=parse_page, what="users page", act_as=scenario.act_as)
            for index in range(1, scenario.parallel + 1)
        ]
        outcomes = await asyncio.gather(
            *(asyncio.wait_for(get, EXAMPLE_TIMEOUT_S) for get in gets), return_exceptions=True
        )

    for outcome in outcomes:
        event(f"outcome: {type(outcome).__name__ if isinstance(outcome, BaseException) else 'returned'}")
    event(f"gets: {min(server.gets, 10)}{'+' if server.gets > 10 else ''}, token requests: {server.posts}")
    event(f"throttled: {min(client.stats.throttled, 5)}{'+' if client.stats.throttled > 5 else ''}")
    event(f"refreshes: {client._tokens.refreshes}")
    messages = " ".join(str(link) for error in outcomes if isinstance(error, BaseException) for link in chain(error))
    for needle in ("no answer within", "LocalProtocolError", "redirect", "not a URL", "could not be decoded"):
        if needle in messages:
            event(f"an error says: {needle}")
    assert not server.problems, server.problems

    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    for outcome in outcomes:
        if isinstance(outcome, TimeoutError):
            raise AssertionError("get() hung")
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, EgnyteError), f"{type(outcome).__name__} escaped: {outcome!r}"
            assert not isinstance(outcome, RetryableError), f"a retryable error escaped unretried: {outcome!r}"
        else:
            assert outcome in server.successes, "get() returned something the server never sent as a 200"

    secrets = {STATIC_TOKEN, CLIENT_SECRET, REFRESH_TOKEN, *server.secrets}
    shown = [text for level, text in log.lines]
    shown += [f"{link} {link!r} {link.args!r}" for error in errors for link in chain(error)]
    # As they are, or escaped in a repr of text or bytes (as h11 quotes a header value it refuses).
    forms = {form for secret in secrets for form in (secret, repr(secret)[1:-1], repr(secret.encode())[2:-1])}
    for text in shown:
        leaked = [form for form in forms if form in text]
        assert not leaked, f"a secret shows in {text[:300]!r}"

    # Bounded effort: each attempt is one GET (plus one after a refresh), each followed by at most MAX_REDIRECTS
    # redirects; attempts end after retry_attempts failures or MAX_THROTTLE_WAITS throttles, whichever comes last.
    attempts = (scenario.retry_attempts + 1 + MAX_THROTTLE_WAITS + 1) * scenario.parallel
    assert server.gets <= attempts * 2 * (MAX_REDIRECTS + 1), server.gets
    assert server.gets == client.stats.requests
    assert server.posts <= attempts * 2 * (TOKEN_THROTTLE_RETRIES + 1), server.posts
    assert spend.used <= spend.allowed
    # Waits: within the time budget, plus the one Retry-After it let through and the token endpoint's 409s.
    waited = clock.now - 1000.0
    most = 300.0 + LONGEST_THROTTLE_WAIT_S + 30.0 + 2 * TOKEN_THROTTLE_RETRIES * TOKEN_THROTTLE_MAX_WAIT_S
    assert waited <= most, waited


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_get_keeps_its_contract_whatever_the_server_does(scenario: Scenario) -> None:
    asyncio.run(run(scenario))
