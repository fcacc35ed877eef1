"""configuration.json, checked once and turned into typed settings.

Fivetran hands the connector a dict of strings. Every problem in it is collected and reported together, one per line,
so that a person fixes the file in one pass instead of one failed sync per mistake. Secrets never appear in a
message or a repr.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from egnyte_async.errors import ConfigurationError

__all__ = [
    "AUTO",
    "EGNYTE_DEFAULT_DAILY_QUOTA",
    "EGNYTE_DEFAULT_RATE",
    "EGNYTE_MAX_PAGE_SIZE",
    "SECRET_KEYS",
    "Settings",
    "StreamSwitch",
    "auto_keys",
    "boolean_keys",
    "configuration_keys",
    "default_of",
    "numeric_keys",
    "parse_settings",
    "whole_number_keys",
]

SECRET_KEYS = frozenset({"api_token", "client_secret", "refresh_token"})
OAUTH_KEYS = ("client_id", "client_secret", "refresh_token")
#: The most records Egnyte returns in one page of any of the four listings.
EGNYTE_MAX_PAGE_SIZE = 100
#: Egnyte's limits for a token unless raised on request: where `auto` starts before Egnyte states the token's own.
EGNYTE_DEFAULT_RATE = 2.0
EGNYTE_DEFAULT_DAILY_QUOTA = 1000
#: The word that leaves a limit to Egnyte (`requests_per_second`, `daily_request_limit`); None in Settings.
AUTO = "auto"

_HIDDEN = "<hidden>"
_MAX_SYNC_FREQUENCY_HOURS = 24 * 7

#: Consecutive pages overlap by one record, which is how a scan proves that nothing slipped between them while the
#: listing changed (README "Pagination"): pages of a single record cannot overlap, so shifts would go unseen.
MIN_PAGE_SIZE = 2
#: One call every 10 seconds: 1,000 calls (Egnyte's default daily quota) still fit in under 3 hours. Anything slower
#: looks like a hung sync, and a value such as 1e-300 would wait forever between two calls without a word.
MIN_REQUESTS_PER_SECOND = 0.1
#: 15 minutes, Fivetran's shortest standard schedule. The value only sizes each sync's share of the daily quota
#: (budget.py, which never gives a sync fewer calls than it needs to make progress); a connection scheduled every
#: 5 minutes set to 0.25 takes a larger share per sync, and the day's count still caps the day. Below that, a
#: value is a mistake (minutes written as hours, say) rather than a schedule.
MIN_SYNC_FREQUENCY_HOURS = 0.25

# key: (smallest, largest), both accepted; the defaults are the Settings fields'.
_INTEGERS: dict[str, tuple[int, int]] = {
    "initial_sync_days": (1, 365),
    "max_records_per_page": (MIN_PAGE_SIZE, 1000),
    "retry_attempts": (0, 10),
    "max_concurrent_requests": (1, 64),
    "daily_request_limit": (1, 10_000_000),
    "bookmarks_refresh_days": (1, 365),
    "membership_refresh_hours": (1, 720),
}
# key: (smallest, largest), both accepted; a smallest of None accepts anything above 0.
_FLOATS: dict[str, tuple[float | None, float]] = {
    "sync_frequency_hours": (MIN_SYNC_FREQUENCY_HOURS, float(_MAX_SYNC_FREQUENCY_HOURS)),
    "request_timeout_seconds": (None, 600.0),
    "requests_per_second": (MIN_REQUESTS_PER_SECOND, 1000.0),
}
# What a key's smallest value means, told after the accepted range.
_WHY_THE_MINIMUM = {
    "max_records_per_page": "consecutive pages must overlap by one record",
    "requests_per_second": "0.1 is one call every 10 seconds",
    "sync_frequency_hours": "0.25 is 15 minutes",
}
#: Keys that also accept `auto`: follow the limit Egnyte states for the token (egnyte_async.limits).
_AUTO_KEYS = frozenset({"requests_per_second", "daily_request_limit"})
_BOOLEANS = ("enable_debug_logging",)
_TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "0", "off"})
_BOOLEAN_WORDS = "true/false, yes/no, 1/0 or on/off"

_GENERAL_KEYS = frozenset({"api_token", "domain", "base_url", *OAUTH_KEYS, *_INTEGERS, *_FLOATS, *_BOOLEANS})
_REQUIRED_KEYS = frozenset({"domain"})
_DOMAIN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.:")


class StreamSwitch(Protocol):
    """What the settings need of a stream: its name and the key that turns it on or off (the catalog's streams)."""

    @property
    def name(self) -> str: ...

    @property
    def flag(self) -> str: ...

    @property
    def enabled_by_default(self) -> bool: ...


@dataclass(frozen=True)
class Settings:
    """Everything configuration.json decides, typed and range-checked; the defaults here are the only ones.

    `requests_per_second` and `daily_request_limit` are None for `auto` (the default): the connector starts at
    Egnyte's defaults and follows the limits Egnyte states for the token; a number is a cap (egnyte_async.limits).
    `streams` names the enabled streams, in the catalog's order. `warnings` holds the non-fatal findings (unknown
    keys, placeholders left in optional keys, a page size lowered to Egnyte's maximum) for the connector to log at
    the start of a sync.
    """

    domain: str
    base_url: str
    api_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    sync_frequency_hours: float = 4.0
    initial_sync_days: int = 90
    max_records_per_page: int = EGNYTE_MAX_PAGE_SIZE
    request_timeout_seconds: float = 30.0
    retry_attempts: int = 3
    requests_per_second: float | None = None
    max_concurrent_requests: int = 16
    daily_request_limit: int | None = None
    #: Every user's bookmarks are listed once in this many days, a share of the users each sync, even when their
    #: lastActiveDate says they cannot have changed them, as the quota allows (streams/bookmarks.py).
    bookmarks_refresh_days: int = 7
    #: Every group's members are read again once in this many hours, a share of the groups each sync, as the quota
    #: allows; unused when the users listing carries each user's groups (streams/groups.py).
    membership_refresh_hours: int = 24
    streams: tuple[str, ...] = ()
    enable_debug_logging: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def tenant(self) -> str:
        """The Egnyte host this configuration reads (`acme.egnyte.com`): the saved state is bound to it. The port is
        left out, so the local sandbox, served on a new port each time, stays one tenant."""
        return (urlsplit(self.base_url).hostname or self.base_url).lower()

    def __repr__(self) -> str:
        # Unlike the dataclass default, say whether each secret is set, without showing it.
        parts = []
        for item in fields(self):
            value = getattr(self, item.name)
            shown = _HIDDEN if item.name in SECRET_KEYS and value is not None else repr(value)
            parts.append(f"{item.name}={shown}")
        return f"Settings({', '.join(parts)})"


_DEFAULTS: dict[str, Any] = {item.name: item.default for item in fields(Settings)}


class _Reader:
    """Reads keys one by one, remembering each problem instead of stopping at the first."""

    def __init__(self, configuration: Mapping[str, object], flags: frozenset[str]) -> None:
        self.configuration = configuration
        self.flags = flags
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, key: str, raw: str | None, requirement: str) -> None:
        if raw is None:
            self.problems.append(f"{key}: {requirement}")
        else:
            shown = _HIDDEN if key in SECRET_KEYS else repr(raw)
            self.problems.append(f"{key}: got {shown}; {requirement}")

    def text(self, key: str) -> str | None:
        """The value of `key` as stripped text, or None when absent, empty or a template placeholder."""
        value = self.configuration.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        elif not isinstance(value, str):
            self.problems.append(f"{key}: got a {type(value).__name__}; must be a string")
            return None
        value = value.strip()
        if not value:
            return None
        if is_placeholder(value):
            if key not in _REQUIRED_KEYS and key not in SECRET_KEYS and key not in OAUTH_KEYS:
                self.warnings.append(f"{key} still holds the template placeholder {value!r}; using the default")
            return None
        return value

    def is_placeholder(self, key: str) -> bool:
        value = self.configuration.get(key)
        return isinstance(value, str) and is_placeholder(value.strip())

    def is_auto(self, key: str) -> bool:
        """True when an `auto` key says `auto` (in any case)."""
        value = self.configuration.get(key)
        return key in _AUTO_KEYS and isinstance(value, str) and value.strip().lower() == AUTO

    def integer_or_auto(self, key: str) -> int | None:
        return None if self.is_auto(key) else self.integer(key)

    def number_or_auto(self, key: str) -> float | None:
        return None if self.is_auto(key) else self.number(key)

    def integer(self, key: str) -> int:
        default: int = _DEFAULTS[key]
        smallest, largest = _INTEGERS[key]
        raw = self.text(key)
        if raw is None:
            return default
        requirement = f"must be a whole number from {smallest} to {largest}" + _why(key) + _or_auto(key)
        digits = raw[1:] if raw[0] in "+-" else raw
        if not (digits.isascii() and digits.isdigit()):
            self.problem(key, raw, requirement)
            return default
        number = int(raw)
        if not smallest <= number <= largest:
            self.problem(key, raw, requirement)
            return default
        return number

    def number(self, key: str) -> float:
        default: float = _DEFAULTS[key]
        smallest, largest = _FLOATS[key]
        raw = self.text(key)
        if raw is None:
            return default
        if smallest is None:
            requirement = f"must be a number above 0 and at most {largest:g}"
        else:
            requirement = f"must be a number from {smallest:g} to {largest:g}" + _why(key)
        requirement += _or_auto(key)
        try:
            number = float(raw)
        except ValueError:
            if "," in raw:
                requirement += " (write decimals with a dot)"
            self.problem(key, raw, requirement)
            return default
        large_enough = number > 0 if smallest is None else number >= smallest
        if not (math.isfinite(number) and large_enough and number <= largest):
            self.problem(key, raw, requirement)
            return default
        return number

    def boolean(self, key: str, default: bool) -> bool:
        raw = self.text(key)
        if raw is None:
            return default
        word = raw.lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        self.problem(key, raw, f"must be {_BOOLEAN_WORDS}")
        return default

    def secret(self, key: str) -> str | None:
        raw = self.text(key)
        if raw is not None and not (raw.isascii() and raw.isprintable() and " " not in raw):
            # It goes into an HTTP header: a stray space, line break or non-ASCII character would break the request.
            self.problem(key, raw, "must be the token alone, without spaces, line breaks or non-ASCII characters")
            return None
        return raw


