"""The README's freshness table: `python -m bench.freshness [--users 1000 10000 100000] [--out DIR]`.

For each tenant size, tests/e2e/freshness.py simulates syncs every 4 hours under Egnyte's default quota (1,000 calls
a day) with the tests' standard changes (1.5% of the users active a day, ...), from real call counts: the sandbox
counts every call, the destination shows when each change arrived. Per table it reports the largest lag from a change
to its arrival (a change never arrived counts with its age: a lower bound), and whether the table caught up at all
once the changes stopped. The first sync runs with the quota off (a first sync of 100,000 users takes over 100 days
at 1,000 calls a day); the measured days start at the next midnight GMT. Larger tenants are simulated over fewer
days (`DAYS`) so that the whole run stays within a few minutes: their per-sync calls are the same every day.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Measured days, then days without changes, per tenant size (users): fewer for the large ones, whose first sync
#: alone (one bookmarks call per user) takes most of the run's time.
#: 10,000 users settle three days: a round of the 500 groups' refresh takes 2.7 days under the default quota.
DAYS = {1_000: (3.0, 2.0), 10_000: (3.0, 3.0), 100_000: (2.0, 1.0)}
TABLES = ("users", "groups", "group_members", "notes", "bookmarks")


def _simulate(users: int, carry: bool) -> Any:
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from freshness import Simulation, simulate, standard_churn, standard_tenant

    days, settle = DAYS.get(users, (2.0, 1.0))
    simulation = Simulation(standard_tenant(users), days=days, settle_days=settle, churn=standard_churn(users),
                            users_carry_groups=carry)  # fmt: skip
    return simulate(simulation)


def cell(table: Any) -> str:
    """Max lag (p95) in hours, or how far behind a table that did not catch up is."""
    if table.changes == 0:
        return "no change made"
    if table.pending_after_settle:
        behind = f"{table.pending_after_settle} of {table.changes} never arrived"
        return f"**behind**: {behind} (oldest {table.oldest_pending_h:.0f} h)"
    return f"{table.max_lag_h:.0f} h (p95 {table.p95_lag_h:.0f} h)"


def markdown(rows: list[tuple[int, bool, Any]]) -> str:
    lines = [
        "| users | memberships | " + " | ".join(TABLES) + " | calls a sync (mean, max) | calls a day (max) |",
        "|---:|---|" + "---|" * len(TABLES) + "---:|---:|",
    ]
    for users, carry, report in rows:
        mean, peak = report.calls_per_sync()
        cells = [f"{users:,}", "users listing" if carry else "group details"]
        cells += [cell(report.tables[name]) for name in TABLES]
        cells += [f"{mean:.0f}, {peak}", str(max(report.calls_by_day.values(), default=0))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.freshness", description=__doc__)
    parser.add_argument("--users", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--carried", action="store_true", help="also with the users listing carrying the groups")
    parser.add_argument("--out", type=Path, default=None, help="write freshness.md and freshness.json here")
    args = parser.parse_args(argv)
    rows = []
    for users in args.users:
        for carry in (False, True) if args.carried else (False,):
            started = time.perf_counter()
            report = _simulate(users, carry)
            print(f"{users:,} users{' (carried)' if carry else ''}: {time.perf_counter() - started:.0f} s", flush=True)
            print(report.table_markdown(), flush=True)
            rows.append((users, carry, report))
    text = markdown(rows)
    print("\n" + text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "freshness.md").write_text(text + "\n")
        payload = [{"users": u, "carried": c, **r.to_dict()} for u, c, r in rows]
        (args.out / "freshness.json").write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
