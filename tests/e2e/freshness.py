"""Multi-day freshness, measured from the outside: syncs on a schedule against the in-process sandbox with its daily
quota on, changes made in the tenant between them, and for every change the moment it reached the destination.

The connector is only driven (`Sync(...).run()` with the last checkpointed state, as Fivetran would) and watched:
what the sandbox counted (calls per endpoint, per sync and per quota day, throttles, refusals), what it logged
(whose bookmarks and which group's detail were read, which listing pages, when) and what the destination holds.
Nothing here reads the connector's state or internals, so the same simulation measures any version of it.

- The tenant's truth is kept per table (`Truth`), as the tests' `expected_rows` computes it, and refreshed only for
  the records a change touches (a user, a user's bookmarks, a group with its members, a note); every row it adds,
  alters or removes is a change, stamped with the virtual time it was made. A full `expected_rows` at the end checks
  that nothing was missed.
- After each sync, a pending change has arrived when the destination holds the value it set, or a later one of the
  same row (a soft-deleted row counts as absent). Its lag is arrival less the change's time; a change still pending
  at the end counts with its age so far (a lower bound), so a table that never catches up shows.
- *Last confirmed* is, for a record that did not change, how long ago the connector last read it: a user (or a group)
  when a listing page covering it was read, a user's bookmarks when they were listed, a membership when its group's
  detail was read (or, when the users listing carries each user's groups, when the member was listed).

Virtual time moves only between syncs (no latency, no per-second limit unless asked): a sync happens at an instant.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from faultkit import TimeoutASGITransport, VirtualTime, sandbox_app
from harness import (
    DELETED,
    RecordingOperations,
    bookmark_row,
    expected_rows,
    group_row,
    key_of,
    member_rows,
    note_row,
    sync_setup,
    user_row,
)

from egnyte_async.pipeline import Sync, Tuning
from egnyte_async.settings import Settings
from tests.logs import RecordingLog

TABLES = ("users", "groups", "group_members", "notes", "bookmarks")
HOUR = 3600.0
DAY = 86_400.0
GROUP_DETAIL = "/pubapi/v2/groups/"
BOOKMARKS = "/pubapi/v1/bookmarks"
LISTINGS = {"/pubapi/v2/users": "users", "/pubapi/v2/groups": "groups"}
#: The notes a first sync reads reach this far back (the tests' default `initial_sync_days`).
INITIAL_SYNC_DAYS = 365
Row = dict[str, Any]
Key = tuple[str, tuple]


@dataclass(frozen=True)
class Churn:
    """Changes made in the tenant per day, spread evenly over the moments of change (fractions carry over)."""

    #: Users whose lastActiveDate moves (they logged in); a changed `users` row each.
    active_users: float = 0.0
    #: A user adds or removes a bookmark (and is active by that very fact).
    bookmark_edits: float = 0.0
    member_removals: float = 0.0
    #: Members removed earlier put back into their group.
    member_restores: float = 0.0
    renames: float = 0.0
    notes_added: float = 0.0
    users_deleted: float = 0.0
    groups_added: float = 0.0


@dataclass(frozen=True)
class Simulation:
    """What to simulate. `settings` may name fields of `Settings` or `Tuning`; those the code measured does not know
    are left out, so an older version of the connector runs the same simulation."""

    tenant: Mapping[str, int]
    days: float = 3.0
    sync_every_hours: float = 4.0
    quota: int = 1000
    churn: Churn = Churn()
    #: Moments of change between two syncs, evenly spaced, the last at the next sync's start.
    change_steps: int = 4
    #: Syncs on the same schedule after the last change, before the final comparison.
    settle_days: float = 2.0
    users_carry_groups: bool = False
    #: "unlimited": the first sync runs with the quota off (the measured days start at the next midnight GMT);
    #: "quota": syncs on the schedule under the quota until one finishes every stream (`warmup_days` says when).
    warmup: str = "unlimited"
    warmup_max_days: float = 60.0
    qps_limit: float | None = None
    seed: int = 7
    settings: Mapping[str, Any] = field(default_factory=dict)


def standard_churn(users: int) -> Churn:
    """A day's changes in the test's and the README's runs: 1.5% of the users active, a fifth of them editing a
    bookmark; a few membership changes, renames and notes, a user deleted and a group added."""
    share = users / 10_000
    return Churn(
        active_users=150 * share, bookmark_edits=30 * share, member_removals=6, member_restores=4, renames=3,
        notes_added=20, users_deleted=1, groups_added=1,
    )  # fmt: skip


def standard_tenant(users: int) -> dict[str, int]:
    """Per 20 users a group of 20 members, per 2 users a note, 2 bookmarks a user."""
    return {"users": users, "groups": users // 20, "members_per_group": 20, "notes": users // 2,
            "bookmarks_per_user": 2}  # fmt: skip


@dataclass
class Change:
    table: str
    key: tuple
    kind: str
    at: float
    wanted: Row | None
    arrived: float | None = None


@dataclass
class SyncRecord:
    """One sync as the sandbox saw it."""

    at: float
    calls: int
    calls_by_path: dict[str, int]
    throttled_qps: int
    throttled_quota: int
    stopped: list[str]
    phase: str


@dataclass
class TableFreshness:
    changes: int
    arrived: int
    pending_at_end: int
    pending_after_settle: int
    max_lag_h: float | None
    p95_lag_h: float | None
    #: The largest age of a change never arrived (a lower bound of its lag); None when all arrived.
    oldest_pending_h: float | None
    confirmed_max_h: float | None = None
    confirmed_p95_h: float | None = None
    matched: bool = False
    mismatch: str = ""


@dataclass
class FreshnessReport:
    simulation: dict[str, Any]
    tables: dict[str, TableFreshness]
    syncs: list[SyncRecord]
    calls_by_day: dict[str, int]
    warmup_days: float | None
    warmup_calls: int
    quota_refusals: int
    throttled: int
    all_matched: bool

    @property
    def measured_syncs(self) -> list[SyncRecord]:
        return [sync for sync in self.syncs if sync.phase != "warmup"]

    def calls_per_sync(self) -> tuple[float, int]:
        calls = [sync.calls for sync in self.measured_syncs]
        return (sum(calls) / len(calls) if calls else 0.0, max(calls, default=0))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["calls_per_sync_mean"], out["calls_per_sync_max"] = self.calls_per_sync()
        return out

    def table_markdown(self) -> str:
        """Per table: changes, lags, pending, last confirmed and the final match."""
        lines = [
            "| table | changes | max lag h | p95 lag h | pending at end | pending after settle | oldest pending h "
            "| last confirmed max h | p95 h | matches after settle |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, t in self.tables.items():
            cells = [name, str(t.changes), _h(t.max_lag_h), _h(t.p95_lag_h), str(t.pending_at_end),
                     str(t.pending_after_settle), _h(t.oldest_pending_h), _h(t.confirmed_max_h),
                     _h(t.confirmed_p95_h), "yes" if t.matched else f"no: {t.mismatch}"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _h(value: float | None) -> str:
    if value is None:
        return "-"
    return "never" if value == math.inf else f"{value:.1f}"


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class Truth:
    """The tenant's rows per table, refreshed per scope: ("user", id), ("bookmarks", username), ("group", id) or
    ("note", id). `refresh` returns what changed as (table, key, new row or None)."""

    def __init__(self, tenant: Any, notes_from_ms: float) -> None:
        self.tenant = tenant
        self.notes_from_ms = notes_from_ms
        self.tables: dict[str, dict[tuple, Row]] = {name: {} for name in TABLES}
        self.scopes: dict[tuple[str, Any], set[Key]] = defaultdict(set)
        for table, rows in self._everything().items():
            for key, row in rows.items():
                self.tables[table][key] = row
                self.scopes[self._scope_of(table, row)].add((table, key))

    def _everything(self) -> dict[str, dict[tuple, Row]]:
        now_ms = to_ms(self.tenant.config.wall_clock())
        days = (now_ms - self.notes_from_ms) / 86_400_000
        rows = expected_rows(self.tenant, self.tenant.config.wall_clock(), initial_sync_days=days)  # type: ignore[arg-type]
        return {name: rows[name] for name in TABLES}

    @staticmethod
    def _scope_of(table: str, row: Row) -> tuple[str, Any]:
        if table == "users":
            return ("user", row["id"])
        if table == "bookmarks":
            return ("bookmarks", row["creator"])
        if table == "groups":
            return ("group", row["id"])
        if table == "group_members":
            return ("group", row["group_id"])
        return ("note", row["id"])

    def _rows(self, scope: tuple[str, Any]) -> dict[Key, Row]:
        tenant = self.tenant
        kind, ident = scope
        rows: list[tuple[str, Row]] = []
        if kind == "user" and tenant.users.index.contains(ident):
            rows.append(("users", user_row(tenant, tenant.users.canonical(ident))))
        elif kind == "bookmarks":
            entry = tenant.user_entry(ident)
            if entry is not None and tenant.users.canonical(entry[0])["active"]:
                rows += [("bookmarks", bookmark_row(tenant, b, ident)) for b in tenant.canonical_bookmarks_of(ident)]
        elif kind == "group" and tenant.groups.find(ident) is not None:
            rows.append(("groups", group_row(tenant, tenant.groups.item(tenant.groups.find(ident)[0]))))
            rows += [("group_members", row) for row in member_rows(tenant, ident)]
        elif kind == "note":
            note = tenant.canonical_note(ident)
            if note is not None and note["creation_time"] >= self.notes_from_ms:
                rows.append(("notes", note_row(tenant, note)))
        return {(table, key_of(table, row)): row for table, row in rows}

    def refresh(self, scopes: Iterable[tuple[str, Any]]) -> list[tuple[str, tuple, Row | None]]:
        changed = []
        for scope in dict.fromkeys(scopes):
            new = self._rows(scope)
            for table_key in self.scopes[scope] | set(new):
                table, key = table_key
                before, after = self.tables[table].get(key), new.get(table_key)
                if before == after:
                    continue
                changed.append((table, key, after))
                if after is None:
                    del self.tables[table][key]
                else:
                    self.tables[table][key] = after
            self.scopes[scope] = set(new)
        return changed

    def groups_of(self, user_id: int) -> list[str]:
        return [group for group, user in self.tables["group_members"] if user == user_id]

    def compare(self, committed: Mapping[Key, Row]) -> dict[str, str]:
        """Per table, "" when the destination equals the tenant now (every row, no other live row), else why not."""
        want = self._everything()
        live: dict[str, dict[tuple, Row]] = {name: {} for name in TABLES}
        for (table, key), row in committed.items():
            if table in live and DELETED not in row:
                live[table][key] = row
        out = {}
        for name in TABLES:
            missing = len(set(want[name]) - set(live[name]))
            extra = len(set(live[name]) - set(want[name]))
            differ = sum(1 for key, row in live[name].items() if key in want[name] and want[name][key] != row)
            out[name] = "" if not (missing or extra or differ) else f"{missing} missing, {extra} extra, {differ} differ"
        return out


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class Tracker:
    """Pending changes per destination row, resolved when the destination shows the value they set (or a later one)."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.pending: dict[Key, list[Change]] = {}

    def add(self, kind: str, at: float, changed: list[tuple[str, tuple, Row | None]]) -> None:
        for table, key, wanted in changed:
            change = Change(table, key, kind, at, wanted)
            self.changes.append(change)
            self.pending.setdefault((table, key), []).append(change)

    def observe(self, committed: Mapping[Key, Row], at: float) -> None:
        for table_key in list(self.pending):
            row = committed.get(table_key)
            current = None if row is None or DELETED in row else row
            waiting = self.pending[table_key]
            for i in range(len(waiting) - 1, -1, -1):
                if waiting[i].wanted == current:
                    for change in waiting[: i + 1]:
                        change.arrived = at
                    del waiting[: i + 1]
                    break
            if not waiting:
                del self.pending[table_key]