def _why(key: str) -> str:
    reason = _WHY_THE_MINIMUM.get(key)
    return f" ({reason})" if reason else ""


def _or_auto(key: str) -> str:
    return f", or {AUTO} to follow Egnyte's limit for the token" if key in _AUTO_KEYS else ""


def is_placeholder(value: str) -> bool:
    """True for a template value such as `<YOUR_EGNYTE_API_TOKEN>` that was never replaced."""
    return len(value) >= 2 and value[0] == "<" and value[-1] == ">"


def _read_domain(reader: _Reader) -> str | None:
    raw = reader.text("domain")
    if raw is None:
        if reader.is_placeholder("domain"):
            reader.problem("domain", None, "missing: replace the placeholder with your Egnyte domain, e.g. 'acme'")
        else:
            reader.problem("domain", None, "missing: give your Egnyte domain, e.g. 'acme' for acme.egnyte.com")
        return None
    if "://" in raw or "/" in raw:
        host = urlsplit(raw if "://" in raw else f"https://{raw}").hostname or ""
        suggestion = host.removesuffix(".egnyte.com") or "acme"
        reader.problem(
            "domain",
            raw,
            f"give the domain alone, without scheme or path, e.g. {suggestion!r}; put a full URL in base_url",
        )
        return None
    domain = raw.lower()
    odd = sorted(set(domain) - _DOMAIN_CHARACTERS)
    if odd or domain[0] in ".-:" or domain[-1] in ".-:":
        reader.problem("domain", raw, "must be a domain such as 'acme' (letters, digits, '-', or a host with dots)")
        return None
    return domain


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_base_url(reader: _Reader, domain: str | None) -> str | None:
    raw = reader.text("base_url")
    if raw is None:
        if domain is None:
            return None
        # A domain with a dot (or a port) is already a host name, as in Egnyte's own SDKs.
        return f"https://{domain}" if "." in domain or ":" in domain else f"https://{domain}.egnyte.com"
    requirement = "must be an http(s) URL with a host, e.g. 'https://acme.egnyte.com'"
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        reader.problem("base_url", raw, requirement)
        return None
    if parts.username is not None or parts.password is not None:
        reader.problem("base_url", None, "must not contain a user name or password; the token goes in api_token")
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or parts.query or parts.fragment:
        reader.problem("base_url", raw, requirement)
        return None
    if any(character.isspace() for character in raw):
        reader.problem("base_url", raw, requirement + ", without spaces")
        return None
    if "/pubapi" in parts.path:
        reader.problem(
            "base_url", raw, "give the site root, e.g. 'https://acme.egnyte.com': the connector adds /pubapi"
        )
        return None
    if parts.scheme.lower() == "http" and not _is_loopback(host):
        reader.problem(
            "base_url",
            raw,
            "use https: plain http would send the access token unencrypted (http is only allowed for localhost)",
        )
        return None
    return raw.rstrip("/")


