"""The results as a markdown table (printed and written), a JSON file with everything measured, and the checks."""

from __future__ import annotations

import json
import math
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from bench.calls_report import calls_comparison, calls_table, is_calls
from bench.plan import LIMITER_KINDS
from bench.targets import Check, throttled_share

COLUMNS = (
    "scenario", "tenant", "server limit", "client rps", "in flight", "sink", "latency", "wall s", "records",
    "records/s", "requests", "requests/s", "achieved/limit", "throttled", "peak RSS MB", "CPU", "sandbox CPU",
    "other load",
)  # fmt: skip


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _row(result: dict[str, Any]) -> list[str]:
    scenario = result["scenario"]
    limit = scenario["server_limit"]
    latency = f"{scenario['latency_ms']}±{scenario['jitter_ms']} ms" if scenario["latency_ms"] else "0"
    rps = scenario["requests_per_second"]
    head = [
        result["name"],
        result["tenant"],
        _server_limit(limit, scenario.get("limiter_kind", "token_bucket")),
        f"{rps:g}" if rps < 1e6 else "unpaced",
        str(scenario["concurrency"]),
        scenario["sink"],
        latency,
    ]
    if "error" in result:
        return [*head, f"ERROR: {result['error']}", *([""] * (len(COLUMNS) - len(head) - 1))]
    return [
        *head,
        _number(result["wall_s"], 1),
        _number(result["records"]),
        _number(result["records_per_s"]),
        _number(result["timed_requests"]),
        _number(result["requests_per_s"], 1),
        _number(result["achieved_over_limit"], 3),
        str(result["throttled"]) if result["timed_requests"] is not None else "-",
        _number(result["peak_rss_mb"]),
        f"{result['cpu_share']:.0%}",
        f"{result['sandbox_cpu_share']:.0%}" if result["timed_requests"] is not None else "-",
        f"{result['other_load']:.2f}",
    ]


def _server_limit(limit: float | None, kind: str) -> str:
    """`20/s` for the sandbox's token bucket, `20/s sliding` or `20/s fixed` for its windows."""
    if limit is None:
        return "none"
    return f"{limit:g}/s" + ("" if kind == "token_bucket" else f" {LIMITER_KINDS.get(kind, kind)}")


def kinds_table(results: list[dict[str, Any]]) -> str:
    """The limiter-kind scenarios side by side, a row per limit and a column per kind: achieved/limit and the share
    of requests throttled; empty when the run had none of them."""
    cells: dict[float, dict[str, str]] = {}
    for result in results:
        scenario = result["scenario"]
        if scenario["group"] != "kinds":
            continue
        kind = scenario.get("limiter_kind", "token_bucket")
        text = (
            "ERROR"
            if "error" in result
            else (
                f"{result.get('pace_over_limit') or result['achieved_over_limit']:.3f}×L "
                f"({result['achieved_over_limit']:.3f} over the sync), {throttled_share(result):.2%} throttled"
            )
        )
        cells.setdefault(scenario["server_limit"], {})[kind] = text
    if not cells:
        return ""
    names = [kind.replace("_", " ") for kind in LIMITER_KINDS]
    lines = ["| limit | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for limit in sorted(cells):
        row = [cells[limit].get(kind, "-") for kind in LIMITER_KINDS]
        lines.append(f"| {limit:g}/s | " + " | ".join(row) + " |")
    return "\n".join(lines)


def markdown_table(results: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_row(result)) + " |" for result in results]
    return "\n".join(lines)


def checks_table(checks: list[Check]) -> str:
    lines = ["| target | verdict | measured | detail |", "|---|---|---|---|"]
    lines += [f"| {c.target} | **{c.verdict}** | {c.value} | {c.detail} |" for c in checks]
    return "\n".join(lines)


def machine() -> str:
    memory_gb = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.machine()}, {psutil.cpu_count(logical=True)} CPUs, {memory_gb:.0f} GB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def _context_line(context: dict[str, Any]) -> str:
    trip = context.get("keepalive_round_trip_ms")
    line = f"Code: {context.get('source', 'unknown')}. Keep-alive round trip to the sandbox on loopback: " + (
        f"{trip:.1f} ms." if isinstance(trip, float) else "not measured."
    )
    if context.get("profiled"):
        line += " **Profiled run: py-spy sampled every process, so these timings are not the benchmark's.**"
    return line