class Simulator:
    """Runs one `Simulation`; `run()` returns its `FreshnessReport`."""

    def __init__(self, simulation: Simulation) -> None:
        self.sim = simulation
        self.time = VirtualTime()
        self.app = sandbox_app(
            self.time, dict(simulation.tenant), wall_clock=self.time.wall, daily_quota=simulation.quota,
            qps_limit=simulation.qps_limit, users_carry_groups=simulation.users_carry_groups, request_log_limit=None,
        )  # fmt: skip
        self.sandbox = self.app.state.sandbox
        self.tenant = self.sandbox.tenant
        self.rng = random.Random(simulation.seed)
        self.operations = RecordingOperations()
        self.tracker = Tracker()
        self.syncs: list[SyncRecord] = []
        self.calls_by_day: Counter[str] = Counter()
        self.last_read: dict[str, dict[Any, float]] = defaultdict(dict)
        self._carry: dict[str, float] = defaultdict(float)
        self._removed_members: list[tuple[str, int]] = []
        self._wall_offset = self.time.wall().timestamp() - self.time.monotonic()

    # --- the schedule ---------------------------------------------------------------------------------------
    def run(self) -> FreshnessReport:
        sim = self.sim
        first_sync = self.time.wall()
        warmup_days = self._warm_up()
        self.truth = Truth(self.tenant, to_ms(first_sync) - INITIAL_SYNC_DAYS * 86_400_000)
        interval = sim.sync_every_hours * HOUR
        measured_end = self.time.monotonic() + sim.days * DAY
        while self.time.monotonic() + interval <= measured_end + 1e-6:
            for _ in range(sim.change_steps):
                self.time.advance(interval / sim.change_steps)
                self._change(interval / sim.change_steps)
            self._sync("measured")
        end = self._wall_now()
        pending_at_end = Counter(change.table for change in self.tracker.changes if change.arrived is None)
        confirmed = self._confirmed(end)
        settle_end = self.time.monotonic() + sim.settle_days * DAY
        while self.time.monotonic() + interval <= settle_end + 1e-6:
            self.time.advance(interval)
            self._sync("settle")
        return self._report(warmup_days, pending_at_end, confirmed)

    def _warm_up(self) -> float | None:
        """The first full sync; returns how many days it took under the quota (None when run without it)."""
        sim = self.sim
        limiter = self.sandbox.limiter
        started = self.time.monotonic()
        if sim.warmup == "unlimited":
            limiter.daily_quota = None
            for _ in range(10):
                if not self._sync("warmup", daily_request_limit=10**9).stopped:
                    break
            limiter.daily_quota = sim.quota
            limiter.reset()
            self.time.advance(DAY - self._wall_now() % DAY)  # the measured days start at midnight GMT
            self.calls_by_day.clear()
            return None
        interval = sim.sync_every_hours * HOUR
        while self.time.monotonic() - started < sim.warmup_max_days * DAY:
            if not self._sync("warmup").stopped:
                return (self.time.monotonic() - started) / DAY
            self.time.advance(interval)
        return math.inf

    def _wall_now(self) -> float:
        return self.time.monotonic() + self._wall_offset

    # --- syncs ----------------------------------------------------------------------------------------------
    def _sync(self, phase: str, **extra: Any) -> SyncRecord:
        sim = self.sim
        overrides: dict[str, Any] = {
            "max_concurrent_requests": 8,
            "requests_per_second": 1e9,
            "sync_frequency_hours": sim.sync_every_hours,
            "daily_request_limit": sim.quota,
            "initial_sync_days": INITIAL_SYNC_DAYS,
            "request_timeout_seconds": 30.0,
            **sim.settings,
            **extra,
        }
        known = {item.name for item in fields(Settings)} | set(Tuning.__dataclass_fields__)
        settings, tuning = sync_setup(
            "http://sandbox.local",
            self.sandbox.config.static_token,
            **{k: v for k, v in overrides.items() if k in known},
        )
        self.sandbox.reset_stats()
        report = Sync(
            settings, self.operations.last_state or None, self.operations, RecordingLog(), tuning=tuning,
            transport=TimeoutASGITransport(self.app, self.time), now=self.time.wall(), clock=self.time,
        ).run()  # fmt: skip
        stats = self.sandbox.stats
        record = SyncRecord(
            at=self._wall_now(), calls=stats.api_requests - stats.throttled, calls_by_path=dict(stats.paths),
            throttled_qps=stats.throttled_qps, throttled_quota=stats.throttled_quota,
            stopped=sorted(getattr(report, "stopped", {}) or {}), phase=phase,
        )  # fmt: skip
        self.syncs.append(record)
        self._read_log(phase)
        if phase != "warmup":
            self.tracker.observe(self.operations.committed, record.at)
        return record

    def _read_log(self, phase: str) -> None:
        """What the sandbox logged: calls per quota day, and when each record was read."""
        carry = self.sim.users_carry_groups
        for request in self.sandbox.requests:
            if request.throttled or not request.path.startswith("/pubapi/"):
                continue
            wall = request.at + self._wall_offset
            if phase != "warmup" or self.sim.warmup == "quota":
                day = datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%d")
                self.calls_by_day[day] += 1
            if request.status != 200:
                continue
            if request.path == BOOKMARKS:
                who = request.headers.get("x-egnyte-act-as") or request.headers.get("x-egnyte-act-as-email")
                self.last_read["bookmarks"][who] = wall
            elif request.path.startswith(GROUP_DETAIL):
                self.last_read["group_detail"][request.path[len(GROUP_DETAIL) :]] = wall
            elif request.path in LISTINGS:
                resource = LISTINGS[request.path]
                store = self.tenant.users if resource == "users" else self.tenant.groups
                start = int(request.query.get("startIndex", "1")) - 1
                count = int(request.query.get("count", "100"))
                for ordinal, _ in store.index.slice(start, start + count):
                    ident = ordinal if resource == "users" else store.group_id(ordinal)
                    self.last_read[resource][ident] = wall
                    if resource == "users" and carry:
                        self.last_read["member_listed"][ordinal] = wall

    # --- changes --------------------------------------------------------------------------------------------
    def _due(self, kind: str, hours: float) -> int:
        self._carry[kind] += getattr(self.sim.churn, kind) * hours / 24
        count = int(self._carry[kind])
        self._carry[kind] -= count
        return count

    def _change(self, seconds: float) -> None:
        hours = seconds / HOUR
        at = self._wall_now()
        truth, tenant, rng = self.truth, self.tenant, self.rng
        users = sorted(truth.tables["users"])
        for _ in range(self._due("active_users", hours)):
            user_id = rng.choice(users)[0]
            tenant.touch_user(truth.tables["users"][(user_id,)]["username"])
            self.tracker.add("active", at, truth.refresh([("user", user_id)]))
        for _ in range(self._due("bookmark_edits", hours)):
            row = truth.tables["users"][rng.choice(users)]
            if not row["active"] or row["username"] == tenant.config.admin_username:
                continue
            name = row["username"]
            if tenant.bookmark_count_of(name) and rng.random() < 0.5:
                tenant.remove_bookmark(name, rng.randrange(tenant.bookmark_count_of(name)))
            else:
                tenant.add_bookmark(name)
            self.tracker.add("bookmark", at, truth.refresh([("user", row["id"]), ("bookmarks", name)]))
        for _ in range(self._due("member_removals", hours)):
            memberships = truth.tables["group_members"]
            if memberships:
                group_id, user_id = rng.choice(sorted(memberships))
                tenant.remove_member(group_id, user_id)
                self._removed_members.append((group_id, user_id))
                self.tracker.add("member removed", at, truth.refresh([("group", group_id)]))
        for _ in range(self._due("member_restores", hours)):
            if self._removed_members:
                group_id, user_id = self._removed_members.pop(rng.randrange(len(self._removed_members)))
                if tenant.groups.find(group_id) is not None:
                    tenant.restore_member(group_id, user_id)
                    self.tracker.add("member restored", at, truth.refresh([("group", group_id)]))
        for _ in range(self._due("renames", hours)):
            user_id = rng.choice(users)[0]
            tenant.rename_user(truth.tables["users"][(user_id,)]["username"], f"Renamed{rng.randrange(10**6)}")
            scopes = [("user", user_id), *(("group", group) for group in truth.groups_of(user_id))]
            self.tracker.add("rename", at, truth.refresh(scopes))
        for _ in range(self._due("notes_added", hours)):
            size = tenant.note_count
            note = tenant.add_note(rng.randrange(max(0, size - 40), size + 1))
            if note is not None:
                self.tracker.add("note", at, truth.refresh([("note", note["id"])]))
        for _ in range(self._due("users_deleted", hours)):
            position = rng.randrange(1, tenant.user_count)
            if tenant.users.index.at(position)[0] == tenant.users.admin_ordinal:
                continue
            gone = tenant.remove_user(position)
            scopes = [("user", gone["id"]), ("bookmarks", gone["userName"]),
                      *(("group", group) for group in truth.groups_of(int(gone["id"])))]  # fmt: skip
            self.tracker.add("user deleted", at, truth.refresh(scopes))
        for _ in range(self._due("groups_added", hours)):
            group = tenant.add_group()
            if group is not None:
                self.tracker.add("group added", at, truth.refresh([("group", group["id"])]))

    # --- the report -----------------------------------------------------------------------------------------
    def _confirmed(self, end: float) -> dict[str, list[float]]:
        """Per table, for each record the tenant holds at `end`, hours since the connector last read it."""
        truth, read = self.truth.tables, self.last_read
        ages: dict[str, list[float]] = {}

        def age(moment: float | None) -> float:
            return math.inf if moment is None else (end - moment) / HOUR

        ages["users"] = [age(read["users"].get(key[0])) for key in truth["users"]]
        ages["groups"] = [age(read["groups"].get(key[0])) for key in truth["groups"]]
        ages["bookmarks"] = [
            age(max(read["bookmarks"].get(row["username"], -math.inf), read["bookmarks"].get(row["email"], -math.inf)))
            for row in truth["users"].values()
            if row["active"]
        ]
        ages["group_members"] = [
            age(max(read["group_detail"].get(group, -math.inf), read["member_listed"].get(user, -math.inf)))
            for group, user in truth["group_members"]
        ]
        return {table: [value for value in values if value != -math.inf] for table, values in ages.items()}

    def _report(
        self, warmup_days: float | None, pending_at_end: Counter[str], confirmed: dict[str, list[float]]
    ) -> FreshnessReport:
        end = self._wall_now()
        mismatches = self.truth.compare(self.operations.committed)
        tables = {}
        for name in TABLES:
            changes = [change for change in self.tracker.changes if change.table == name]
            lags = [((change.arrived or end) - change.at) / HOUR for change in changes]
            pending = [((end - change.at) / HOUR) for change in changes if change.arrived is None]
            ages = confirmed.get(name, [])
            tables[name] = TableFreshness(
                changes=len(changes), arrived=len(changes) - len(pending), pending_at_end=pending_at_end[name],
                pending_after_settle=len(pending), max_lag_h=max(lags, default=None), p95_lag_h=percentile(lags, 0.95),
                oldest_pending_h=max(pending, default=None), confirmed_max_h=max(ages, default=None),
                confirmed_p95_h=percentile(ages, 0.95), matched=not mismatches[name], mismatch=mismatches[name],
            )  # fmt: skip
        measured = [sync for sync in self.syncs if sync.phase != "warmup" or self.sim.warmup == "quota"]
        return FreshnessReport(
            simulation={**asdict(self.sim), "tenant": dict(self.sim.tenant)},
            tables=tables,
            syncs=self.syncs,
            calls_by_day=dict(sorted(self.calls_by_day.items())),
            warmup_days=warmup_days,
            warmup_calls=sum(sync.calls for sync in self.syncs if sync.phase == "warmup"),
            quota_refusals=sum(sync.throttled_quota for sync in measured),
            throttled=sum(sync.throttled_qps + sync.throttled_quota for sync in measured),
            all_matched=not any(mismatches.values()),
        )


def simulate(simulation: Simulation) -> FreshnessReport:
    return Simulator(simulation).run()
