"""Everything that shapes a sandbox: tenant sizes, credentials, limits, faults and one switch per UNSURE point.

The switches exist because the real API is only partly documented: wherever sources disagree, the sandbox can
serve each variant so that the connector's tests cover all of them rather than one guess.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .dates import DATE_FORMATS
from .per_second import LIMITER_KINDS

FAULT_KINDS = (
    "500",
    "502",
    "503",
    "504",
    "reset",
    "truncated",
    "malformed",
    "slow",
    "expire_token",
    "repeat_page",
    "bad_envelope",
)
DEFAULT_FAULT_KINDS = ("500", "502", "503", "504", "reset", "truncated", "malformed", "slow", "expire_token")

CHOICES: dict[str, tuple[object, ...]] = {
    "throttle_style": ("mashery", "429"),
    "limiter_kind": LIMITER_KINDS,
    "items_per_page": ("returned", "requested"),
    "over_max_count": ("clamp", "reject"),
    "user_id_type": ("number", "string"),
    "date_format": DATE_FORMATS,
    "notes_time_filter": ("iso", "date", "ignore"),
    "notes_bounds": ("inclusive", "exclusive"),
    "notes_order": ("asc", "desc"),
    "invalid_token_style": ("html", "json", "403"),
    "v1_error_style": ("errors", "inputErrors", "message", "text", "html"),
    "bookmarks_offset_base": (0, 1),
    "usernames": ("ascii", "unicode", "unicode_email"),
    "note_event_id_field": ("note_id", "id", "note.id"),
}

ANCHOR = datetime(2026, 11, 1, tzinfo=timezone.utc)


def fixed_anchor() -> datetime:
    """The default "now" of the generated data: fixed, so the same seed always yields the same tenant."""
    return ANCHOR


@dataclass
class FaultPlan:
    """Which requests fail and how.

    Requests are numbered from 1 in arrival order, counting every request except the `/_sandbox/` control
    endpoints (so token requests count too); `schedule` maps such numbers to a fault kind for exact tests, and
    `rate` draws faults from `kinds` with a hash of (seed, request number), so a run is reproducible.
    A fault that cannot apply to a request (expire_token on the static token, repeat_page on a detail call...)
    leaves the request untouched and is not counted.

    `path_schedule` counts the requests to each path it names (matched exactly, query aside, from 1 when the plan
    is set) and maps such numbers to a kind: `{"/pubapi/v1/bookmarks": {3: "500"}}` fails the third bookmarks call,
    however calls to other paths interleave with it. Its kinds are sure to be injected, given enough requests to the
    path: each joins the path's queue at its number, and the queue hands one kind to each request to the path; a
    kind that cannot apply to its request (no page before it to repeat, a token already revoked) goes back to the
    end of the queue for a later request. A request handed a kind takes it whatever `schedule`, `rate` and `paths`
    say.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    schedule: dict[int, str] = field(default_factory=dict)
    slow_s: float = 60.0
    paths: tuple[str, ...] = ()
    expire_static: bool = False
    path_schedule: dict[str, dict[int, str]] = field(default_factory=dict)

    def scheduled_kinds(self) -> list[str]:
        """Every kind `schedule` and `path_schedule` name, repeats included."""
        return [*self.schedule.values(), *(kind for plan in self.path_schedule.values() for kind in plan.values())]

    def __post_init__(self) -> None:
        unknown = [kind for kind in (*self.kinds, *self.scheduled_kinds()) if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; expected some of {FAULT_KINDS}")
        if any(number < 1 for plan in self.path_schedule.values() for number in plan):
            raise ValueError("path_schedule counts each path's requests from 1")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("fault rate must be within [0, 1]")
        if self.rate and not self.kinds:
            raise ValueError("a fault rate needs at least one fault kind")


@dataclass
class SandboxConfig:
    """The whole behaviour of one sandbox; egnyte_sandbox/README.md says what each switch mirrors."""

    seed: int = 1
    users: int = 50
    groups: int = 5
    members_per_group: int = 10
    notes: int = 200
    bookmarks_per_user: int = 2
    admin_username: str = "admin"
    static_token: str = "sandbox-token"
    #: A second static token, belonging to the first active standard (non-admin) user of the tenant: listing users,
    #: groups and the domain's notes, and acting as others, answer it 403 without a Mashery code. None: no such token.
    standard_token: str | None = None
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    refresh_token: str = "sandbox-refresh"
    user_password: str = "sandbox-password"
    email_domain: str = "acme-sandbox.com"
    token_lifetime_s: float = 3600.0
    token_requests_per_hour: int | None = 100
    qps_limit: float | None = 2.0
    #: How the per-second limit counts calls: `token_bucket`, `sliding_window` or `fixed_window` (per_second.py).
    limiter_kind: str = "token_bucket"
    daily_quota: int | None = 1000
    throttle_style: str = "mashery"
    accesstoken_headers: bool = True
    invalid_token_style: str = "html"
    latency_s: float = 0.0
    jitter_s: float = 0.0
    items_per_page: str = "returned"
    over_max_count: str = "clamp"
    scim_max_count: int = 100
    notes_max_count: int = 100
    bookmarks_max_count: int = 100
    user_id_type: str = "number"
    date_format: str = "egnyte"
    notes_time_filter: str = "iso"
    notes_bounds: str = "inclusive"
    notes_order: str = "asc"
    notes_total: bool = True
    notes_count_key: bool = True
    notes_file_id: bool = False
    #: When above 0, every note's message is this many characters long (a tenant of long comments).
    note_message_chars: int = 0
    bookmarks_total: bool = False
    bookmarks_offset_base: int = 0
    scim_schemas: bool = True
    optional_user_dates: bool = True
    userinfo_email: bool = True
    #: Whether userinfo tells the user's type (`user_type`: admin, power or standard); UNSURE on the real API.
    userinfo_user_type: bool = True
    #: Whether each user in the users listing carries their groups, `groups: [{"displayName", "value"}]` (the Go SDK
    #: reads it on a user; UNSURE whether the list response has it).
    users_carry_groups: bool = False
    v1_error_style: str = "errors"
    usernames: str = "ascii"
    users_deleted_after_listing: int = 0
    #: False: the events API answers 403, as on a plan without it.
    events_available: bool = True
    #: How many of the latest events are kept; asking for events after an older id is a 404.
    events_retention: int = 10_000
    events_count_key: bool = True
    #: Where a note event's `data` names the note: `data.note_id`, `data.id` or `data.note.id`.
    note_event_id_field: str = "note_id"
    #: Synthetic `file_system` events appended with every note event (the feed carries other types too).
    file_system_events_per_note: int = 0
    events_max_count: int = 100
    churn_per_list_request: int = 0
    record_requests: bool = True
    request_log_limit: int | None = 100_000
    faults: FaultPlan = field(default_factory=FaultPlan)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], datetime] = fixed_anchor
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r}; expected one of {allowed}")
        for name in (
            "users",
            "groups",
            "members_per_group",
            "notes",
            "bookmarks_per_user",
            "churn_per_list_request",
            "note_message_chars",
            "users_deleted_after_listing",
            "file_system_events_per_note",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.users < 1:
            raise ValueError("a tenant needs at least one user: the admin behind the static token")
        if self.bookmarks_per_user > 100:
            raise ValueError("bookmarks_per_user is a mean and must be at most 100")
        if self.groups >= 1 << 27 or self.users >= 1 << 28 or self.notes >= 1 << 30:
            raise ValueError("tenant sizes beyond 100 million records are not supported")
        if self.events_retention < 1:
            raise ValueError("events_retention must be at least 1")
        for name in ("scim_max_count", "notes_max_count", "bookmarks_max_count", "events_max_count"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.qps_limit is not None and self.qps_limit <= 0:
            raise ValueError("qps_limit must be positive or None")
        if self.daily_quota is not None and self.daily_quota <= 0:
            raise ValueError("daily_quota must be positive or None")
