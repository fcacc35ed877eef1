"""Access and refresh tokens: the static token, tokens issued by `/puboauth/token`, expiry and revocation."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .mixing import mix64, salt

TOKEN_WINDOW_S = 3600.0


@dataclass
class AccessToken:
    value: str
    username: str
    expires_at: float | None
    issued: bool
    """False for the static token, which never expires and cannot be refreshed."""


class TokenStore:
    """Which bearer tokens are valid, for whom, and until when (on the injectable monotonic clock)."""

    def __init__(
        self,
        static_token: str,
        admin_username: str,
        refresh_token: str,
        lifetime_s: float,
        requests_per_hour: int | None,
        seed: int,
        clock: Callable[[], float],
    ) -> None:
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.requests_per_hour = requests_per_hour
        self._salt = salt(seed, "tokens")
        self._issued = 0
        self._tokens: dict[str, AccessToken] = {static_token: AccessToken(static_token, admin_username, None, False)}
        self._refresh: dict[str, str] = {refresh_token: admin_username}
        self._token_calls: deque[float] = deque()

    def add_static(self, value: str, username: str) -> None:
        """Another token that never expires, belonging to `username`."""
        self._tokens[value] = AccessToken(value, username, None, False)

    def authenticate(self, value: str | None) -> AccessToken | None:
        """The token if it is known, not revoked and not expired."""
        token = self._tokens.get(value) if value else None
        if token is None:
            return None
        if token.expires_at is not None and self.clock() >= token.expires_at:
            del self._tokens[token.value]
            return None
        return token

    def _new_secret(self, prefix: str) -> str:
        self._issued += 1
        return f"{prefix}{mix64(self._salt ^ self._issued):016x}{self._issued:06x}"

    def issue(self, username: str) -> AccessToken:
        """A fresh access token for `username`, expiring after the configured lifetime."""
        token = AccessToken(self._new_secret("sbx"), username, self.clock() + self.lifetime_s, True)
        self._tokens[token.value] = token
        return token

    def refresh_token_for(self, username: str) -> str:
        """The refresh token to hand out with a password grant (one per user, reused)."""
        for value, owner in self._refresh.items():
            if owner == username:
                return value
        value = self._new_secret("sbr")
        self._refresh[value] = username
        return value

    def user_of_refresh_token(self, value: str) -> str | None:
        return self._refresh.get(value)

    def revoke(self, value: str) -> bool:
        return self._tokens.pop(value, None) is not None

    def admit_token_request(self) -> int | None:
        """None if a token request may proceed, else the Retry-After seconds (sliding one-hour window)."""
        if self.requests_per_hour is None:
            return None
        now = self.clock()
        calls = self._token_calls
        while calls and calls[0] <= now - TOKEN_WINDOW_S:
            calls.popleft()
        if len(calls) >= self.requests_per_hour:
            return max(1, math.ceil(calls[0] + TOKEN_WINDOW_S - now))
        calls.append(now)
        return None
