"""The access token, and its one shared refresh.

A static `api_token` is used as it is. With `client_id`, `client_secret` and `refresh_token`, the token is
refreshed when Egnyte rejects it (or at start when no `api_token` is given). Many requests may see the same 401
at once; they all wait on one lock and only the first one asks the token endpoint, so the endpoint's own limit
(100 requests an hour, answered 409 + Retry-After) is never spent on a stampede. A token endpoint failing like
a server (5xx, timeout, dropped connection, cut-off body) raises a retryable error: the request that needed the
token is retried, within its `retry_attempts`.
"""

from __future__ import annotations

import asyncio

import httpx

from egnyte_async.clock import SYSTEM_CLOCK, Clock
from egnyte_async.errors import AuthenticationError, InvalidBodyError, RequestFailedError, ServerError
from egnyte_async.responses import retry_after_seconds

TOKEN_PATH = "/puboauth/token"
#: How often a 409 from the token endpoint is waited out before giving up.
TOKEN_THROTTLE_RETRIES = 3
#: The longest Retry-After from the token endpoint worth waiting for inside a sync.
TOKEN_THROTTLE_MAX_WAIT_S = 120.0


class TokenProvider:
    """Hands out the current access token and refreshes it, once for every request that found it rejected."""

    def __init__(
        self,
        access_token: str | None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._token = access_token
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._clock = clock
        self._lock = asyncio.Lock()
        self.refreshes = 0

    @property
    def can_refresh(self) -> bool:
        return bool(self._client_id and self._client_secret and self._refresh_token)

    async def current(self, http: httpx.AsyncClient) -> str:
        if self._token is None:
            await self.refresh(http, rejected=None)
        assert self._token is not None
        return self._token

    async def refresh(self, http: httpx.AsyncClient, rejected: str | None) -> None:
        """Replaces the `rejected` token, unless another request already did."""
        async with self._lock:
            if self._token is not None and self._token != rejected:
                return
            if not self.can_refresh:
                raise AuthenticationError(
                    "Egnyte rejected the access token (401 Developer Inactive). Generate a new api_token, "
                    "or set client_id, client_secret and refresh_token so the connector can refresh it."
                )
            self._token = await self._request_token(http)
            self.refreshes += 1

    async def _request_token(self, http: httpx.AsyncClient) -> str:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        for attempt in range(TOKEN_THROTTLE_RETRIES + 1):
            try:
                response = await http.post(TOKEN_PATH, data=form)
            except httpx.HTTPError as exc:
                raise ServerError(
                    f"could not reach Egnyte's token endpoint to refresh the token ({type(exc).__name__}: {exc})"
                ) from exc
            if response.status_code == 409 and attempt < TOKEN_THROTTLE_RETRIES:
                wait = retry_after_seconds(response) or 60.0
                if wait > TOKEN_THROTTLE_MAX_WAIT_S:
                    break
                await self._clock.sleep(wait)
                continue
            if response.status_code == 200:
                return self._read_token(response)
            if response.status_code in (400, 401, 403):
                raise AuthenticationError(
                    f"Egnyte's token endpoint refused the refresh ({response.status_code}): check client_id, "
                    "client_secret and refresh_token, or issue a new refresh token."
                )
            if response.status_code == 408 or response.status_code >= 500:
                # Retried with the request that needed the token, like any server error.
                raise ServerError(f"Egnyte's token endpoint answered {response.status_code} to a token refresh")
            raise RequestFailedError(f"Egnyte's token endpoint answered {response.status_code} to a token refresh")
        raise RequestFailedError(
            "Egnyte's token endpoint is throttling token requests (409); the sync will retry on its next run"
        )

    def _read_token(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError as exc:
            raise InvalidBodyError(
                f"Egnyte's token endpoint answered a body that is not JSON ({len(response.content)} bytes)"
            ) from exc
        try:
            token = body["access_token"]
        except (KeyError, TypeError) as exc:
            raise AuthenticationError("Egnyte's token endpoint answered without an access_token") from exc
        if not isinstance(token, str) or not token:
            raise AuthenticationError("Egnyte's token endpoint answered with an empty access_token")
        new_refresh = body.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh:
            self._refresh_token = new_refresh
        return token
