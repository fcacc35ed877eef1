"""The issue's targets, each a ratio of two measurements of the same run (so a noisy machine moves both sides).

A target whose scenarios are missing (not in the plan, or failed) is reported as not measured, never as passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from bench.plan import DEFAULT_CONCURRENCY, USERS_ONLY

RATE_SHARE = 0.95
#: The most of a limiter-kind scenario's requests that may be throttled.
KIND_THROTTLED_SHARE = 0.005
CONCURRENCY_SPEEDUP = 10.0
SINK_OVERHEAD = 1.15
CEILING_RECORDS_PER_S = 20_000.0
#: What memory may grow by per user of the tenant: finding deleted users means remembering every user id of the
#: last scan (8 bytes each, and a transient sort when a scan completes); nothing else may grow with the tenant.
MEMORY_GROWTH = 100
#: The most memory a sync of long notes (3,000 of 300,000 characters) may take through the DuckDB sink.
TEXT_PEAK_RSS_MB = 600


@dataclass
class Check:
    target: str
    verdict: str  # PASS, FAIL, INFO (reported, no target) or MISSING
    value: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _by_name(results: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {result["name"]: result for result in results if "error" not in result}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def check_all(results: list[dict[str, Any]], default: int = DEFAULT_CONCURRENCY) -> list[Check]:
    """Every target; `default` is the connector's default concurrency when the results were measured."""
    found = _by_name(results)
    return [
        *_rate_checks(found, default),
        *_kind_checks(found),
        *_concurrency_checks(found, default),
        *_sink_checks(found),
        *_ceiling_checks(found),
        *_memory_checks(found),
        *_text_checks(found),
    ]


def _rate_checks(found: dict[str, dict[str, Any]], default_concurrency: int) -> list[Check]:
    """Limit L ≥ 2/s, paced at L: a pace of ≥ 0.95 L while calls flow (as for the limiter kinds: the first to the
    last admitted call) with no throttle (default concurrency; one in flight is shown)."""
    checks = []
    for result in found.values():
        scenario = result["scenario"]
        limit = scenario["server_limit"]
        if limit is None or limit < 2 or scenario["requests_per_second"] != limit or scenario["group"] == "kinds":
            continue
        share, throttled = result.get("pace_over_limit") or result["achieved_over_limit"], result["throttled"]
        default = scenario["concurrency"] == default_concurrency
        checks.append(Check(
            target=f"rate at limit {limit:g}/s ({result['name']})",
            verdict=_verdict(share >= RATE_SHARE and throttled == 0) if default else "INFO",
            value=f"{share:.3f}×L, {throttled} throttled",
            detail=f"{result['requests']} requests in {result['wall_s']:.1f} s = {result['requests_per_s']:.2f}/s "
            f"({result['achieved_over_limit']:.3f}×L over the whole sync); target ≥ {RATE_SHARE}×L while calls flow "
            "and 0 throttled" + ("" if default else " (not the default concurrency)"),
        ))  # fmt: skip
    return checks


def throttled_share(result: dict[str, Any]) -> float:
    """Throttled answers over all the requests the sandbox answered."""
    return result["throttled"] / result["requests"] if result["requests"] else 0.0


def _kind_checks(found: dict[str, dict[str, Any]]) -> list[Check]:
    """Each way of counting calls per second (token bucket, sliding window, fixed windows) at each limit: a pace
    of ≥ 0.95 L while calls flow (from the first admitted call to the last: see runner._derive) with at most 0.5%
    of the requests throttled."""
    checks = []
    for result in found.values():
        scenario = result["scenario"]
        if scenario["group"] != "kinds":
            continue
        share, throttled = result.get("pace_over_limit") or result["achieved_over_limit"], throttled_share(result)
        kind = scenario.get("limiter_kind", "token_bucket")
        checks.append(Check(
            target=f"rate at limit {scenario['server_limit']:g}/s, {kind.replace('_', ' ')} ({result['name']})",
            verdict=_verdict(share >= RATE_SHARE and throttled <= KIND_THROTTLED_SHARE),
            value=f"{share:.3f}×L, {throttled:.2%} throttled",
            detail=f"{result['throttled']} of {result['requests']} requests throttled in {result['wall_s']:.1f} s "
            f"({result['achieved_over_limit']:.3f}×L over the whole sync); target ≥ {RATE_SHARE}×L while calls flow "
            f"and ≤ {KIND_THROTTLED_SHARE:.1%} throttled",
        ))  # fmt: skip
    return checks


def _speedup(base: dict[str, Any], other: dict[str, Any], target: float | None) -> Check:
    ratio = other["records_per_s"] / base["records_per_s"]
    return Check(
        target=f"{other['name']} vs {base['name']} (no limit, 100 ms, null sink)",
        verdict=_verdict(ratio >= target) if target else "INFO",
        value=f"{ratio:.2f}×",
        detail=f"{other['records_per_s']:,.0f} vs {base['records_per_s']:,.0f} records/s"
        + (f"; target ≥ {target:g}×" if target else ""),
    )


