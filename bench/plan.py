"""What the benchmark runs: tenants, scenarios and the two plans (quick and full).

Tenant sizes are chosen per scenario so that a rate-limited run lasts about a minute at most: a sync at 2 calls
a second cannot read a tenant of 20,000 users in a benchmark, but 80 calls are enough to see whether the
connector keeps to the pace. Above 2/s, a users-only run at the default concurrency makes about a minute of calls
at the limit, so the sync's first two round trips, which cannot overlap (the token check, then the first page that
tells the total), and its last answer cost it under 1% of its time: the pace keeps 4% below the limit as margin for
strict windows (egnyte_async/pacing.py), so a shorter run would miss 95% of the limit on its start alone. Records
per request stay the same whatever the size, so records per second remain comparable across tenants of one shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from egnyte_async.settings import Settings

#: The connector's default `max_concurrent_requests`, read from the code measured.
DEFAULT_CONCURRENCY: int = next(f.default for f in fields(Settings) if f.name == "max_concurrent_requests")
#: More requests in flight than the default, to show what the default leaves on the table (64 is the most allowed).
MORE_CONCURRENCY = tuple(sorted({min(64, 2 * DEFAULT_CONCURRENCY), min(64, 4 * DEFAULT_CONCURRENCY)}))
#: The largest `requests_per_second` configuration.json accepts: "no pacing" for runs through the settings.
SETTINGS_MAX_RPS = 1000.0
#: "No pacing" for runs that build `Settings` directly: far above anything loopback can serve.
UNPACED_RPS = 1_000_000.0
#: The longest notes of the memory-by-text scenario (Egnyte caps nothing; 300,000 characters is a long comment).
LONG_NOTE_CHARS = 300_000
#: The share of the sandbox's notes a first sync (initial_sync_days = 365) reads: 3,048 of 6,400, measured.
FIRST_SYNC_NOTES_SHARE = 3_048 / 6_400
LATENCY_MS = 100
JITTER_MS = 20
ALL_STREAMS = ("users", "groups", "notes", "bookmarks")
#: Scenario fields that shape the sandbox alone, never the sync.
SANDBOX_ONLY = frozenset({"limiter_kind"})
#: The sandbox's ways of counting calls per second, and their short names in scenario names.
LIMITER_KINDS = {"token_bucket": "bucket", "sliding_window": "sliding", "fixed_window": "fixed"}
#: Users per limit of the limiter-kind scenarios: at 99 new users a request, about a minute of calls at each limit,
#: so that the sync's start (two round trips that cannot overlap) and its last answer cost under 1%: the pace leaves
#: 4% of the limit as margin for strict windows (egnyte_async/pacing.py), and the target is 95%.
KIND_USERS = {2.0: 11_200, 20.0: 118_800, 100.0: 594_000}
USERS_ONLY = ("users",)


@dataclass(frozen=True)
class Tenant:
    """A sandbox tenant. `streams` are the tables synced; the others are left empty so they cost nothing."""

    users: int
    groups: int = 0
    members_per_group: int = 0
    notes: int = 0
    bookmarks_per_user: int = 0
    streams: tuple[str, ...] = USERS_ONLY
    #: Characters in every note's message; 0 for the sandbox's short ones.
    note_chars: int = 0
    #: Whether the users listing carries each user's groups (the sandbox's `users_carry_groups`).
    users_carry_groups: bool = False

    @classmethod
    def users_only(cls, users: int) -> Tenant:
        return cls(users=users)

    @classmethod
    def mixed(cls, users: int) -> Tenant:
        """The shape of the issue's example domain, per user: 1/40 of a group of 40 members, 5 notes, 1 bookmark.

        About 47% of the notes fall within the connector's first-sync window (`initial_sync_days` = 365 against
        the sandbox's three years of history), so 20,000 users would sync about 47,000 notes, as in the example's
        50,000. The sandbox takes whole bookmarks per user, so 20,000 bookmarks, not 5,000; the requests are the
        same either way: one listing per user.
        """
        return cls(
            users=users,
            groups=max(1, users // 40),
            members_per_group=40,
            notes=users * 5,
            bookmarks_per_user=1,
            streams=ALL_STREAMS,
        )

    @classmethod
    def long_notes(cls, notes: int, chars: int) -> Tenant:
        """Notes alone, each `chars` characters long: memory bounded by text, not by record counts."""
        return cls(users=1, notes=notes, streams=("notes",), note_chars=chars)

    @classmethod
    def calls(cls, users: int, carry: bool) -> Tenant:
        """The calls scenarios' tenant: per 10,000 users, 500 groups of 20, 50,000 notes and a bookmark each."""
        return cls(
            users=users, groups=users // 20, members_per_group=20, notes=users * 5, bookmarks_per_user=1,
            streams=ALL_STREAMS, users_carry_groups=carry,
        )  # fmt: skip

    @property
    def synced_notes(self) -> int:
        """About how many notes a first sync (365 days) writes: the sandbox spreads notes over its history."""
        return round(self.notes * FIRST_SYNC_NOTES_SHARE)

    @property
    def label(self) -> str:
        if self.note_chars:
            return f"{_k(self.notes)} notes of {_k(self.note_chars)} characters"
        if self.streams == USERS_ONLY:
            return f"{_k(self.users)} users"
        return (
            f"{_k(self.users)} users, {_k(self.groups)}×{self.members_per_group} groups, {_k(self.notes)} notes, "
            f"{self.bookmarks_per_user} bm/user" + (", users carry groups" if self.users_carry_groups else "")
        )


