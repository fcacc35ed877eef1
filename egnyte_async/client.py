"""The one door to Egnyte: every request goes through `EgnyteClient.get`.

It adds the bearer token, waits at the shared throttle gate and rate limiter, spends one call of the day's budget,
and turns each answer into either a parsed body or an error from `egnyte_async.errors`. Retryable failures are
retried with tenacity (exponential backoff with full jitter; throttles wait the server's Retry-After instead);
a 401 is cured by one shared token refresh when refresh credentials are configured.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

from egnyte_async.auth import TokenProvider
from egnyte_async.budget import RequestBudget
from egnyte_async.clock import SYSTEM_CLOCK, Clock
from egnyte_async.errors import (
    AuthenticationError,
    InvalidBodyError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RequestFailedError,
    RetryableError,
    ServerError,
    ThrottledError,
    TokenRejectedError,
    UnexpectedResponseError,
)
from egnyte_async.log import Log, NullLog
from egnyte_async.pacing import AdaptiveRateLimiter, ThrottleGate
from egnyte_async.responses import (
    DEVELOPER_INACTIVE,
    MASHERY_CODE,
    OVER_QPS,
    OVER_RATE,
    error_text,
    retry_after_seconds,
)
from egnyte_async.settings import Settings

T = TypeVar("T")

#: Throttles do not use up `retry_attempts`, but a request is not throttled forever.
MAX_THROTTLE_WAITS = 30
#: A throttle asking for a longer pause than this is treated like a spent quota: the sync stops and resumes later.
LONGEST_THROTTLE_WAIT_S = 900.0
#: Retry-After assumed when a throttle answer carries none.
DEFAULT_THROTTLE_WAIT_S = 1.0
USER_AGENT = "egnyte-fivetran-connector/1.0"


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    refreshes: int = 0


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
    ) -> None:
        self.settings = settings
        self.budget = budget
        self.stats = ClientStats()
        self.log = log or NullLog()
        self.limiter = AdaptiveRateLimiter(settings.requests_per_second)
        self.gate = ThrottleGate(clock)
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.max_concurrent_requests)
        self._tokens = TokenProvider(
            settings.api_token,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token,
            clock=clock,
        )
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=httpx.Timeout(settings.request_timeout_seconds),
            limits=httpx.Limits(
                max_connections=settings.max_concurrent_requests + 2,
                max_keepalive_connections=settings.max_concurrent_requests + 2,
            ),
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            follow_redirects=True,
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
    ) -> T:
        """GETs `path` and returns `parse(json_body)`; `parse` raises InvalidBodyError for a body it cannot use.

        `what` names the request in errors and logs ("users page at startIndex 201").
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
            if isinstance(error, ThrottledError):
                return 0.0  # the gate holds every request back for Retry-After
            if isinstance(error, RetryableError) and error.retry_after is not None:
                return min(error.retry_after, LONGEST_THROTTLE_WAIT_S)  # within the time left (should_stop)
            return min(jitter(state), max(0.0, time_left()))

        def before_sleep(state: RetryCallState) -> None:
            self.stats.retries += 1
            error = state.outcome.exception() if state.outcome else None
            (self.log.info if self.settings.enable_debug_logging else self.log.debug)(f"retrying {what} after: {error}")

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
                    return await self._get_once(path, params, parse, what, act_as)
        except RetryableError as error:
            tries = failures + throttles
            raise RequestFailedError(
                f"{what}: GET {path} failed after {tries} attempt(s); last error: {error}. "
                "Egnyte may be having trouble: the sync will resume from its last checkpoint on the next run."
            ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_once(
        self,
        path: str,
        params: Mapping[str, str | int] | None,
        parse: Callable[[Any], T],
        what: str,
        act_as: str | None,
    ) -> T:
        refreshed = False
        while True:
            await self.gate.wait()
            async with self._slots:
                await self.gate.wait()
                await self.limiter.acquire()
                self.budget.take()
                token = await self._tokens.current(self._http)
                headers = {"Authorization": f"Bearer {token}"}
                if act_as:  # by e-mail address when it holds an @, as python-egnyte does
                    headers["X-Egnyte-Act-As-Email" if "@" in act_as else "X-Egnyte-Act-As"] = act_as
                response = await self._send(path, params, headers, what)
            if self._is_rejected_token(response) and self._tokens.can_refresh:
                if refreshed:
                    # A second rejection in one attempt is another token's: retried, so a token that expires
                    # again is refreshed again, while one the refresh never makes usable ends after retry_attempts.
                    raise TokenRejectedError(
                        f"{what}: Egnyte rejected the access token again right after refreshing it "
                        f"({response.status_code} {error_text(response)})"
                    )
                refreshed = True
                await self._tokens.refresh(self._http, rejected=token)
                self.stats.refreshes = self._tokens.refreshes  # one count, however many requests waited on it
                continue
            return self._read(response, parse, what)

    async def _send(
        self, path: str, params: Mapping[str, str | int] | None, headers: dict[str, str], what: str
    ) -> httpx.Response:
        self.stats.requests += 1
        sent = self._clock.monotonic()
        try:
            response = await self._http.get(path, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise ServerError(f"{what}: no answer within {self.settings.request_timeout_seconds:g} s") from exc
        except httpx.TransportError as exc:
            raise ServerError(f"{what}: connection failed ({type(exc).__name__}: {exc})") from exc
        if self.settings.enable_debug_logging:
            elapsed_ms = (self._clock.monotonic() - sent) * 1000
            self.log.info(
                f"GET {response.request.url.path}?{response.request.url.query.decode()} -> "
                f"{response.status_code} in {elapsed_ms:.0f} ms"
            )
        return response

    @staticmethod
    def _is_rejected_token(response: httpx.Response) -> bool:
        return response.status_code == 401 or (
            response.status_code == 403 and response.headers.get(MASHERY_CODE) == DEVELOPER_INACTIVE
        )

    def _read(self, response: httpx.Response, parse: Callable[[Any], T], what: str) -> T:
        status = response.status_code
        self._observe_quota_headers(response)
        if status == 200:
            self.limiter.on_success()
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise InvalidBodyError(f"{what}: the body is not valid JSON ({len(response.content)} bytes)") from exc
            return parse(body)
        code = response.headers.get(MASHERY_CODE, "")
        retry_after = retry_after_seconds(response)
        if status == 429 or (status == 403 and code == OVER_QPS):
            self._throttled(retry_after, what)
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
            raise ServerError(f"{what}: Egnyte answered {status} ({error_text(response)})", retry_after=retry_after)
        detail = error_text(response)
        raise UnexpectedResponseError(f"{what}: Egnyte answered {status} ({detail})", status=status, detail=detail)

    def _throttled(self, retry_after: float | None, what: str) -> NoReturn:
        wait = DEFAULT_THROTTLE_WAIT_S if retry_after is None else retry_after
        if wait > LONGEST_THROTTLE_WAIT_S:
            self.budget.exhaust()
            raise QuotaExhaustedError(
                f"Egnyte asked to pause for {wait:.0f} s ({what}); the sync stops here and resumes next run",
                reset_after=wait,
            )
        self.stats.throttled += 1
        self.limiter.on_throttle()
        self.gate.close_for(wait)
        raise ThrottledError(f"{what}: throttled by Egnyte, waiting {wait:g} s", retry_after=wait)

    def _observe_quota_headers(self, response: httpx.Response) -> None:
        allotted = response.headers.get("X-Accesstoken-Quota-Allotted")
        current = response.headers.get("X-Accesstoken-Quota-Current")
        if allotted and current:
            with contextlib.suppress(ValueError):
                self.budget.observe_server_quota(int(allotted), int(current))
