"""The setup tests' substance: what a person setting up the connector wants to know, asked of Egnyte in a few calls.

Each check takes the configuration (as Fivetran hands it: a dict of strings) and returns an `Outcome` whose message
is written for that person: what was found, and on a failure what to change. The checks run in the order a
diagnosis needs (configuration, host, token, administrator, tables, limits), and `egnyte_async.setup_form` turns
them into the SDK's setup tests. This module never imports the SDK.

The checks of one run share a `Probe`: each distinct request is made once and its answer (or error) remembered, so
the whole run costs about five calls (userinfo, then one small page of each enabled table). The configuration
check, always the first of a run, starts a new probe; a probe older than `PROBE_TTL_S` is never reused. Requests go
through the connector's own `EgnyteClient`, with at most one retry and a short timeout, paced at the configured
`requests_per_second`, and each check ends within `CHECK_TIME_LIMIT_S` whatever Egnyte does.

Per-table checks are the `TABLE_CHECKS` mapping from a stream's name to its check: a new stream of the catalog gets
its check by adding one entry (a unit test fails for a stream without one).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import anyio
import httpx

from egnyte_async.budget import QuotaWindow, RequestBudget
from egnyte_async.catalog import CATALOG
from egnyte_async.client import EgnyteClient
from egnyte_async.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    EgnyteError,
    InvalidBodyError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RedirectRefusedError,
    RequestFailedError,
    UnexpectedResponseError,
)
from egnyte_async.limits import LimitPolicy, parse_quota_reset
from egnyte_async.log import NullLog
from egnyte_async.pagination import Page
from egnyte_async.settings import EGNYTE_DEFAULT_DAILY_QUOTA, EGNYTE_DEFAULT_RATE, Settings, parse_settings
from egnyte_async.streams.bookmarks import parse_bookmarks_page
from egnyte_async.streams.notes import Window, parse_notes_page, time_params
from egnyte_async.streams.scim import parse_scim_page

__all__ = [
    "CHECK_TIME_LIMIT_S",
    "LIMIT_HEADERS",
    "TABLE_CHECKS",
    "Outcome",
    "TableCheck",
    "check_administrator",
    "check_configuration",
    "check_host",
    "check_limits",
    "check_tables",
    "check_token",
    "forget_probes",
]

T = TypeVar("T")

#: The longest a single check may take, however slowly Egnyte answers or throttles.
CHECK_TIME_LIMIT_S = 30.0
#: The most calls one check may spend of the day's quota.
CHECK_CALLS = 100
#: The timeout of one request during the checks (or the configured one, if shorter).
REQUEST_TIMEOUT_S = 10.0
#: Retries of a failed request during the checks (or the configured number, if fewer): a quick answer beats a
#: patient one when a person is waiting in front of the setup form.
RETRY_ATTEMPTS = 1
#: A probe this old is not reused: a new run asks Egnyte again.
PROBE_TTL_S = 120.0
#: The notes window of the notes check: a small one, so the page is cheap whatever the domain holds.
NOTES_WINDOW = timedelta(days=1)
#: What Egnyte says of a token's limits, in its response headers (when it says).
LIMIT_HEADERS = (
    "X-Accesstoken-Qps-Allotted",
    "X-Accesstoken-Qps-Current",
    "X-Accesstoken-Quota-Allotted",
    "X-Accesstoken-Quota-Current",
    "X-Quota-Reset",
)
USERINFO = "/pubapi/v1/userinfo"


@dataclass(frozen=True)
class Outcome:
    """A check's verdict and what to tell the person: on success what was found, on failure what to fix."""

    passed: bool
    message: str


# ---- the probe: each request once per run ----------------------------------------------------------------------


