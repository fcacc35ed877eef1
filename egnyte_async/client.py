"""The one door to Egnyte: every request goes through `EgnyteClient.get`.

It adds the bearer token, waits at the shared throttle gate and rate limiter, spends one call of the day's budget,
and turns each answer into either a parsed body or an error from `egnyte_async.errors`. Retryable failures are
retried with tenacity (exponential backoff with full jitter; throttles wait the server's Retry-After instead);
a 401 is cured by one shared token refresh when refresh credentials are configured.

One attempt (the request, the same-origin redirects it leads to, and every byte of the answers) must end within
`request_timeout_seconds`; httpx's own timeouts only bound each read. A redirect to another origin is refused
(`egnyte_async.redirects`). Whatever goes wrong on the wire becomes one of our errors with a sentence saying what
happened, never a bare httpx exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import anyio
import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

from egnyte_async.auth import TokenProvider
from egnyte_async.budget import RequestBudget
from egnyte_async.clock import SYSTEM_CLOCK, Clock
from egnyte_async.errors import (
    AuthenticationError,
    ConnectionFailedError,
    InvalidBodyError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RedirectRefusedError,
    RequestFailedError,
    RetryableError,
    ServerError,
    ThrottledError,
    TokenRejectedError,
    UnexpectedResponseError,
)
from egnyte_async.limits import LimitPolicy, read_server_limits
from egnyte_async.log import Log, NullLog
from egnyte_async.pacing import AdaptiveRateLimiter, ThrottleGate
from egnyte_async.redirects import origin_of, redirect_target
from egnyte_async.responses import (
    DEVELOPER_INACTIVE,
    MASHERY_CODE,
    OVER_QPS,
    OVER_RATE,
    error_text,
    retry_after_seconds,
)
from egnyte_async.secret import BearerAuth, Secret
from egnyte_async.settings import Settings

T = TypeVar("T")

#: Throttles do not use up `retry_attempts`, but a request is not throttled forever.
MAX_THROTTLE_WAITS = 30
#: A throttle asking for a longer pause than this is treated like a spent quota: the sync stops and resumes later.
LONGEST_THROTTLE_WAIT_S = 900.0
#: Retry-After assumed when a throttle answer carries none.
DEFAULT_THROTTLE_WAIT_S = 1.0
#: A throttle asking for at most this long is a per-second limit's: see `EgnyteClient._throttled`.
PER_SECOND_WAIT_S = 1.0
USER_AGENT = "egnyte-fivetran-connector/1.0"
#: Same-origin redirects followed for one GET; one more is a loop.
MAX_REDIRECTS = 5


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    refreshes: int = 0
    #: The Retry-After of a throttle too long to wait for, which stopped the sync.
    refused_throttle_s: float | None = None


class EgnyteClient:
    """An httpx.AsyncClient with Egnyte's rules of conduct; use it as an async context manager."""

    def __init__(
        self,
        settings: Settings,
        budget: RequestBudget,
        *,
        log: Log | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
        policy: LimitPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.budget = budget
        self.stats = ClientStats()
        self.log = log or NullLog()
        #: The limits kept to: the configuration's, and what Egnyte states for the token (egnyte_async.limits).
        self.policy = policy or LimitPolicy(settings.requests_per_second, settings.daily_request_limit, self.log)
        self.limiter = AdaptiveRateLimiter(self.policy.rate)
        self.gate = ThrottleGate(clock)
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.max_concurrent_requests)
        self._tokens = TokenProvider(
            settings.api_token,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token,
            clock=clock,
            timeout_s=settings.request_timeout_seconds,
        )
        self._origin = origin_of(httpx.URL(settings.base_url))
        # Redirects are never followed by httpx: `_send` follows a GET's redirects within the origin of base_url
        # and refuses any other, and the token endpoint's are refused (auth.py). The bearer token is set by an
        # httpx.Auth at the moment the request leaves, so no local variable of ours holds it bare.
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=httpx.Timeout(settings.request_timeout_seconds),
            limits=httpx.Limits(
                max_connections=settings.max_concurrent_requests + 2,
                max_keepalive_connections=settings.max_concurrent_requests + 2,
            ),
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            follow_redirects=False,
            transport=transport,
        )
        # Every request's retries end after this long, throttle waits included.
        self._time_budget_s = max(300.0, 10 * settings.request_timeout_seconds)

    async def __aenter__(self) -> EgnyteClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        parse: Callable[[Any], T],
        what: str,
        act_as: str | None = None,
        no_content: Callable[[], T] | None = None,
    ) -> T:
        """GETs `path` and returns `parse(json_body)`; `parse` raises InvalidBodyError for a body it cannot use.

        `what` names the request in errors and logs ("users page at startIndex 201"). With `no_content`, a 204 (the
        events feed's "nothing newer") returns `no_content()`; without it a 204 is an unexpected answer.
        """
        started = self._clock.monotonic()
        failures = 0
        throttles = 0

        def time_left() -> float:
            return self._time_budget_s - (self._clock.monotonic() - started)

        def should_stop(state: RetryCallState) -> bool:
            nonlocal failures, throttles
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, ThrottledError):
                throttles += 1
                over = throttles > MAX_THROTTLE_WAITS
            else:
                failures += 1
                over = failures > self.settings.retry_attempts
                # A server that asks for a pause longer than the time left will not be ready in time: stop now.
                if isinstance(error, RetryableError) and error.retry_after is not None:
                    over = over or min(error.retry_after, LONGEST_THROTTLE_WAIT_S) > time_left()
            return over or time_left() < 0

        jitter = wait_random_exponential(multiplier=0.5, max=30)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RetryableError) and error.retry_after is not None:
                return min(error.retry_after, LONGEST_THROTTLE_WAIT_S)  # within the time left (should_stop)
            return min(jitter(state), max(0.0, time_left()))

        def before_sleep(state: RetryCallState) -> None:
            self.stats.retries += 1
            error = state.outcome.exception() if state.outcome else None
            reason = _reason(error, what) if error is not None else "?"
            (self.log.info if self.settings.enable_debug_logging else self.log.debug)(
                f"retrying {what} after: {reason}"
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RetryableError),
            stop=should_stop,
            wait=wait,
            sleep=self._clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get_once(path, params, parse, what, act_as, no_content)
        except RetryableError as error:
            tries = failures + throttles
            advice = (
                "Check domain and base_url (and the network)."
                if isinstance(error, ConnectionFailedError)
                else "Egnyte may be having trouble: the sync will resume from its last checkpoint on the next run."
            )
            raise RequestFailedError(
                f"{what}: GET {path} failed after {tries} attempt(s); last error: {_reason(error, what)}. {advice}"
            ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_once(
        self,
        path: str,
        params: Mapping[str, str | int] | None,
        parse: Callable[[Any], T],
        what: str,
        act_as: str | None,
        no_content: Callable[[], T] | None = None,
    ) -> T:
        refreshed = False
        while True:
            await self.gate.wait()
            async with self._slots:
                cuts = await self._pace()
                self.budget.take()
                token = await self._tokens.current(self._http)
                response = await self._send(path, params, act_as, token, what)
            if self._is_rejected_token(response) and self._tokens.can_refresh:
                if refreshed:
                    # A second rejection in one attempt is another token's: retried, so a token that expires
                    # again is refreshed again, while one the refresh never makes usable ends after retry_attempts.
                    raise TokenRejectedError(
                        "Egnyte rejected the access token again right after refreshing it "
                        f"({response.status_code} {error_text(response)})"
                    )
                refreshed = True
                await self._tokens.refresh(self._http, rejected=token)
                self.stats.refreshes = self._tokens.refreshes  # one count, however many requests waited on it
                continue
            return self._read(response, parse, what, no_content, cuts)

    async def _pace(self) -> int | None:
        """Waits for the gate and for the call's turn in the pace until both allow it at once: a call whose turn
        came while a throttle closed the gate waits for it again, so no call leaves during a pause. Returns the
        limiter's cuts as the call leaves (for `AdaptiveRateLimiter.on_throttle`)."""
        while True:
            await self.gate.wait()
            cuts = await self.limiter.acquire()
            if not self.gate.seconds_closed:
                return cuts

    async def _send(
        self, path: str, params: Mapping[str, str | int] | None, act_as: str | None, token: Secret, what: str
    ) -> httpx.Response:
        """One attempt: the GET and the same-origin redirects it leads to, each answer read to its last byte, all
        within `request_timeout_seconds` (httpx's own timeouts bound each read, not the whole answer)."""
        # Acting as a user: by e-mail address when the value holds an @, as python-egnyte does.
        headers = {("X-Egnyte-Act-As-Email" if "@" in act_as else "X-Egnyte-Act-As"): act_as} if act_as else {}
        request = self._http.build_request("GET", path, params=params, headers=headers)
        timeout = self.settings.request_timeout_seconds
        try:
            with anyio.fail_after(timeout):
                for hop in range(MAX_REDIRECTS + 1):
                    response = await self._exchange(request, BearerAuth(token))
                    if not response.is_redirect:
                        return response
                    target = redirect_target(response, self._origin, f"{what}: GET {path}")
                    if hop < MAX_REDIRECTS:
                        self.budget.take()
                        request = self._http.build_request("GET", target, headers=headers)
                raise RedirectRefusedError(
                    f"{what}: Egnyte redirected GET {path} {MAX_REDIRECTS} times in a row (last to {target.path}): "
                    f"a redirect loop. Check domain and base_url (base_url is {self.settings.base_url})"
                )
        except TimeoutError as exc:  # anyio's deadline
            raise ServerError(f"no answer within {timeout:g} s") from exc
        except httpx.InvalidURL as exc:
            # httpx works out a redirect's next request even when it follows none, and fails on a Location such
            # as "javascript:x" (not an httpx.HTTPError).
            raise RedirectRefusedError(
                f"{what}: Egnyte answered GET {path} with a redirect whose Location is not a URL ({exc}). "
                "Check domain and base_url"
            ) from exc
        except httpx.ConnectTimeout as exc:
            raise ConnectionFailedError(
                f"could not connect to {_host(request.url)} within {timeout:g} s ({_describe(exc)})"
            ) from exc
        except httpx.TimeoutException as exc:
            raise ServerError(f"no answer within {timeout:g} s ({_describe(exc)})") from exc
        except httpx.ConnectError as exc:
            raise ConnectionFailedError(f"could not connect to {_host(request.url)} ({_describe(exc)})") from exc
        except httpx.DecodingError as exc:
            raise InvalidBodyError(f"the body could not be decoded ({_describe(exc)})") from exc
        except httpx.HTTPError as exc:
            # A connection dropped or cut short mid-answer, a protocol error: the same request may well succeed.
            raise ServerError(f"the connection to {_host(request.url)} failed ({_describe(exc)})") from exc

    async def _exchange(self, request: httpx.Request, auth: httpx.Auth) -> httpx.Response:
        """Sends one request and reads its whole body."""
        self.stats.requests += 1
        sent = self._clock.monotonic()
        streamed = await self._http.send(request, auth=auth, stream=True)
        try:
            body = b"".join([chunk async for chunk in streamed.aiter_bytes()])
        finally:
            await streamed.aclose()
        # A fresh answer holds the (already decoded) body: the streamed one sits in a reference cycle with its
        # stream, so a body kept there would live until the next garbage collection, and pages of long notes weigh
        # megabytes each.
        # The raw bytes: a header value need not be ASCII (decoded and encoded again, it would not survive).
        headers = [(name, value) for name, value in streamed.headers.raw if name.lower() != b"content-encoding"]
        response = httpx.Response(streamed.status_code, headers=headers, content=body, request=streamed.request)
        if self.settings.enable_debug_logging:
            elapsed_ms = (self._clock.monotonic() - sent) * 1000
            url = response.request.url
            query = url.query.decode()
            self.log.info(
                f"GET {url.path}{'?' + query if query else ''} -> {response.status_code} in {elapsed_ms:.0f} ms"
            )
        return response

    @staticmethod
    def _is_rejected_token(response: httpx.Response) -> bool:
        return response.status_code == 401 or (
            response.status_code == 403 and response.headers.get(MASHERY_CODE) == DEVELOPER_INACTIVE
        )

    def _read(
        self,
        response: httpx.Response,
        parse: Callable[[Any], T],
        what: str,
        no_content: Callable[[], T] | None = None,
        cuts: int | None = None,
    ) -> T:
        status = response.status_code
        self._observe_quota_headers(response)
        if status == 204 and no_content is not None:
            self.limiter.on_success()
            return no_content()
        if status == 200:
            self.limiter.on_success()
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise InvalidBodyError(f"the body is not valid JSON ({len(response.content)} bytes)") from exc
            return parse(body)
        code = response.headers.get(MASHERY_CODE, "")
        retry_after = retry_after_seconds(response)
        if status == 429 or (status == 403 and code == OVER_QPS):
            self._throttled(retry_after, what, cuts)
        if status == 403 and code == OVER_RATE:
            self.budget.exhaust()
            raise QuotaExhaustedError(
                f"Egnyte says the token's daily request quota is spent ({what})", reset_after=retry_after
            )
        if self._is_rejected_token(response):
            raise AuthenticationError(
                "Egnyte rejected the access token (Developer Inactive). Generate a new api_token, or set "
                "client_id, client_secret and refresh_token so the connector can refresh it."
            )
        if status == 403:
            raise PermissionDeniedError(
                f"{what}: Egnyte denied access (403: {error_text(response)}). The token's user needs to be an "
                "administrator to list users, groups, notes and other users' bookmarks; or disable that table."
            )
        if status == 404:
            raise NotFoundError(
                f"{what}: Egnyte answered 404 ({error_text(response)}) for {response.request.url.path}. Check "
                "domain and base_url: they must name your Egnyte domain."
            )
        if status == 408 or status >= 500:
            raise ServerError(f"Egnyte answered {status} ({error_text(response)})", retry_after=retry_after)
        detail = error_text(response)
        raise UnexpectedResponseError(f"{what}: Egnyte answered {status} ({detail})", status=status, detail=detail)

    def _throttled(self, retry_after: float | None, what: str, cuts: int | None) -> NoReturn:
        """The throttled call waits the Retry-After it was given, and the pace slows (in proportion: pacing.py).

        A longer pause than `PER_SECOND_WAIT_S` (an overloaded server, a penalty) holds every request back for all of
        it. A second or less is a per-second limit's answer, in whole seconds rounded up: the window was full when
        the call arrived, and frees as its oldest call leaves it, within one period of the pace. Every other request
        then waits one period of the slowed pace, not the whole second: holding all of them for a second would
        waste a second's worth of calls (two at 2 a second, a hundred at 100) on each throttle, most of it after the
        window had room again."""
        wait = DEFAULT_THROTTLE_WAIT_S if retry_after is None else retry_after
        if wait > LONGEST_THROTTLE_WAIT_S:
            self.budget.exhaust()
            self.stats.refused_throttle_s = wait
            raise QuotaExhaustedError(
                f"Egnyte throttled {what}, asking to pause for {wait:.0f} s (Retry-After), longer than a sync waits "
                f"({LONGEST_THROTTLE_WAIT_S:.0f} s); the sync stops here and resumes next run",
                reset_after=wait,
                throttle_wait_s=wait,
            )
        self.stats.throttled += 1
        self.limiter.on_throttle(cuts)
        self.gate.close_for(wait if wait > PER_SECOND_WAIT_S else min(wait, self.limiter.period))
        raise ThrottledError(f"throttled by Egnyte, waiting {wait:g} s", retry_after=wait)

    def _observe_quota_headers(self, response: httpx.Response) -> None:
        """What Egnyte states of the token's limits, on any answer (a throttle's too): the pace, the day's limit,
        the day's end and its count follow (a header that cannot be read is ignored)."""
        limits = read_server_limits(response.headers)
        self.policy.observe(limits)
        if limits.rate is not None:
            self.limiter.set_target(self.policy.rate)
        if limits.quota is not None:
            self.budget.observe_allotted(limits.quota)
            self.budget.set_daily_limit(self.policy.quota)
        if limits.resets_at is not None:
            self.budget.observe_reset(limits.resets_at, limits.used)
        if limits.quota is not None and limits.used is not None:
            self.budget.observe_server_quota(limits.quota, limits.used)


def _reason(error: BaseException, what: str) -> str:
    """An error's message without the name of the request it is about, which the caller says once."""
    text = str(error)
    return text[len(what) + 2 :] if text.startswith(f"{what}: ") else text


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _host(url: httpx.URL) -> str:
    return f"{url.host}:{url.port}" if url.port else url.host
