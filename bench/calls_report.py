"""The calls scenarios' tables: calls per endpoint of the first and the quiet incremental sync, and with `--against`
both sides with the target: the quiet incremental sync costs at most INCREMENTAL_SHARE of what A's made."""

from __future__ import annotations

from typing import Any

#: The quiet incremental sync's calls, against those of the release before the work on calls (commit 44407c4, run as
#: `--against 44407c4`) for the same sync.
INCREMENTAL_SHARE = 0.08
SYNCS = ("first", "incremental")


def is_calls(result: dict[str, Any]) -> bool:
    return result.get("scenario", {}).get("sink") == "calls"


def _total(result: dict[str, Any], sync: str) -> int | None:
    if "error" in result:
        return None
    return sum(result["calls"][sync].values())


def _endpoints(*results: dict[str, Any]) -> list[str]:
    return sorted(
        {path for result in results if "error" not in result for sync in SYNCS for path in result["calls"][sync]}
    )


def _count(result: dict[str, Any], sync: str, path: str | None) -> int | None:
    """The sync's calls to `path`, or to every endpoint when None; None for a failed run."""
    if "error" in result:
        return None
    return _total(result, sync) if path is None else result["calls"][sync].get(path, 0)


def _cell(result: dict[str, Any], sync: str, path: str | None) -> str:
    value = _count(result, sync, path)
    return "ERROR" if value is None else f"{value:,}"


def calls_table(results: list[dict[str, Any]]) -> str:
    """Per scenario and endpoint: the first sync's calls and the quiet incremental sync's."""
    lines = ["| scenario | endpoint | first sync | quiet incremental |", "|---|---|---:|---:|"]
    for result in results:
        for path in [*_endpoints(result), None]:
            name = "**all**" if path is None else f"`{path}`"
            lines.append(f"| {result['name']} | {name} | {_cell(result, 'first', path)} | "
                         f"{_cell(result, 'incremental', path)} |")  # fmt: skip
        if "error" not in result and result.get("mismatch"):
            lines.append(f"| {result['name']} | destination ≠ tenant after the syncs | {result['mismatch']} | |")
    return "\n".join(lines)


def incremental_share(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    a, b = _total(before, "incremental"), _total(after, "incremental")
    return None if a is None or b is None or a == 0 else b / a


def calls_comparison(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """A and B per scenario and endpoint, B/A of the incremental sync, and the target's verdict per scenario."""
    after_by_name = {result["name"]: result for result in after}
    lines = [
        "| scenario | endpoint | first A → B | quiet incremental A → B | incremental B/A |",
        "|---|---|---:|---:|---:|",
    ]
    verdicts = []
    for a in before:
        b = after_by_name.get(a["name"])
        if b is None:
            continue
        for path in [*_endpoints(a, b), None]:
            name = "**all**" if path is None else f"`{path}`"
            x, y = _count(a, "incremental", path), _count(b, "incremental", path)
            ratio = "-" if x is None or y is None or x == 0 else f"{y / x:.2f}"
            lines.append(f"| {a['name']} | {name} | {_cell(a, 'first', path)} → {_cell(b, 'first', path)} | "
                         f"{_cell(a, 'incremental', path)} → {_cell(b, 'incremental', path)} | {ratio} |")  # fmt: skip
        share = incremental_share(a, b)
        verdict = "MISSING" if share is None else ("PASS" if share <= INCREMENTAL_SHARE else "FAIL")
        shown = "-" if share is None else f"{share:.1%}"
        verdicts.append(f"| quiet incremental sync, {a['name']}: B's calls / A's | **{verdict}** | {shown} | "
                        f"target ≤ {INCREMENTAL_SHARE:.0%} (A = 44407c4, the release before) |")  # fmt: skip
    return "\n".join([*lines, "", "| target | verdict | measured | detail |", "|---|---|---|---|", *verdicts])