def _k(value: int) -> str:
    if value >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value // 1_000_000}M"
    if value >= 1000 and value % 1000 == 0:
        return f"{value // 1000}k"
    return str(value)


@dataclass(frozen=True)
class Scenario:
    """One measured sync. `server_limit` None means the sandbox does not throttle at all."""

    name: str
    group: str
    tenant: Tenant
    #: "null", "duckdb" (the connector through the SDK core), "duckdb-alone" (replayed rows), "duckdb-generated"
    #: (made-up long notes written straight into the core) or "calls" (two syncs in-process on virtual time, counted
    #: per endpoint: bench/calls.py)
    sink: str = "null"
    server_limit: float | None = None
    requests_per_second: float = UNPACED_RPS
    concurrency: int = DEFAULT_CONCURRENCY
    latency_ms: int = 0
    jitter_ms: int = 0
    timeout_s: float = 300.0
    note: str = ""
    #: How the sandbox counts calls against `server_limit` (egnyte_sandbox.per_second): "token_bucket",
    #: "sliding_window" or "fixed_window".
    limiter_kind: str = "token_bucket"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def child_dict(self) -> dict[str, Any]:
        """What the child is told: the fields only the sandbox needs are left out, so that the child of an older
        commit (`--against`), whose Scenario does not know them, still reads it."""
        return {key: value for key, value in self.to_dict().items() if key not in SANDBOX_ONLY}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        tenant = dict(data["tenant"])
        tenant["streams"] = tuple(tenant["streams"])
        return cls(**{**data, "tenant": Tenant(**tenant)})


@dataclass
class Plan:
    name: str
    scenarios: list[Scenario] = field(default_factory=list)

    def add(self, scenario: Scenario) -> None:
        self.scenarios.append(scenario)


def _limited(name: str, group: str, tenant: Tenant, limit: float | None, concurrency: int) -> Scenario:
    """A null-sink sync at 100 ms ± 20 ms, paced at the server's limit (or at the settings' maximum without one)."""
    return Scenario(
        name=name,
        group=group,
        tenant=tenant,
        server_limit=limit,
        requests_per_second=limit if limit is not None else SETTINGS_MAX_RPS,
        concurrency=concurrency,
        latency_ms=LATENCY_MS,
        jitter_ms=JITTER_MS,
        timeout_s=240.0,
    )


def _limit_tag(limit: float | None) -> str:
    return "none" if limit is None else f"{limit:g}"


def _by_limit(plan: Plan, users_by_limit: dict[float | None, int], concurrencies: tuple[int, ...]) -> None:
    """Users only, so every page carries the same records: the curves differ only by limit and concurrency."""
    for limit, users in users_by_limit.items():
        for concurrency in concurrencies:
            name = f"limit-{_limit_tag(limit)}-c{concurrency}"
            plan.add(_limited(name, "limit", Tenant.users_only(users), limit, concurrency))


def _kinds(plan: Plan, users_by_limit: dict[float, int]) -> None:
    """The same users-only sync against each way of counting calls per second, limit by limit: a pace that holds
    on the burst-tolerant bucket may be throttled by a strict window."""
    for limit, users in users_by_limit.items():
        for kind, short in LIMITER_KINDS.items():
            tenant = Tenant.users_only(users)
            scenario = _limited(f"kind-{short}-{limit:g}", "kinds", tenant, limit, DEFAULT_CONCURRENCY)
            plan.add(replace(scenario, limiter_kind=kind))