def _concurrency_checks(found: dict[str, dict[str, Any]], default: int) -> list[Check]:
    """Per group (users only, mixed): every concurrency against one in flight, no limit, 100 ms latency."""
    checks = []
    for group in ("limit", "mixed"):
        runs = {
            result["scenario"]["concurrency"]: result
            for result in found.values()
            if result["scenario"]["group"] == group
            and result["scenario"]["server_limit"] is None
            and result["scenario"]["latency_ms"]
        }
        if 1 not in runs:
            continue
        for concurrency in sorted(runs):
            if concurrency != 1:
                target = CONCURRENCY_SPEEDUP if group == "limit" and concurrency == default else None
                checks.append(_speedup(runs[1], runs[concurrency], target))
    if not any(check.verdict != "INFO" for check in checks):
        checks.insert(0, Check("default concurrency vs one in flight", "MISSING", "-", "scenario missing or failed"))
    return checks


def _sink_checks(found: dict[str, dict[str, Any]]) -> list[Check]:
    """The connector into DuckDB against the same rows replayed into DuckDB; the users-only pair is shown too."""
    checks = []
    for prefix, target in (("duckdb", SINK_OVERHEAD), ("duckdb-users", None)):
        connector, alone = found.get(f"{prefix}-connector"), found.get(f"{prefix}-sink-alone")
        if connector is None or alone is None:
            if target:
                checks.append(Check(f"{prefix}: connector vs sink alone", "MISSING", "-", "scenario missing or failed"))
            continue
        ratio = connector["wall_s"] / alone["wall_s"]
        checks.append(Check(
            target=f"DuckDB sink, no limit, {connector['tenant']}: connector time / sink-alone time",
            verdict=_verdict(ratio <= target) if target else "INFO",
            value=f"{ratio:.2f}×",
            detail=f"{connector['wall_s']:.1f} s vs {alone['wall_s']:.1f} s for {connector['records']:,} vs "
            f"{alone['records']:,} rows" + (f"; target ≤ {target}×" if target else ""),
        ))  # fmt: skip
    return checks


def _ceiling_checks(found: dict[str, dict[str, Any]]) -> list[Check]:
    checks = []
    for name, target in (("ceiling-users", CEILING_RECORDS_PER_S), ("ceiling-all", None)):
        if name not in found:
            if target:
                checks.append(Check(f"extractor ceiling ({name})", "MISSING", "-", "scenario missing or failed"))
            continue
        rate = found[name]["records_per_s"]
        checks.append(Check(
            target=f"extractor ceiling, null sink, no latency ({name})",
            verdict=_verdict(rate >= target) if target else "INFO",
            value=f"{rate:,.0f} records/s",
            detail=(f"target ≥ {target:,.0f} records/s; " if target else "")
            + f"connector CPU {found[name]['cpu_share']:.0%}, sandbox CPU {found[name]['sandbox_cpu_share']:.0%}",
        ))  # fmt: skip
    return checks


def _text_checks(found: dict[str, dict[str, Any]]) -> list[Check]:
    """Long texts must not make the connector's memory grow with the tenant: its peak (null sink) under
    TEXT_PEAK_RSS_MB. The DuckDB rows are information: the SDK's local sink keeps what it wrote in memory, as the
    sink-alone row, fed made-up notes without any connector, shows."""
    sinks = {"null": "the connector alone (null sink)", "duckdb": "through the DuckDB sink",
             "duckdb-generated": "the DuckDB sink alone, made-up notes"}  # fmt: skip
    checks = []
    for result in found.values():
        if result["scenario"]["group"] != "memory-text":
            continue
        sink = result["scenario"]["sink"]
        checks.append(Check(
            target=f"peak RSS, {result['tenant']}: {sinks.get(sink, sink)}",
            verdict=_verdict(result["peak_rss_mb"] <= TEXT_PEAK_RSS_MB) if sink == "null" else "INFO",
            value=f"{result['peak_rss_mb']:.0f} MB",
            detail=f"{result['records']:,} notes" + (f"; target ≤ {TEXT_PEAK_RSS_MB} MB" if sink == "null" else ""),
        ))  # fmt: skip
    return checks or [Check("memory, long notes", "MISSING", "-", "scenario missing or failed")]


def _memory_checks(found: dict[str, dict[str, Any]]) -> list[Check]:
    checks = []
    for sink, target in (("null", MEMORY_GROWTH), ("duckdb", None)):
        runs = sorted(
            (
                result
                for result in found.values()
                if result["scenario"]["sink"] == sink
                and result["scenario"]["group"] in ("memory", "duckdb")
                and tuple(result["scenario"]["tenant"]["streams"]) == USERS_ONLY
            ),
            key=lambda result: result["scenario"]["tenant"]["users"],
        )
        if len(runs) < 2:
            if target:
                checks.append(Check(f"memory, {sink} sink", "MISSING", "-", "scenario missing or failed"))
            continue
        small, large = runs[0], runs[-1]
        users = large["scenario"]["tenant"]["users"] - small["scenario"]["tenant"]["users"]
        per_user = (large["peak_rss_mb"] - small["peak_rss_mb"]) * 1_000_000 / users
        checks.append(Check(
            target=f"peak RSS, {sink} sink: {large['tenant']} against {small['tenant']}",
            verdict=_verdict(per_user <= target) if target else "INFO",
            value=f"{per_user:.0f} bytes a user",
            detail=f"{large['peak_rss_mb']:.0f} MB vs {small['peak_rss_mb']:.0f} MB"
            + (f"; target ≤ {target} bytes a user" if target else ""),
        ))  # fmt: skip
    return checks
