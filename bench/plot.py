"""throughput.png: records per second and requests per second against the server's limit, per concurrency.

Only the users-only `limit-*` scenarios are plotted: one tenant shape, so records per request are the same in
every point and the curves differ only by limit and concurrency.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: the backend must be chosen before pyplot is imported
import matplotlib.pyplot as plt

from bench.plan import DEFAULT_CONCURRENCY

UNLIMITED_LABEL = "none"
#: One in flight, the default, then the larger ones in increasing order.
COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange")
#: Where each series' value labels sit, in points from the marker (same order), so that they do not overlap.
LABEL_OFFSETS = ((8, 6), (8, -14), (-44, -4), (6, 2), (6, 8))


def _style_index(concurrency: int, default: int, others: list[int]) -> int:
    if concurrency == 1:
        return 0
    if concurrency == default:
        return 1
    return min(2 + others.index(concurrency), len(COLOURS) - 1)


def _points(results: list[dict[str, Any]]) -> tuple[list[str], dict[int, dict[str, dict[str, Any]]]]:
    """The x categories (limits in increasing order, "none" last) and, per concurrency, the result at each."""
    series: dict[int, dict[str, dict[str, Any]]] = {}
    limits: set[float] = set()
    for result in results:
        if not result["name"].startswith("limit-") or "error" in result:
            continue
        scenario = result["scenario"]
        limit = scenario["server_limit"]
        key = UNLIMITED_LABEL if limit is None else f"{limit:g}/s"
        if limit is not None:
            limits.add(limit)
        series.setdefault(scenario["concurrency"], {})[key] = result
    categories = [f"{limit:g}/s" for limit in sorted(limits)] + [UNLIMITED_LABEL]
    return categories, series


def _records_per_request(series: dict[int, dict[str, dict[str, Any]]]) -> float | None:
    """Records one request brings, from any plotted run: the ceiling a server limit sets on records per second."""
    for points in series.values():
        for result in points.values():
            if result.get("timed_requests"):
                return result["records"] / result["timed_requests"]
    return None


def plot_throughput(results: list[dict[str, Any]], path: Path, default: int = DEFAULT_CONCURRENCY) -> Path | None:
    """Draws the figure; `default` is the connector's default concurrency when the results were measured."""
    categories, series = _points(results)
    if not series:
        return None
    positions = {category: index for index, category in enumerate(categories)}
    figure, (records_axis, requests_axis) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    others = sorted(c for c in series if c not in (1, default))
    for concurrency in sorted(series):
        points = sorted(series[concurrency].items(), key=lambda item: positions[item[0]])
        xs = [positions[category] for category, _ in points]
        label = f"{concurrency} in flight" + (" (default)" if concurrency == default else "")
        index = _style_index(concurrency, default, others)
        style = {"marker": "o", "color": COLOURS[index], "label": label, "linewidth": 2}
        if len(points) == 1:
            style["linestyle"] = "none"
        records_axis.plot(xs, [result["records_per_s"] for _, result in points], **style)
        requests_axis.plot(xs, [result["requests_per_s"] for _, result in points], **style)
        for x, (_, result) in zip(xs, points, strict=True):
            records_axis.annotate(
                f"{result['records_per_s']:,.0f}", (x, result["records_per_s"]), textcoords="offset points",
                xytext=LABEL_OFFSETS[index], fontsize=8, color=style["color"],
            )  # fmt: skip
            if result.get("achieved_over_limit") is not None:
                requests_axis.annotate(
                    f"{result['achieved_over_limit']:.2f}×L", (x, result["requests_per_s"]), textcoords="offset points",
                    xytext=LABEL_OFFSETS[index], fontsize=8, color=style["color"],
                )  # fmt: skip
    limited = [(positions[c], float(c.removesuffix("/s"))) for c in categories if c != UNLIMITED_LABEL]
    if limited:
        xs, limits = [x for x, _ in limited], [limit for _, limit in limited]
        requests_axis.plot(xs, limits, linestyle="--", color="grey", label="server limit", linewidth=1)
        per_request = _records_per_request(series)
        if per_request:
            records_axis.plot(
                xs, [limit * per_request for limit in limits], linestyle="--", color="grey", linewidth=1,
                label=f"server limit × {per_request:.0f} records/request",
            )  # fmt: skip
    sizes = {r["scenario"]["tenant"]["users"]: r["tenant"] for points in series.values() for r in points.values()}
    tenants = [sizes[users] for users in sorted(sizes)]
    latency = next(iter(next(iter(series.values())).values()))["scenario"]
    for axis, title, unit in (
        (records_axis, "Records per second (users, null sink)", "records/s"),
        (requests_axis, "Requests per second achieved", "requests/s"),
    ):
        axis.set_yscale("log")
        axis.margins(x=0.08, y=0.12)
        axis.set_xticks(range(len(categories)), categories)
        axis.set_xlabel("server limit (calls per second per token)")
        axis.set_ylabel(f"{unit} (log scale)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(loc="lower right")
    figure.suptitle(
        f"Egnyte connector against the sandbox: {latency['latency_ms']} ± {latency['jitter_ms']} ms latency, "
        f"client paced at the limit (1000/s without one); users only: {', '.join(tenants)}",
        fontsize=10,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