def _unlimited(plan: Plan, *, ceiling: int, small: int, large: int, mixed: int, duck_users: int) -> None:
    """No latency and no limit: the extractor's ceiling, the DuckDB sink against the sink alone, and memory.

    The DuckDB runs on users alone double as the memory pair of that sink (`memory-duckdb-*` and `duckdb-users-*`).
    """
    duck = {"requests_per_second": SETTINGS_MAX_RPS, "timeout_s": 600.0}
    plan.add(Scenario("ceiling-users", "ceiling", Tenant.users_only(ceiling)))
    plan.add(Scenario("ceiling-all", "ceiling", Tenant.mixed(mixed)))
    plan.add(Scenario("duckdb-connector", "duckdb", Tenant.mixed(mixed), sink="duckdb", **duck))
    plan.add(Scenario("duckdb-sink-alone", "duckdb", Tenant.mixed(mixed), sink="duckdb-alone", **duck))
    plan.add(Scenario("duckdb-users-connector", "duckdb", Tenant.users_only(duck_users), sink="duckdb", **duck))
    plan.add(Scenario("duckdb-users-sink-alone", "duckdb", Tenant.users_only(duck_users), sink="duckdb-alone", **duck))
    plan.add(Scenario(f"memory-duckdb-{_k(small)}", "memory", Tenant.users_only(small), sink="duckdb", **duck))
    for users in (small, large):
        plan.add(Scenario(f"memory-null-{_k(users)}", "memory", Tenant.users_only(users), timeout_s=600.0))
    # About 3,000 of these notes fall within the first sync's 365 days: 0.9 GB of text. The connector alone (null
    # sink) against the target; through the DuckDB sink; and the DuckDB sink alone, fed made-up notes as long.
    long_notes = Tenant.long_notes(6_400, LONG_NOTE_CHARS)
    plan.add(Scenario("memory-long-notes-null", "memory-text", long_notes, timeout_s=600.0))
    plan.add(Scenario("memory-long-notes-duckdb", "memory-text", long_notes, sink="duckdb", **duck))
    plan.add(Scenario("memory-long-notes-sink-alone", "memory-text", long_notes, sink="duckdb-generated", **duck))


def _calls(plan: Plan, users: int) -> None:
    """A first sync and a quiet incremental one, counted in calls, for both membership shapes (bench/calls.py)."""
    for carry, shape in ((False, "detail"), (True, "carried")):
        tenant = Tenant.calls(users, carry)
        plan.add(Scenario(f"calls-{_k(users)}-{shape}", "calls", tenant, sink="calls", timeout_s=600.0))


def full_plan() -> Plan:
    """About 25 minutes on a 2-core machine."""
    plan = Plan("full")
    c = DEFAULT_CONCURRENCY
    # Records per second against the server's limit: one request in flight against the default concurrency.
    # One in flight tops out near 9 calls a second at 100 ms, so it is not run again at 50/s and 100/s, and at 20/s
    # it reads a smaller tenant (it is slower than the limit whatever the size).
    _by_limit(plan, {2.0: 8_000}, (1, c))
    _by_limit(plan, {20.0: 20_000}, (1,))
    _by_limit(plan, {20.0: 118_800}, (c,))
    _by_limit(plan, {None: 20_000}, (1, c))
    # Raised limits (large customers), and more requests in flight than the default.
    _by_limit(plan, {50.0: 297_000}, (c,))
    _by_limit(plan, {100.0: 594_000}, (c, MORE_CONCURRENCY[0]))
    _by_limit(plan, {None: 20_000}, MORE_CONCURRENCY)
    # All four tables, where bookmarks cost a call per user and groups a call per group.
    for limit, users in ((2.0, 100), (20.0, 1_000)):
        plan.add(_limited(f"mixed-limit-{_limit_tag(limit)}-c{c}", "mixed", Tenant.mixed(users), limit, c))
    for concurrency in (1, c):
        plan.add(_limited(f"mixed-limit-none-c{concurrency}", "mixed", Tenant.mixed(200), None, concurrency))
    # The pace against a token bucket, a strict sliding window and fixed calendar-second windows.
    _kinds(plan, KIND_USERS)
    _unlimited(plan, ceiling=200_000, small=10_000, large=1_000_000, mixed=10_000, duck_users=50_000)
    _calls(plan, 10_000)
    return plan


def quick_plan() -> Plan:
    """A smoke check in under two minutes: every kind of scenario, on small tenants."""
    plan = Plan("quick")
    c = DEFAULT_CONCURRENCY
    _by_limit(plan, {2.0: 2_000}, (c,))
    _by_limit(plan, {20.0: 10_000, None: 5_000}, (1, c))
    plan.add(_limited(f"mixed-limit-20-c{c}", "mixed", Tenant.mixed(100), 20.0, c))
    _unlimited(plan, ceiling=100_000, small=10_000, large=100_000, mixed=1_000, duck_users=20_000)
    _calls(plan, 1_000)
    return plan
