"""`python -m bench [--quick] [--out DIR] [--only NAME ...]`: runs the plan, prints and writes the results."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.plan import DEFAULT_CONCURRENCY, Plan, full_plan, quick_plan
from bench.plot import plot_throughput
from bench.report import checks_table, update_readme, write_reports
from bench.runner import STALLED_ROUND_TRIP_MS, loopback_round_trip_ms, run_scenario
from bench.source import describe, snapshot
from bench.targets import check_all

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parent / "README.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The flags; a leading `--` is dropped, so `python3 dev.py bench -- --quick` passes `--quick` through."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small tenants and fewer scenarios (under 2 minutes)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where results.md, results.json and the PNG go")
    parser.add_argument("--only", nargs="*", default=None, help="run only these scenarios (by name, prefix match)")
    parser.add_argument("--list", action="store_true", help="list the plan's scenarios and exit")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the per-scenario logs and databases")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the connector and the sandbox with py-spy; summaries go to OUT/profiles (timings then skewed)",
    )
    parser.add_argument(
        "--wait-for-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each scenario, wait up to this long for other processes to leave the CPUs idle",
    )
    return parser.parse_args(argv)


def select(plan: Plan, only: list[str] | None) -> Plan:
    if not only:
        return plan
    return Plan(plan.name, [s for s in plan.scenarios if any(s.name.startswith(prefix) for prefix in only)])


#: Cores busy with other processes below which the machine counts as quiet.
QUIET_CORES = 0.25


def wait_for_quiet(limit_s: float) -> float:
    """Waits until the CPUs are idle (or `limit_s` passes): another job's load would land in the timings."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        busy_cores = psutil.cpu_percent(interval=1.0) / 100 * (psutil.cpu_count() or 1)
        if busy_cores < QUIET_CORES:
            break
    return time.monotonic() - started


def summary(result: dict) -> str:
    if "error" in result:
        return f"ERROR: {result['error']}\n{result.get('log_tail', '')}"
    requests = "" if result["timed_requests"] is None else f"{result['requests']} requests, "
    return (
        f"{result['wall_s']:.1f} s, {result['records']:,} records, {result['records_per_s']:,.0f} records/s, "
        f"{requests}{result['throttled']} throttled, peak RSS {result['peak_rss_mb']:.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = select(quick_plan() if args.quick else full_plan(), args.only)
    if args.list:
        for scenario in plan.scenarios:
            print(f"{scenario.name:<26} {scenario.tenant.label}")
        return 0
    started = time.monotonic()
    results = []
    scratch = Path(tempfile.mkdtemp(prefix="egnyte-bench-"))
    context: dict[str, object] = {
        "profiled": args.profile,
        "source": describe(),
        "default_concurrency": DEFAULT_CONCURRENCY,
    }
    try:
        source = snapshot(scratch / "source")
        round_trip = loopback_round_trip_ms(scratch, source)
        context["keepalive_round_trip_ms"] = round_trip
        print(f"keep-alive round trip to the sandbox on loopback: {round_trip:.1f} ms")
        if round_trip > STALLED_ROUND_TRIP_MS:
            print("  that is a stall in the sandbox's sockets (delayed ACK?), added to every request below")
        for number, scenario in enumerate(plan.scenarios, 1):
            print(f"[{number}/{len(plan.scenarios)}] {scenario.name}: {scenario.tenant.label} ...", end=" ", flush=True)
            waited = wait_for_quiet(args.wait_for_quiet)
            if waited >= 1:
                print(f"(waited {waited:.0f} s for a quiet machine)", end=" ", flush=True)
            profile_dir = args.out / "profiles" if args.profile else None
            result = run_scenario(scenario, scratch, source, profile_dir=profile_dir)
            results.append(result)
            print(summary(result), flush=True)
    finally:
        if args.keep_scratch:
            print(f"logs and databases kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    checks = check_all(results, DEFAULT_CONCURRENCY)
    seconds = time.monotonic() - started
    # A profiled run's timings are not the benchmark's: its table stays beside its profiles.
    out = args.out / "profiles" if args.profile else args.out
    text = write_reports(out, plan.name, results, checks, seconds, context)
    png = None if args.profile else plot_throughput(results, out / "throughput.png", DEFAULT_CONCURRENCY)
    print("\n" + text)
    if out == DEFAULT_OUT and plan.name == "full" and not args.only and update_readme(README, text):
        print(f"updated the results in {README}")
    print(f"written: {out / 'results.md'}, {out / 'results.json'}" + (f", {png}" if png else ""))
    failed = [check for check in checks if check.verdict in ("FAIL", "MISSING")]
    if failed:
        print(f"{len(failed)} target(s) not met:\n" + checks_table(failed), file=sys.stderr)
    return 1 if any("error" in result for result in results) else 0