def _read_credentials(reader: _Reader) -> tuple[str | None, str | None, str | None, str | None]:
    api_token = reader.secret("api_token")
    client_id = reader.secret("client_id")
    client_secret = reader.secret("client_secret")
    refresh_token = reader.secret("refresh_token")
    trio = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
    # A value refused above still counts as given: the person meant to set it.
    given = [key for key, value in trio.items() if value is not None or _already_reported(reader, key)]
    if given and len(given) < len(trio):
        missing = ", ".join(key for key in trio if key not in given)
        reader.problems.append(
            f"client_id, client_secret, refresh_token: give all three or none (missing: {missing})",
        )
    elif api_token is None and not given and not _already_reported(reader, "api_token"):
        action = "replace the placeholder with" if reader.is_placeholder("api_token") else "give"
        reader.problem(
            "api_token",
            None,
            f"missing: {action} an Egnyte API access token, or give client_id, client_secret and refresh_token",
        )
    return api_token, client_id, client_secret, refresh_token


def _already_reported(reader: _Reader, key: str) -> bool:
    return any(problem.startswith(f"{key}:") for problem in reader.problems)


def _page_size(reader: _Reader) -> int:
    requested = reader.integer("max_records_per_page")
    if requested > EGNYTE_MAX_PAGE_SIZE:
        reader.warnings.append(
            f"max_records_per_page={requested} is above Egnyte's maximum of {EGNYTE_MAX_PAGE_SIZE} records a page; "
            f"using {EGNYTE_MAX_PAGE_SIZE}"
        )
        return EGNYTE_MAX_PAGE_SIZE
    return requested