class _HeaderTap(httpx.AsyncBaseTransport):
    """Keeps the limit headers of every answer that passes (the client reads only the bodies)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, seen: dict[str, str]) -> None:
        self._inner = inner
        self._seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        for name in LIMIT_HEADERS:
            value = response.headers.get(name)
            if value is not None:
                self._seen[name] = value
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class Probe:
    """One run's requests and their answers (a parsed body or our error), and the limit headers seen."""

    settings: Settings
    created: float = field(default_factory=time.monotonic)
    answers: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    _last_call: float | None = None

    async def get(
        self,
        client: EgnyteClient,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        parse: Callable[[Any], T],
        what: str,
        act_as: str | None = None,
    ) -> T:
        key = (path, tuple(sorted((params or {}).items())), act_as)
        if key in self.answers:
            answer = self.answers[key]
            if isinstance(answer, EgnyteError):
                raise answer
            return answer  # type: ignore[no-any-return]
        await self._pace()
        self.calls += 1
        try:
            result = await client.get(path, params, parse=parse, what=what, act_as=act_as)
        except EgnyteError as error:
            self.answers[key] = error
            raise
        self.answers[key] = result
        return result

    async def _pace(self) -> None:
        """Keeps to the configured pace across the checks' clients (each check has its own)."""
        gap = 1.0 / (self.settings.requests_per_second or EGNYTE_DEFAULT_RATE)
        if self._last_call is not None:
            wait = self._last_call + gap - time.monotonic()
            if wait > 0:
                await anyio.sleep(wait)
        self._last_call = time.monotonic()


_PROBES: dict[str, Probe] = {}


