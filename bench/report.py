"""The results as a markdown table (printed and written), a JSON file with everything measured, and the checks."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from bench.targets import Check

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
        "none" if limit is None else f"{limit:g}/s",
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


README_START = "<!-- results: written by `python -m bench` (full plan, default --out) -->"
README_END = "<!-- end of results -->"


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
    text = "\n".join([
        f"# Benchmark results ({plan} plan)",
        "",
        f"{when}; {machine()}; whole run {seconds / 60:.1f} min. Method: bench/README.md.",
        _context_line(context),
        "",
        markdown_table(results),
        "",
        "## Targets",
        "",
        checks_table(checks),
        "",
    ])  # fmt: skip
    (out / "results.md").write_text(text)
    payload = {
        "plan": plan,
        "finished_at": when,
        "machine": machine(),
        "seconds": seconds,
        "context": context,
        "results": results,
        "checks": [check.to_dict() for check in checks],
    }
    (out / "results.json").write_text(json.dumps(payload, indent=2, default=str))
    return text
