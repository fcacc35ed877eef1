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
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx
import orjson

from egnyte_async.clock import SYSTEM_CLOCK, Clock
from egnyte_async.errors import (
    AuthenticationError,
    ConnectionFailedError,
    InvalidBodyError,
    RedirectRefusedError,
    RequestFailedError,
    ServerError,
)
from egnyte_async.redirects import location_of
from egnyte_async.responses import retry_after_seconds
from egnyte_async.secret import Secret

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
        timeout_s: float = 30.0,
    ) -> None:
        self._token = Secret.maybe(access_token)
        self._client_id = client_id
        self._client_secret = Secret.maybe(client_secret)
        self._refresh_token = Secret.maybe(refresh_token)
        self._clock = clock
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self.refreshes = 0

    @property
    def can_refresh(self) -> bool:
        return bool(self._client_id and self._client_secret and self._refresh_token)

    async def current(self, http: httpx.AsyncClient) -> Secret:
        if self._token is None:
            await self.refresh(http, rejected=None)
        assert self._token is not None
        return self._token

    async def refresh(self, http: httpx.AsyncClient, rejected: Secret | None) -> None:
        """Replaces the `rejected` token, unless another request already did."""
        async with self._lock:
            if self._token is not None and self._token is not rejected:
                return
            if not self.can_refresh:
                raise AuthenticationError(
                    "Egnyte rejected the access token (401 Developer Inactive). Generate a new api_token, "
                    "or set client_id, client_secret and refresh_token so the connector can refresh it."
                )
            self._token = await self._request_token(http)
            self.refreshes += 1

    def _form(self) -> bytes:
        """The refresh request's body; called inside the expression that sends it, so no local keeps it."""
        assert self._client_id and self._client_secret and self._refresh_token
        return urlencode(
            {
                "grant_type": "refresh_token",
                "client_id": self._client_id,
                "client_secret": self._client_secret.reveal(),
                "refresh_token": self._refresh_token.reveal(),
            }
        ).encode()

    async def _post(self, http: httpx.AsyncClient) -> httpx.Response:
        """One token request, its answer read whole within the request timeout; never follows a redirect."""
        try:
            with anyio.fail_after(self._timeout_s):
                return await http.post(
                    TOKEN_PATH,
                    content=self._form(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    follow_redirects=False,
                )
        except TimeoutError as exc:
            raise ServerError(f"Egnyte's token endpoint gave no answer within {self._timeout_s:g} s") from exc
        except httpx.InvalidURL as exc:
            # httpx works out a redirect's next request even when it follows none, and fails on a Location such
            # as "javascript:x" (not an httpx.HTTPError).
            raise RedirectRefusedError(
                f"Egnyte's token endpoint answered a redirect whose Location is not a URL ({exc}); the connector "
                "follows no redirect of the token endpoint. Check domain and base_url"
            ) from exc
        except httpx.ConnectError as exc:
            raise ConnectionFailedError(
                f"could not connect to Egnyte's token endpoint at {http.base_url.host} ({type(exc).__name__}: {exc})"
            ) from exc
        except httpx.HTTPError as exc:
            raise ServerError(
                f"could not reach Egnyte's token endpoint to refresh the token ({type(exc).__name__}: {exc})"
            ) from exc

    async def _request_token(self, http: httpx.AsyncClient) -> Secret:
        for attempt in range(TOKEN_THROTTLE_RETRIES + 1):
            response = await self._post(http)
            if response.status_code == 409 and attempt < TOKEN_THROTTLE_RETRIES:
                wait = retry_after_seconds(response) or 60.0
                if wait > TOKEN_THROTTLE_MAX_WAIT_S:
                    break
                await self._clock.sleep(wait)
                continue
            if response.status_code == 200:
                return self._read_token(response)
            if response.is_redirect:
                target = location_of(response, "Egnyte's token endpoint")
                raise RedirectRefusedError(
                    f"Egnyte's token endpoint answered {response.status_code}, redirecting to {target.host}: the "
                    "connector follows no redirect of the token endpoint (it would send client_secret and "
                    "refresh_token there). Check domain and base_url: they must name your Egnyte domain"
                )
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

    def _read_token(self, response: httpx.Response) -> Secret:
        token, rotated = _secrets_in(response)
        if token is None:
            raise AuthenticationError("Egnyte's token endpoint answered without a usable access_token")
        if rotated is not None:
            self._refresh_token = rotated
        return token


def _secrets_in(response: httpx.Response) -> tuple[Secret | None, Secret | None]:
    """The access token and the new refresh token (if any) of a token endpoint's answer, as Secrets.

    The parsed body lives only in this frame, which has returned by the time anything is raised with the
    secrets known."""
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        del body
        raise InvalidBodyError(
            f"Egnyte's token endpoint answered a body that is not a JSON object ({len(response.content)} bytes)"
        )
    token, rotated = body.get("access_token"), body.get("refresh_token")
    del body
    return (
        Secret(token) if isinstance(token, str) and _fits_a_header(token) else None,
        Secret(rotated) if isinstance(rotated, str) and rotated else None,
    )


def _fits_a_header(token: str) -> bool:
    """Whether a token can go in the Authorization header: printable ASCII without spaces, as the configured tokens
    must be. One with a line break would be refused on the way out by an error quoting the header, token and all."""
    return bool(token) and token.isascii() and token.isprintable() and " " not in token
