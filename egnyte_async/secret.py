"""A secret value that never shows itself: not in a repr, a str, an f-string, a log line or a crash report.

Crash reports dump the locals of every frame of a failed sync, redacting only the configuration's own values; an
access token Egnyte issued is not one of them. So tokens and refresh credentials travel as `Secret`s, and `reveal()`
is called only where the value is put on the wire, in an expression that no local variable keeps.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NoReturn

import httpx

HIDDEN = "Secret('********')"


class Secret:
    """Holds a string that only `reveal()` gives back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def maybe(cls, value: str | None) -> Secret | None:
        """A Secret of `value`, or None when it is None or empty."""
        return cls(value) if value else None

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return HIDDEN

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is not pickled")


class BearerAuth(httpx.Auth):
    """Sets `Authorization: Bearer <token>` on the request as it leaves, so no caller's local holds the header.

    httpx's own Headers repr hides the Authorization header.
    """

    def __init__(self, token: Secret) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer " + self.token.reveal()
        yield request

    def __repr__(self) -> str:
        return f"BearerAuth({HIDDEN})"