CALLS_NOTE = (
    "Both sides ran this tree's driver (bench/calls.py) and sandbox, in-process on virtual time, quota and rate off; "
    "only `egnyte_async` is A's or B's. A first sync, then a quiet one 4 h later (5% of the users active, a few "
    "bookmarks changed), counted per endpoint by the sandbox."
)
README_START = "<!-- results: written by `python -m bench` (full plan, default --out) -->"
README_END = "<!-- end of results -->"


def _write_json(out: Path, plan: str, when: str, seconds: float, context: dict[str, Any], **measured: Any) -> None:
    """results.json: the run's plan, time, machine and context, then what it measured."""
    payload = {"plan": plan, "finished_at": when, "machine": machine(), "seconds": seconds, "context": context}
    (out / "results.json").write_text(json.dumps({**payload, **measured}, indent=2, default=str))


def update_readme(readme: Path, results_markdown: str) -> bool:
    """Replaces the results block of bench/README.md with this run's, so the README always shows the kept run."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    body = results_markdown.replace("# Benchmark results", "### Benchmark results", 1)
    body = body.replace("\n## Targets\n", "\n#### Target checks\n", 1)
    figure = "![records and requests per second against the server limit](results/throughput.png)"
    block = f"{README_START}\n{body}\n{figure}\n"
    readme.write_text(f"{head}{block}{README_END}{tail}")
    return True


def write_reports(
    out: Path,
    plan: str,
    results: list[dict[str, Any]],
    checks: list[Check],
    seconds: float,
    context: dict[str, Any],
) -> str:
    """Writes results.md and results.json into `out`; returns the markdown, also meant for the console."""
    out.mkdir(parents=True, exist_ok=True)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    calls = [result for result in results if is_calls(result)]
    text = "\n".join([
        f"# Benchmark results ({plan} plan)",
        "",
        f"{when}; {machine()}; whole run {seconds / 60:.1f} min. Method: bench/README.md.",
        _context_line(context),
        "",
        markdown_table([result for result in results if not is_calls(result)]),
        "",
        *_kinds_section(results),
        "## Targets",
        "",
        checks_table(checks),
        "",
        *(["## Calls per sync", "", calls_table(calls), ""] if calls else []),
    ])  # fmt: skip
    (out / "results.md").write_text(text)
    _write_json(out, plan, when, seconds, context, results=results, checks=[check.to_dict() for check in checks])
    return text


def _kinds_section(results: list[dict[str, Any]]) -> list[str]:
    table = kinds_table(results)
    if not table:
        return []
    return ["## Limiter kinds", "",
            "The pace while calls flow over the limit (in brackets: over the whole sync, its start-up and wrap-up "
            "included) and the throttled share, per limit and per way of counting calls:", "",
            table, ""]  # fmt: skip


#: What `--against` compares per scenario: the result's key, its heading, and its digits (None: a percentage).
COMPARED = (
    ("wall_s", "wall s", 2),
    ("records_per_s", "records/s", 0),
    ("requests_per_s", "requests/s", 1),
    ("achieved_over_limit", "achieved/limit", 3),
    ("throttled", "throttled", 0),
    ("peak_rss_mb", "peak RSS MB", 0),
    ("cpu_share", "CPU", None),
)


def _measure(result: dict[str, Any], key: str) -> float | None:
    if "error" in result or (key == "throttled" and result.get("timed_requests") is None):
        return None
    return result.get(key)


def _ratio(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None or before == 0 else after / before


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scenario run on both sides (matched by name): every compared measure before, after, and after/before."""
    after_by_name = {result["name"]: result for result in after}
    rows = []
    for a in before:
        b = after_by_name.get(a["name"])
        if b is None:
            continue
        measures = {}
        for key, _, _ in COMPARED:
            x, y = _measure(a, key), _measure(b, key)
            measures[key] = {"before": x, "after": y, "ratio": _ratio(x, y)}
        rows.append({
            "name": a["name"],
            "tenant": a["tenant"],
            "first": "before" if a.get("ran_first") else "after",
            "errors": {side: r["error"] for side, r in (("before", a), ("after", b)) if "error" in r},
            "records": {"before": a.get("records"), "after": b.get("records")},
            "other_load": {"before": a.get("other_load"), "after": b.get("other_load")},
            "measures": measures,
        })  # fmt: skip
    return rows