def _digest(configuration: Mapping[str, object]) -> str:
    """Names a configuration without keeping its secrets."""
    text = json.dumps({str(key): str(value) for key, value in configuration.items()}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _probe_for(configuration: Mapping[str, object], settings: Settings) -> Probe:
    now = time.monotonic()
    for key in [key for key, probe in _PROBES.items() if now - probe.created > PROBE_TTL_S]:
        del _PROBES[key]
    digest = _digest(configuration)
    probe = _PROBES.get(digest)
    if probe is None:
        probe = _PROBES[digest] = Probe(settings)
    return probe


def forget_probes() -> None:
    """Forgets every remembered answer: the next check asks Egnyte again."""
    _PROBES.clear()


def _for_checks(settings: Settings) -> Settings:
    """The settings of the checks' client: few retries, a short timeout, one request at a time."""
    return replace(
        settings,
        retry_attempts=min(settings.retry_attempts, RETRY_ATTEMPTS),
        request_timeout_seconds=min(settings.request_timeout_seconds, REQUEST_TIMEOUT_S),
        max_concurrent_requests=1,
        enable_debug_logging=False,
    )


def _run(
    configuration: Mapping[str, object] | None,
    body: Callable[[Probe, EgnyteClient], Awaitable[Outcome]],
    transport: httpx.AsyncBaseTransport | None = None,
) -> Outcome:
    """Parses the configuration and runs `body` with the run's probe and a client, within the time limit."""
    try:
        settings = parse_settings(configuration, CATALOG)
    except ConfigurationError as error:
        return Outcome(False, f"The configuration must be fixed first. {error}")
    assert configuration is not None
    probe = _probe_for(configuration, settings)

    async def main() -> Outcome:
        now = datetime.now(timezone.utc)
        budget = RequestBudget(CHECK_CALLS, 24.0, QuotaWindow(started=now), now)
        # The checks never spend more than CHECK_CALLS, whatever quota Egnyte states; the pace follows the settings.
        limits = LimitPolicy(settings.requests_per_second, CHECK_CALLS, NullLog())
        tap = _HeaderTap(transport or httpx.AsyncHTTPTransport(), probe.headers)
        try:
            with anyio.fail_after(CHECK_TIME_LIMIT_S):
                async with EgnyteClient(_for_checks(settings), budget, transport=tap, policy=limits) as client:
                    return await body(probe, client)
        except TimeoutError:
            return Outcome(
                False,
                f"Egnyte at {settings.base_url} did not finish answering within {CHECK_TIME_LIMIT_S:g} s. "
                "Try again later; if it persists, check domain and base_url.",
            )

    return anyio.run(main)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidBodyError("expected a JSON object")
    return body


async def _userinfo(probe: Probe, client: EgnyteClient) -> dict[str, Any]:
    return await probe.get(client, USERINFO, parse=_object, what="userinfo")


# ---- what to tell the person -----------------------------------------------------------------------------------


#: What the system's resolver says of a host name it does not know (Linux, macOS, Windows).
_UNKNOWN_NAME = ("Name or service not known", "nodename nor servname", "No address associated", "getaddrinfo failed")


def _root_cause(error: BaseException) -> BaseException:
    """A RequestFailedError (retries spent) stands for its last error."""
    cause = error.__cause__
    return cause if isinstance(error, RequestFailedError) and cause is not None else error


def _explain(error: EgnyteError, settings: Settings, what: str) -> str:
    """What went wrong with `what`, and what to change, in a user's words."""
    cause = _root_cause(error)
    where = settings.base_url
    if isinstance(cause, ConnectionFailedError):
        host = httpx.URL(where).host
        detail = re.sub(r"^could not connect to \S+\s*", "", str(cause))  # the host is named below
        unknown = any(text in detail for text in _UNKNOWN_NAME)
        found = f"the name {host} does not resolve" if unknown else f"nothing answers at {where}"
        return (
            f"Could not connect to Egnyte: {found} {detail}. Check domain ({settings.domain!r}) and base_url: they "
            "must name your Egnyte domain (e.g. 'acme' for acme.egnyte.com), reachable from this network."
        )
    if isinstance(cause, AuthenticationError):
        if "token endpoint" in str(cause):
            return f"Egnyte did not renew the access token: {cause}"
        return (
            "Egnyte rejected the access token (401 Developer Inactive): it is wrong, expired or revoked. Generate a "
            "new api_token in Egnyte (signed in as an administrator), or set client_id, client_secret and "
            "refresh_token so the connector can renew it."
        )
    if isinstance(cause, NotFoundError):
        return (
            f"{where} answered 404 to {what}: it does not serve Egnyte's public API. Check domain and base_url: "
            "they must name your Egnyte domain (e.g. 'acme' for acme.egnyte.com)."
        )
    if isinstance(cause, RedirectRefusedError):
        return f"{cause}"
    if isinstance(cause, QuotaExhaustedError):
        hours = f" (it resets in about {cause.reset_after / 3600:.1f} h)" if cause.reset_after else ""
        return (
            f"Egnyte says this token's daily request quota is spent{hours}. The connection works, but nothing can "
            "be read until the quota resets: test again later, or ask Egnyte to raise the token's quota."
        )
    if isinstance(cause, PermissionDeniedError):
        return (
            f"Egnyte denied {what} (403). An administrator's token is needed to list users and groups, read the "
            "notes of the whole domain and act as other users (bookmarks): generate the token while signed in as "
            "an administrator, or disable the tables it cannot read."
        )
    if isinstance(cause, (InvalidBodyError, UnexpectedResponseError)):
        return (
            f"{where} answered {what} with something Egnyte would not send ({cause}). Check base_url: it must be "
            "your Egnyte domain's address."
        )
    return f"Egnyte could not answer {what} at {where} ({cause}). Try again later; if it persists, check base_url."


def _answered(error: EgnyteError) -> bool:
    """Whether Egnyte's host answered at all (with whatever status) before this error."""
    cause = _root_cause(error)
    return isinstance(cause, (AuthenticationError, PermissionDeniedError, QuotaExhaustedError))


def _person(info: Mapping[str, Any]) -> str:
    username = info.get("username") or info.get("userName") or "?"
    names = " ".join(str(info[key]) for key in ("first_name", "last_name") if info.get(key))
    return f"{username} ({names})" if names else str(username)


def _user_type(info: Mapping[str, Any]) -> str | None:
    value = info.get("user_type", info.get("userType"))
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


# ---- the checks ------------------------------------------------------------------------------------------------


def check_configuration(configuration: Mapping[str, object] | None) -> Outcome:
    """Whether the configuration is valid; the first check of a run, so it also starts a new probe."""
    try:
        settings = parse_settings(configuration, CATALOG)
    except ConfigurationError as error:
        return Outcome(False, f"The configuration is not valid. {error}")
    assert configuration is not None
    _PROBES.pop(_digest(configuration), None)
    notes = "".join(f" Note: {warning}." for warning in settings.warnings)
    auth = "OAuth refresh" if settings.client_id else "an API token"
    return Outcome(
        True,
        f"The configuration is valid: Egnyte at {settings.base_url}, with {auth}; tables: "
        f"{', '.join(settings.streams)}.{notes}",
    )


def check_host(
    configuration: Mapping[str, object] | None, transport: httpx.AsyncBaseTransport | None = None
) -> Outcome:
    """Whether the domain resolves and Egnyte's API answers at base_url (with whatever verdict on the token)."""

    async def body(probe: Probe, client: EgnyteClient) -> Outcome:
        where = probe.settings.base_url
        try:
            await _userinfo(probe, client)
        except EgnyteError as error:
            if not _answered(error):
                return Outcome(False, _explain(error, probe.settings, "a request for the token's user (userinfo)"))
        return Outcome(True, f"Egnyte answers at {where}.")

    return _run(configuration, body, transport)


def check_token(
    configuration: Mapping[str, object] | None, transport: httpx.AsyncBaseTransport | None = None
) -> Outcome:
    """Whether Egnyte accepts the token (or the OAuth trio yields one), and whose it is."""

    async def body(probe: Probe, client: EgnyteClient) -> Outcome:
        try:
            info = await _userinfo(probe, client)
        except EgnyteError as error:
            return Outcome(False, _explain(error, probe.settings, "a request for the token's user (userinfo)"))
        return Outcome(True, f"Egnyte accepts the token: it belongs to {_person(info)}.")

    return _run(configuration, body, transport)


def check_administrator(
    configuration: Mapping[str, object] | None, transport: httpx.AsyncBaseTransport | None = None
) -> Outcome:
    """Whether the token is an administrator's, when an enabled table needs one: userinfo's user_type, or, when
    Egnyte does not say, whether the users listing answers."""

    async def body(probe: Probe, client: EgnyteClient) -> Outcome:
        settings = probe.settings
        needing = [name for name in settings.streams if name in TABLE_CHECKS and TABLE_CHECKS[name].needs_admin]
        if not needing:
            return Outcome(True, "No enabled table needs an administrator's token.")
        try:
            info = await _userinfo(probe, client)
        except EgnyteError as error:
            return Outcome(False, _explain(error, settings, "a request for the token's user (userinfo)"))
        user_type = _user_type(info)
        admin: bool
        if user_type is not None:
            admin = user_type in ("admin", "administrator")
        else:
            try:
                await _users_page(probe, client)
                admin = True
            except EgnyteError as error:
                if not isinstance(_root_cause(error), PermissionDeniedError):
                    return Outcome(False, _explain(error, settings, "the users listing"))
                admin = False
        if admin:
            return Outcome(True, f"The token is an administrator's: {_person(info)}.")
        kind = f", a {user_type} user," if user_type else ""
        return Outcome(
            False,
            f"The token belongs to {_person(info)}{kind} not an administrator. Egnyte only lets an administrator "
            "list users and groups, read the notes of the whole domain and act as other users (to list their "
            f"bookmarks), which the enabled tables need ({', '.join(needing)}). Generate the token while signed in "
            f"as an administrator, or disable those tables ({', '.join('enable_' + n for n in needing)}).",
        )

    return _run(configuration, body, transport)


def check_tables(
    configuration: Mapping[str, object] | None, transport: httpx.AsyncBaseTransport | None = None
) -> Outcome:
    """Whether each enabled table can be read: one small page of each, through its entry of `TABLE_CHECKS`."""

    async def body(probe: Probe, client: EgnyteClient) -> Outcome:
        settings = probe.settings
        found: list[str] = []
        # What to tell, and whether skipping the tables would help -> the tables it concerns, so it is told once.
        problems: dict[tuple[str, bool], list[str]] = {}
        for name in settings.streams:
            check = TABLE_CHECKS.get(name)
            if check is None:
                found.append(f"{name} (not checked)")
                continue
            try:
                found.append(f"{name} ({await check.read(probe, client)})")
            except EgnyteError as error:
                cause = _root_cause(error)
                own = isinstance(cause, (PermissionDeniedError, NotFoundError, UnexpectedResponseError))
                denied = check.denied if isinstance(cause, PermissionDeniedError) else None
                problems.setdefault((denied or _explain(error, settings, "the listing"), own), []).append(name)
        if problems:
            told = []
            for (advice, own), names in problems.items():
                flags = _words([f"enable_{name}" for name in names])
                skip = f" (To skip a table, set {flags} to false.)" if own else ""
                told.append(f"{_words(names)} cannot be read: {advice}{skip}")
            return Outcome(False, " ".join(told))
        return Outcome(True, f"Every enabled table can be read: {', '.join(found)}.")

    return _run(configuration, body, transport)


def check_limits(
    configuration: Mapping[str, object] | None, transport: httpx.AsyncBaseTransport | None = None
) -> Outcome:
    """What Egnyte says of the token's limits (X-Accesstoken-* headers), next to what the configuration asks."""

    async def body(probe: Probe, client: EgnyteClient) -> Outcome:
        settings = probe.settings
        if not probe.headers:
            try:
                await _userinfo(probe, client)
            except EgnyteError as error:
                return Outcome(False, _explain(error, settings, "a request for the token's user (userinfo)"))
        return Outcome(True, describe_limits(probe.headers, settings))

    return _run(configuration, body, transport)


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def describe_limits(headers: Mapping[str, str], settings: Settings) -> str:
    """The token's limits in words, with advice where the configuration asks for more than Egnyte allows."""
    qps = _number(headers.get("X-Accesstoken-Qps-Allotted"))
    quota = _number(headers.get("X-Accesstoken-Quota-Allotted"))
    used = _number(headers.get("X-Accesstoken-Quota-Current"))
    rate_setting, quota_setting = settings.requests_per_second, settings.daily_request_limit
    if qps is None and quota is None:
        rate = f"{rate_setting:g}" if rate_setting is not None else f"auto (Egnyte's default, {EGNYTE_DEFAULT_RATE:g})"
        default_day = f"auto (Egnyte's default, {EGNYTE_DEFAULT_DAILY_QUOTA})"
        day = f"{quota_setting}" if quota_setting is not None else default_day
        return (
            "Egnyte reported no limits for this token (no X-Accesstoken headers); the connector keeps to "
            f"requests_per_second={rate} and daily_request_limit={day}."
        )
    parts = []
    if qps is not None:
        parts.append(f"{qps:g} calls a second")
    if quota is not None:
        today = f", {used:,.0f} used so far today" if used is not None else ""
        reset = parse_quota_reset(headers.get("X-Quota-Reset"))
        ends = f", the day ends {reset:%Y-%m-%d %H:%M} UTC" if reset is not None else ""
        parts.append(f"{quota:,.0f} calls a day{today}{ends}")
    advice = []
    if qps is not None and rate_setting is not None and rate_setting > qps:
        advice.append(
            f"requests_per_second ({rate_setting:g}) is above what Egnyte allows: set it to {qps:g} "
            "to avoid being throttled (or to auto: the connector then follows Egnyte's limit)."
        )
    if quota is not None and quota_setting is not None and quota_setting > quota:
        advice.append(
            f"daily_request_limit ({quota_setting}) is above the token's daily quota: the connector "
            f"follows Egnyte's count, but set it to {quota:.0f} (or to auto) to plan each sync's share right."
        )
    auto = [key for key, value in (("requests_per_second", rate_setting), ("daily_request_limit", quota_setting))
            if value is None]  # fmt: skip
    if auto:
        advice.append(f"{' and '.join(auto)} {'is' if len(auto) == 1 else 'are'} auto: the connector follows them.")
    return f"Egnyte's limits for this token: {'; '.join(parts)}." + "".join(f" {item}" for item in advice)


# ---- one check per table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableCheck:
    """How to prove a table readable with one small request (or two), and whether it needs an administrator.

    `read` returns a few words for the success message ("50 in all")."""

    needs_admin: bool
    read: Callable[[Probe, EgnyteClient], Awaitable[str]]
    #: What a 403 means for this table, when it is not a missing administrator's right.
    denied: str | None = None


def _total(page: Page, noun: str) -> str:
    return f"{page.total:,} {noun}" if page.total is not None else "readable"


async def _users_page(probe: Probe, client: EgnyteClient) -> Page:
    params = {"startIndex": 1, "count": 1}
    return await probe.get(client, "/pubapi/v2/users", params, parse=parse_scim_page, what="users listing")


async def _read_users(probe: Probe, client: EgnyteClient) -> str:
    return _total(await _users_page(probe, client), "users")


async def _read_groups(probe: Probe, client: EgnyteClient) -> str:
    params = {"startIndex": 1, "count": 1}
    page = await probe.get(client, "/pubapi/v2/groups", params, parse=parse_scim_page, what="groups listing")
    return _total(page, "groups")


async def _read_notes(probe: Probe, client: EgnyteClient) -> str:
    """One page of the whole domain's notes of the last day; in whole days if Egnyte refuses ISO-8601 bounds."""
    end = datetime.now(timezone.utc).replace(microsecond=0)
    window = Window(end - NOTES_WINDOW, end)
    for time_format in ("iso", "date"):
        params: dict[str, str | int] = {"offset": 0, "count": 1, **time_params(window, time_format)}
        try:
            page = await probe.get(client, "/pubapi/v1/notes", params, parse=parse_notes_page, what="notes listing")
        except UnexpectedResponseError as error:
            if time_format == "iso" and error.status == 400:
                continue
            raise
        return _total(page, "created in the last day")
    raise AssertionError("unreachable")  # pragma: no cover


async def _read_bookmarks(probe: Probe, client: EgnyteClient) -> str:
    """What the sync does, in small: one page of the users listing (whose bookmarks to read: an administrator's
    right), then one page of bookmarks acting as the token's own user (the sync acts as each user in turn)."""
    await _users_page(probe, client)
    info = await _userinfo(probe, client)
    username = info.get("username")
    act_as = username if isinstance(username, str) and username.isascii() and username else None
    for offset in (0, 1):
        params = {"offset": offset, "count": 1}
        try:
            await probe.get(
                client, "/pubapi/v1/bookmarks", params, parse=parse_bookmarks_page, what="bookmarks listing",
                act_as=act_as,
            )  # fmt: skip
        except UnexpectedResponseError as error:
            if offset == 0 and error.status == 400 and "offset" in error.detail.lower():
                continue
            raise
        return f"as {act_as}" if act_as else "readable"
    raise AssertionError("unreachable")  # pragma: no cover


#: Stream name -> its check. A stream of the catalog without an entry is reported "not checked" (and a unit test
#: fails): adding a stream's check is adding its entry here.
async def _read_events(probe: Probe, client: EgnyteClient) -> str:
    """The events feed's cursor: one call, which a plan without the feed refuses."""
    cursor = await probe.get(client, "/pubapi/v1/events/cursor", {}, parse=_object, what="events feed cursor")
    latest = cursor.get("latest_event_id")
    return f"the feed is at event {latest}" if isinstance(latest, int) else "the feed answers"


TABLE_CHECKS: dict[str, TableCheck] = {
    "users": TableCheck(needs_admin=True, read=_read_users),
    "groups": TableCheck(needs_admin=True, read=_read_groups),
    "notes": TableCheck(needs_admin=True, read=_read_notes),
    # The sync lists the users (an administrator's right) and acts as each of them.
    "bookmarks": TableCheck(needs_admin=True, read=_read_bookmarks),
    "events": TableCheck(
        needs_admin=True,
        read=_read_events,
        denied=(
            "Egnyte refused its events feed (403): the plan may not include it, or the token is not an "
            "administrator's. Ask Egnyte to enable the events API for the domain."
        ),
    ),
}
