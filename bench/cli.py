"""`python -m bench [--quick] [--out DIR] [--only NAME ...] [--against GIT_REF]`: runs the plan, writes the results."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psutil

from bench.plan import DEFAULT_CONCURRENCY, Plan, full_plan, quick_plan
from bench.plot import plot_throughput
from bench.report import checks_table, update_readme, write_comparison, write_reports
from bench.runner import STALLED_ROUND_TRIP_MS, loopback_round_trip_ms, run_scenario
from bench.source import describe, reference_worktree, snapshot
from bench.targets import check_all

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
#: `--against` writes here by default: a comparison is not the kept run of `results/` (bench/out/ is not committed).
AGAINST_OUT = Path(__file__).resolve().parent / "out" / "against"
README = Path(__file__).resolve().parent / "README.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The flags; a leading `--` is dropped, so `python3 dev.py bench -- --quick` passes `--quick` through."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small tenants and fewer scenarios (under 2 minutes)")
    parser.add_argument("--out", type=Path, default=None, help="where results.md, results.json and the PNG go")
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
    parser.add_argument(
        "--against",
        metavar="GIT_REF",
        help="run every scenario twice, interleaved: with the code of GIT_REF (in a temporary git worktree) and with "
        "this tree; report both side by side with after/before ratios (default --out: bench/out/against)",
    )
    args = parser.parse_args(argv)
    if args.against and args.profile:
        parser.error("--against and --profile do not go together")
    if args.out is None:
        args.out = AGAINST_OUT if args.against else DEFAULT_OUT
    return args


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
    scratch = Path(tempfile.mkdtemp(prefix="egnyte-bench-"))
    context: dict[str, object] = {
        "profiled": args.profile,
        "source": describe(),
        "default_concurrency": DEFAULT_CONCURRENCY,
    }
    try:
        with ExitStack() as stack:
            source = snapshot(scratch / "source")
            # Where each side's child imports its code from: this tree's copy, and with --against the reference.
            sides = {"": source}
            if args.against:
                try:
                    reference, context["against"] = stack.enter_context(reference_worktree(args.against))
                except (ValueError, RuntimeError) as error:
                    print(f"--against: {error}", file=sys.stderr)
                    return 2
                sides = {"A": reference, "B": source}
                print(f"A (before): {context['against']}, checked out in {reference}")
                print(f"B (after): {context['source']}, this tree")
            round_trip = loopback_round_trip_ms(scratch, source)
            context["keepalive_round_trip_ms"] = round_trip
            print(f"keep-alive round trip to the sandbox on loopback: {round_trip:.1f} ms")
            if round_trip > STALLED_ROUND_TRIP_MS:
                print("  that is a stall in the sandbox's sockets (delayed ACK?), added to every request below")
            results = _run_plan(plan, scratch, source, sides, args)
    finally:
        if args.keep_scratch:
            print(f"logs and databases kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.monotonic() - started
    failed_runs = any("error" in result for side in results.values() for result in side)
    if args.against:
        checks = (check_all(results["A"], DEFAULT_CONCURRENCY), check_all(results["B"], DEFAULT_CONCURRENCY))
        text = write_comparison(args.out, plan.name, results["A"], results["B"], checks, seconds, context)
        print("\n" + text)
        print(f"written: {args.out / 'results.md'}, {args.out / 'results.json'}")
        return 1 if failed_runs else 0
    results = results[""]
    checks = check_all(results, DEFAULT_CONCURRENCY)
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
    return 1 if failed_runs else 0


def _run_plan(
    plan: Plan, scratch: Path, source: Path, sides: dict[str, Path], args: argparse.Namespace
) -> dict[str, list[dict]]:
    """Every scenario once per side, the sides interleaved: A then B, then B then A for the next scenario, and so on.

    The sandbox always runs from this tree's copy (`source`); the child from its side's tree.
    """
    results: dict[str, list[dict]] = {side: [] for side in sides}
    order = list(sides)
    for number, scenario in enumerate(plan.scenarios, 1):
        for position, side in enumerate(order if number % 2 else order[::-1]):
            label = f"{scenario.name}{f' ({side})' if side else ''}"
            print(f"[{number}/{len(plan.scenarios)}] {label}: {scenario.tenant.label} ...", end=" ", flush=True)
            waited = wait_for_quiet(args.wait_for_quiet)
            if waited >= 1:
                print(f"(waited {waited:.0f} s for a quiet machine)", end=" ", flush=True)
            profile_dir = args.out / "profiles" if args.profile else None
            result = run_scenario(scenario, scratch / side, source, profile_dir=profile_dir, child_source=sides[side])
            if side:
                result["ran_first"] = position == 0
            results[side].append(result)
            print(summary(result), flush=True)
    return results