def geometric_means(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Per measure, the geometric mean of after/before over the scenarios where both sides have a positive value."""
    means: dict[str, float | None] = {}
    for key, _, _ in COMPARED:
        ratios = [row["measures"][key]["ratio"] for row in rows]
        logs = [math.log(ratio) for ratio in ratios if ratio]
        means[key] = math.exp(sum(logs) / len(logs)) if logs else None
    return means


def _value(value: float | None, digits: int | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if digits is None else _number(value, digits)


def comparison_table(rows: list[dict[str, Any]]) -> str:
    """A (before) and B (after) side by side, B/A per measure, and the geometric mean of each ratio at the end."""
    heads = ["scenario", "tenant", "first", "records"]
    for _, heading, _ in COMPARED:
        heads += [f"{heading} A → B", "B/A"]
    heads.append("other load A / B")
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in rows:
        records = row["records"]
        if row["errors"]:
            count = "ERROR in " + " and ".join("A" if side == "before" else "B" for side in row["errors"])
        elif records["before"] == records["after"]:
            count = _number(records["before"])
        else:
            count = f"{_number(records['before'])} → {_number(records['after'])}"
        cells = [row["name"], row["tenant"], "A" if row["first"] == "before" else "B", count]
        for key, _, digits in COMPARED:
            measure = row["measures"][key]
            cells.append(f"{_value(measure['before'], digits)} → {_value(measure['after'], digits)}")
            cells.append(_number(measure["ratio"], 2))
        load = row["other_load"]
        cells.append(f"{_number(load['before'], 2)} / {_number(load['after'], 2)}")
        lines.append("| " + " | ".join(cells) + " |")
    means = geometric_means(rows)
    cells = ["geometric mean", "", "", ""]
    for key, _, _ in COMPARED:
        cells += ["", _number(means[key], 2)]
    lines.append("| " + " | ".join([*cells, ""]) + " |")
    return "\n".join(lines)


def compared_checks_table(before: list[Check], after: list[Check]) -> str:
    """Every target's verdict on both sides."""
    found = {"A": {c.target: c for c in before}, "B": {c.target: c for c in after}}
    targets = dict.fromkeys([*found["A"], *found["B"]])
    lines = ["| target | A | B |", "|---|---|---|"]
    for target in targets:
        cells = [found[side].get(target) for side in ("A", "B")]
        verdicts = ["-" if c is None else f"**{c.verdict}** {c.value}" for c in cells]
        lines.append(f"| {target} | " + " | ".join(verdicts) + " |")
    return "\n".join(lines)


def write_comparison(
    out: Path,
    plan: str,
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    checks: tuple[list[Check], list[Check]],
    seconds: float,
    context: dict[str, Any],
) -> str:
    """`--against`: writes results.md and results.json of both sides into `out`; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # The calls scenarios have their own table; the timing tables and ratios are of the others.
    everything_before = before
    calls = [result for result in before if is_calls(result)]
    before = [result for result in before if not is_calls(result)]
    rows = compare(before, after)
    a, b = context["against"], context["source"]
    trip = context.get("keepalive_round_trip_ms")
    text = "\n".join([
        f"# Benchmark before and after ({plan} plan)",
        "",
        f"{when}; {machine()}; whole run {seconds / 60:.1f} min. Method: bench/README.md.",
        f"A (before): {a}, from a temporary git worktree. B (after): {b}, this tree. "
        "The sandbox is this tree's for both. Each scenario ran on both sides in turn, A first or B first "
        "alternately (column *first*). Keep-alive round trip to the sandbox on loopback: "
        + (f"{trip:.1f} ms." if isinstance(trip, float) else "not measured."),
        "",
        comparison_table(rows),
        "",
        "## Targets",
        "",
        compared_checks_table(*checks),
        "",
        *(["## Calls per sync, A → B", "", CALLS_NOTE, "", calls_comparison(calls, after), ""] if calls else []),
        f"## A: {a}",
        "",
        markdown_table(before),
        "",
        f"## B: {b}",
        "",
        markdown_table([result for result in after if not is_calls(result)]),
        "",
    ])  # fmt: skip
    (out / "results.md").write_text(text)
    _write_json(
        out,
        plan,
        when,
        seconds,
        context,
        comparison=rows,
        geometric_means=geometric_means(rows),
        before={"code": a, "results": everything_before, "checks": [check.to_dict() for check in checks[0]]},
        after={"code": b, "results": after, "checks": [check.to_dict() for check in checks[1]]},
    )
    return text
