"""Everything one running sandbox knows, shared by the gateway, the endpoints and the control API."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .auth import TokenStore
from .config import SandboxConfig
from .faults import FaultInjector
from .limits import RateLimiter
from .mixing import mix64, salt, unit
from .stats import RECORDED_HEADERS, RequestRecord, Stats, path_template
from .tenant import Tenant

CONTROL_PREFIX = "/_sandbox/"
API_PREFIX = "/pubapi/"
TOKEN_PATH = "/puboauth/token"
PAGE_MEMORY = 4096


@dataclass
class SandboxState:
    """Exposed as `app.state.sandbox`."""

    config: SandboxConfig
    tenant: Tenant
    stats: Stats = field(default_factory=Stats)
    requests: list[RequestRecord] = field(default_factory=list)
    last_pages: dict[tuple[object, ...], bytes] = field(default_factory=dict)
    received: int = 0
    departed: list[str] = field(default_factory=list)
    """Users deleted right after the first users page listed them (`users_deleted_after_listing`), by username."""
    """Requests numbered so far (never reset, so a fault schedule stays valid across stats resets)."""

    def __post_init__(self) -> None:
        cfg = self.config
        self.tokens = TokenStore(
            cfg.static_token,
            cfg.admin_username,
            cfg.refresh_token,
            cfg.token_lifetime_s,
            cfg.token_requests_per_hour,
            cfg.seed,
            cfg.clock,
        )
        if cfg.standard_token:
            standard = self.tenant.first_standard_user()
            if standard is None:
                raise ValueError("standard_token needs a tenant with an active standard user; add users")
            self.tokens.add_static(cfg.standard_token, standard)
        self.limiter = RateLimiter(
            cfg.qps_limit,
            cfg.daily_quota,
            cfg.clock,
            cfg.accesstoken_headers,
            wall_start=cfg.wall_clock(),
            limiter_kind=cfg.limiter_kind,
        )
        self.faults = FaultInjector(cfg.faults, cfg.seed)
        self.churn_rng = random.Random(salt(cfg.seed, "churn"))
        self.departure_rng = random.Random(salt(cfg.seed, "departures"))
        plan = cfg.faults
        # Previous pages are only worth keeping when a repeat_page fault can actually be drawn.
        self.remember_pages = "repeat_page" in plan.scheduled_kinds() or (plan.rate > 0 and "repeat_page" in plan.kinds)
        self._latency_salt = salt(cfg.seed, "latency")

    def begin(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> RequestRecord:
        """Number and log an incoming (non-control) request."""
        self.received += 1
        record = RequestRecord(
            number=self.received,
            method=method,
            path=path,
            query=query,
            headers={name: headers[name] for name in RECORDED_HEADERS if name in headers},
            at=self.config.clock(),
        )
        stats = self.stats
        stats.requests += 1
        stats.paths[path_template(path)] += 1
        if path.startswith(API_PREFIX):
            stats.api_requests += 1
        elif path == TOKEN_PATH:
            stats.token_requests += 1
        if self.config.record_requests:
            self.requests.append(record)
            limit = self.config.request_log_limit
            if limit is not None and len(self.requests) > limit:
                del self.requests[: len(self.requests) - limit // 2]  # amortised: trims in halves, keeps the newest
        return record

    def remember_page(self, key: tuple[object, ...], body: bytes) -> None:
        """Keep the last body of each listing (bounded), for the repeat_page fault."""
        pages = self.last_pages
        pages.pop(key, None)
        pages[key] = body
        if len(pages) > PAGE_MEMORY:
            del pages[next(iter(pages))]

    def latency(self, number: int) -> float:
        """Fixed latency plus deterministic jitter for request `number`."""
        cfg = self.config
        if not cfg.jitter_s:
            return cfg.latency_s
        return cfg.latency_s + cfg.jitter_s * unit(mix64(number ^ self._latency_salt))

    def count_fault(self, record: RequestRecord | None, kind: str) -> None:
        self.stats.faults[kind] += 1
        if record is not None:
            record.fault = kind

    def churn(self, resource: str, username: str | None = None) -> None:
        """The configured number of mutations before a list request, so that pages shift under a running sync."""
        count = self.config.churn_per_list_request
        if count:
            self.stats.churn_mutations += self.tenant.churn(resource, count, self.churn_rng, username)

    def delete_listed_users(self, start: int, count: int) -> None:
        """After the first users page served: `users_deleted_after_listing` of the users it listed (never the
        admin) are deleted, as if removed while a sync was reading them, so acting as them is now a 404."""
        wanted = self.config.users_deleted_after_listing
        if not wanted or not count or self.departed:
            return
        users = self.tenant.users
        positions = [p for p in range(start, start + count) if users.index.at(p)[0] != users.admin_ordinal]
        for position in sorted(self.departure_rng.sample(positions, min(wanted, len(positions))), reverse=True):
            self.departed.append(self.tenant.remove_user(position)["userName"])

    def reset_stats(self) -> None:
        self.stats.reset()
        self.requests.clear()
