"""Every error the extractor raises on purpose, grouped by what the sync should do about it.

    EgnyteError
    ├── FatalError                  stop the sync: a person must fix something first
    │   ├── ConfigurationError      configuration.json is wrong
    │   ├── AuthenticationError     the token (or the refresh credentials) is not accepted
    │   ├── PermissionDeniedError   the token's user may not read this resource
    │   ├── NotFoundError           the endpoint or the domain does not exist
    │   ├── UnexpectedResponseError a status or body the connector does not know how to treat
    │   ├── RedirectRefusedError    a redirect to another origin, from the token endpoint, or in a loop
    │   └── RequestFailedError      a request still failed after every retry
    ├── RetryableError              try the same request again, after a pause
    │   ├── ThrottledError          the server asked us to slow down (403 over QPS, 429)
    │   ├── ServerError             5xx, timeouts, broken connections, bodies cut short or not decodable
    │   │   └── ConnectionFailedError   no connection at all: unknown host, refused (check domain, base_url)
    │   ├── InvalidBodyError        a 200 whose body is not the JSON the endpoint promises
    │   └── TokenRejectedError      a token rejected again right after a refresh (it expired once more)
    └── QuotaExhaustedError         the day's calls are spent (or a throttle asks for too long): stop asking, keep
                                    what was fetched, resume next sync

Each message says what went wrong and what to do; none of them ever contains a secret.
"""

from __future__ import annotations


class EgnyteError(Exception):
    """Base of every error the extractor raises on purpose."""


class FatalError(EgnyteError):
    """The sync cannot go on until a person changes something; retrying is pointless."""


class ConfigurationError(FatalError):
    """configuration.json is missing a key or holds a value the connector cannot use."""


class AuthenticationError(FatalError):
    """Egnyte refused the access token (401 Developer Inactive) and no refresh could cure it."""


class PermissionDeniedError(FatalError):
    """Egnyte answered 403 without a throttle code: the token's user lacks a permission."""


class NotFoundError(FatalError):
    """Egnyte answered 404 on a listing: wrong domain or base_url, or the API is not enabled."""


class UnexpectedResponseError(FatalError):
    """A status or a body that no rule covers; failing loudly beats guessing.

    `status` is the HTTP status and `detail` Egnyte's own error text, apart from the connector's words around it.
    """

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class RedirectRefusedError(FatalError):
    """Egnyte answered a redirect the connector will not follow: to another origin (scheme, host, port), any
    redirect of the token endpoint, or a loop. Following it could send the token or the refresh credentials to
    another server, or store another server's rows; base_url most likely does not name the Egnyte domain."""


class RequestFailedError(FatalError):
    """A request that was retried `retry_attempts` times (or for the whole time budget) and still failed."""


class RetryableError(EgnyteError):
    """A failure that the same request may not meet again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ThrottledError(RetryableError):
    """Egnyte's per-second limit was hit (403 ERR_403_DEVELOPER_OVER_QPS or 429); wait `retry_after` seconds."""


class ServerError(RetryableError):
    """A 5xx, a timeout or a broken connection."""


class ConnectionFailedError(ServerError):
    """No connection could be made: the host is unknown, refuses connections or does not answer the connect.
    Retried like any server error; when it persists, domain and base_url (or the network) are the likely cause."""


class InvalidBodyError(RetryableError):
    """A successful status with a body that is truncated, not JSON, or not the envelope the endpoint promises."""


class TokenRejectedError(RetryableError):
    """Egnyte rejected the token again after this very request had it refreshed: another expiry, or a refresh
    that yields unusable tokens; the request is retried (bounded by `retry_attempts`), refreshing anew."""


class QuotaExhaustedError(EgnyteError):
    """The day's request budget is spent (by our own count, Egnyte's quota headers, or ERR_403_DEVELOPER_OVER_RATE),
    or Egnyte's throttle asked for a pause longer than a sync waits (`throttle_wait_s`)."""

    def __init__(self, message: str, reset_after: float | None = None, *, throttle_wait_s: float | None = None) -> None:
        super().__init__(message)
        self.reset_after = reset_after
        #: Set when the stop is Egnyte's throttle asking for a pause (Retry-After) longer than a sync waits, not a
        #: spent quota.
        self.throttle_wait_s = throttle_wait_s