def _enabled_streams(reader: _Reader, streams: Sequence[StreamSwitch]) -> tuple[str, ...]:
    enabled = tuple(stream.name for stream in streams if reader.boolean(stream.flag, stream.enabled_by_default))
    if streams and not enabled:
        flags = ", ".join(stream.flag for stream in streams)
        reader.problems.append(f"{flags}: all are false; enable at least one table")
    return enabled


def _unknown_keys(reader: _Reader) -> None:
    known = _GENERAL_KEYS | reader.flags
    for key in sorted(str(key) for key in reader.configuration if key not in known):
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        reader.warnings.append(f"unknown configuration key {key!r} ignored{hint}")


def parse_settings(configuration: Mapping[str, object] | None, streams: Sequence[StreamSwitch]) -> Settings:
    """Check `configuration` and return it as Settings; raise ConfigurationError listing every problem found.

    `streams` are the catalog's streams, whose `enable_<name>` switches the configuration may hold.
    """
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, Mapping):
        raise ConfigurationError(
            f"configuration must be a JSON object of keys to values, not {type(configuration).__name__}"
        )
    reader = _Reader(configuration, frozenset(stream.flag for stream in streams))
    domain = _read_domain(reader)
    base_url = _read_base_url(reader, domain)
    api_token, client_id, client_secret, refresh_token = _read_credentials(reader)
    settings = Settings(
        domain="",
        base_url="",
        initial_sync_days=reader.integer("initial_sync_days"),
        max_records_per_page=_page_size(reader),
        retry_attempts=reader.integer("retry_attempts"),
        max_concurrent_requests=reader.integer("max_concurrent_requests"),
        daily_request_limit=reader.integer_or_auto("daily_request_limit"),
        bookmarks_refresh_days=reader.integer("bookmarks_refresh_days"),
        membership_refresh_hours=reader.integer("membership_refresh_hours"),
        sync_frequency_hours=reader.number("sync_frequency_hours"),
        request_timeout_seconds=reader.number("request_timeout_seconds"),
        requests_per_second=reader.number_or_auto("requests_per_second"),
        streams=_enabled_streams(reader, streams),
        enable_debug_logging=reader.boolean("enable_debug_logging", _DEFAULTS["enable_debug_logging"]),
    )
    _unknown_keys(reader)
    if reader.problems:
        count = len(reader.problems)
        heading = "configuration.json has 1 problem:" if count == 1 else f"configuration.json has {count} problems:"
        raise ConfigurationError("\n".join([heading, *(f"  - {problem}" for problem in reader.problems)]))
    assert domain is not None and base_url is not None  # guaranteed when no problem was found
    return replace(
        settings,
        domain=domain,
        base_url=base_url,
        api_token=api_token,
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        warnings=tuple(reader.warnings),
    )


def configuration_keys(streams: Sequence[StreamSwitch]) -> frozenset[str]:
    """Every key `parse_settings` reads: the general ones and each stream's `enable_<name>` switch."""
    return _GENERAL_KEYS | {stream.flag for stream in streams}


def numeric_keys() -> dict[str, tuple[float | None, float]]:
    """The numeric keys in the order of the Settings fields, each with its accepted range (both ends accepted; a
    smallest of None accepts anything above 0). Their defaults are `default_of(key)`."""
    ranges: dict[str, tuple[float | None, float]] = {**_INTEGERS, **_FLOATS}
    return {item.name: ranges[item.name] for item in fields(Settings) if item.name in ranges}


def auto_keys() -> frozenset[str]:
    """The numeric keys that also accept `auto` (their default, None in Settings)."""
    return _AUTO_KEYS


def whole_number_keys() -> frozenset[str]:
    return frozenset(_INTEGERS)


def boolean_keys() -> tuple[str, ...]:
    """The general on/off keys (the streams' switches aside)."""
    return _BOOLEANS


def default_of(key: str) -> Any:
    """The Settings default of a key (the only place defaults are written)."""
    return _DEFAULTS[key]
