"""The benchmark's own pieces that need no sandbox: its log, the before/after report of `--against`, and the
limiter-kind scenarios (their sandbox flags, their checks and their side-by-side table)."""

from __future__ import annotations

import inspect

from bench.plan import full_plan
from bench.report import compare, comparison_table, geometric_means, kinds_table, markdown_table
from bench.sandbox import sandbox_args
from bench.sinks import QuietLog
from bench.targets import check_all
from egnyte_async.log import Log


def test_quiet_log_has_every_method_of_the_extractors_log() -> None:
    wanted = {name for name, _ in inspect.getmembers(Log, inspect.isfunction) if not name.startswith("_")}
    log = QuietLog()
    for name in wanted:
        getattr(log, name)("a line")
    assert wanted == {"debug", "info", "warning", "severe"}
    assert log.warning_count == 2 and log.warnings == ["a line", "a line"]


def _result(name: str, wall: float, *, first: bool, limited: bool = True) -> dict:
    return {
        "name": name,
        "tenant": "1k users",
        "ran_first": first,
        "wall_s": wall,
        "records": 1000,
        "records_per_s": 1000 / wall,
        "timed_requests": 10 if limited else None,
        "requests_per_s": 10 / wall if limited else None,
        "achieved_over_limit": 0.5 if limited else None,
        "throttled": 0,
        "peak_rss_mb": 40.0,
        "cpu_share": 0.2,
        "other_load": 0.01,
    }


def test_compare_gives_after_over_before_per_measure() -> None:
    before = [_result("one", 2.0, first=True), _result("two", 1.0, first=False, limited=False)]
    after = [_result("one", 2.2, first=False), _result("two", 1.0, first=True, limited=False)]
    rows = compare(before, after)
    one, two = rows
    assert one["first"] == "before" and two["first"] == "after"
    assert abs(one["measures"]["wall_s"]["ratio"] - 1.1) < 1e-9
    assert one["measures"]["throttled"]["ratio"] is None  # 0 throttled on both sides: no ratio
    assert two["measures"]["requests_per_s"] == {"before": None, "after": None, "ratio": None}
    assert abs(geometric_means(rows)["wall_s"] - 1.1**0.5) < 1e-9
    table = comparison_table(rows)
    assert "| one | 1k users | A | 1,000 | 2.00 → 2.20 | 1.10 |" in table
    assert table.splitlines()[-1].startswith("| geometric mean |")


def test_compare_marks_a_failed_side() -> None:
    after = _result("one", 1.0, first=False)
    rows = compare([{"name": "one", "tenant": "1k users", "ran_first": True, "error": "timed out"}], [after])
    assert rows[0]["errors"] == {"before": "timed out"}
    assert rows[0]["measures"]["wall_s"]["ratio"] is None
    assert "ERROR in A" in comparison_table(rows)


def _calls(name: str, first: dict[str, int], incremental: dict[str, int]) -> dict:
    return {"name": name, "scenario": {"sink": "calls"}, "calls": {"first": first, "incremental": incremental}}


def test_calls_tables_give_each_endpoint_and_the_incremental_target() -> None:
    from bench.calls_report import calls_comparison, calls_table, is_calls

    before = _calls("calls-10k-detail", {"/u": 100, "/b": 10_000}, {"/u": 100, "/b": 10_000})
    within = _calls("calls-10k-detail", {"/u": 100, "/b": 10_000}, {"/u": 100, "/b": 500})
    assert is_calls(before) and not is_calls(_result("one", 1.0, first=True))
    table = calls_table([within])
    assert "| calls-10k-detail | `/b` | 10,000 | 500 |" in table
    assert "| calls-10k-detail | **all** | 10,100 | 600 |" in table
    passed = calls_comparison([before], [within])
    assert "| calls-10k-detail | `/b` | 10,000 → 10,000 | 10,000 → 500 | 0.05 |" in passed
    assert "**PASS** | 5.9%" in passed
    over = _calls("calls-10k-detail", {"/u": 200}, {"/u": 200, "/b": 2_000})
    assert "**FAIL** | 21.8%" in calls_comparison([before], [over])
    failed = {"name": "calls-10k-detail", "scenario": {"sink": "calls"}, "error": "timed out"}
    assert "**MISSING**" in calls_comparison([failed], [within])


def _kind_result(name: str, achieved: float, throttled: int, requests: int = 1000, pace: float | None = None) -> dict:
    scenario = next(s for s in full_plan().scenarios if s.name == name)
    return {
        **_result(name, 30.0, first=True),
        "scenario": scenario.to_dict(),
        "requests": requests,
        "timed_requests": requests,
        "achieved_over_limit": achieved,
        "pace_over_limit": pace if pace is not None else achieved,
        "throttled": throttled,
        "sandbox_cpu_share": 0.1,
    }


def test_every_limiter_kind_is_run_at_2_20_and_100_calls_a_second() -> None:
    kinds = {(s.limiter_kind, s.server_limit) for s in full_plan().scenarios if s.group == "kinds"}
    assert kinds == {
        (kind, limit) for kind in ("token_bucket", "sliding_window", "fixed_window") for limit in (2, 20, 100)
    }
    sliding = next(s for s in full_plan().scenarios if s.name == "kind-sliding-20")
    flags = sandbox_args(sliding)
    assert flags[flags.index("--limiter-kind") + 1] == "sliding_window"
    assert flags[flags.index("--qps-limit") + 1] == "20" and sliding.requests_per_second == 20
    # An older commit's child (--against) knows no limiter_kind: it is never told.
    assert "limiter_kind" not in sliding.child_dict() and sliding.child_dict()["name"] == "kind-sliding-20"


def test_limiter_kinds_pass_at_95_percent_and_at_most_half_a_percent_throttled() -> None:
    results = [
        _kind_result("kind-bucket-20", 0.96, 0),
        _kind_result("kind-sliding-20", 0.96, 5),  # 0.5%: still within
        _kind_result("kind-fixed-20", 0.96, 6),  # 0.6%: over
        _kind_result("kind-sliding-100", 0.949, 0),  # too slow
        _kind_result("kind-fixed-100", 0.947, 0, pace=0.958),  # the pace while calls flow is what counts
    ]
    verdicts = {c.target.split("(")[-1].rstrip(")"): c.verdict for c in check_all(results) if "kind-" in c.target}
    assert verdicts == {"kind-bucket-20": "PASS", "kind-sliding-20": "PASS", "kind-fixed-20": "FAIL",
                        "kind-sliding-100": "FAIL", "kind-fixed-100": "PASS"}  # fmt: skip
    # The kind rows are checked once, by their own target, not also by the token bucket's zero-throttle one.
    assert not [c for c in check_all(results) if c.target.startswith("rate at limit 20/s (kind-")]
    table = kinds_table(results).splitlines()
    assert table[0] == "| limit | token bucket | sliding window | fixed window |"
    cell = "0.960×L (0.960 over the sync), {} throttled"
    assert table[2] == "| 20/s | " + " | ".join(cell.format(share) for share in ("0.00%", "0.50%", "0.60%")) + " |"
    sliding, fixed = "0.949×L (0.949 over the sync)", "0.958×L (0.947 over the sync)"
    assert table[3] == f"| 100/s | - | {sliding}, 0.00% throttled | {fixed}, 0.00% throttled |"
    assert "| kind-sliding-20 | 1k users | 20/s sliding |" in markdown_table(results)
    assert kinds_table([_result("one", 1.0, first=True) | {"scenario": {"group": "limit"}}]) == ""
