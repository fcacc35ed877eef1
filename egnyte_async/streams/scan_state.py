"""The state of a stream that re-reads a whole listing every scan: where the scan resumes, if it is under way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egnyte_async.log import Log
from egnyte_async.pagination import Position
from egnyte_async.state import SCALARS, readable_part, report_unreadable


@dataclass(frozen=True)
class ScanState:
    """`scan` is the next page of the scan under way; None when the next sync starts a new scan."""

    scan: Position | None = None

    def to_state(self) -> dict[str, Any]:
        return {} if self.scan is None else {"scan": self.scan.to_state()}

    def describe(self) -> str:
        return "starts a new scan" if self.scan is None else f"resumes at record {self.scan.index}"

    def start(self, first_index: int) -> Position:
        return self.scan or Position(first_index)


def position_problem(saved: Any) -> str | None:
    """What is wrong with a saved position, None when it reads: `{"index": a whole number ≥ 0, "tail": a list of
    record ids (strings, numbers, booleans or nulls), or absent}`."""
    if not isinstance(saved, Mapping):
        return "not an object"
    index, tail = saved.get("index"), saved.get("tail")
    if type(index) is not int or index < 0:
        return "its index is not a whole number of at least 0"
    if tail is not None and not (isinstance(tail, list) and all(isinstance(key, SCALARS) for key in tail)):
        return "its tail is not a list of record ids"
    return None


def read_position(saved: Any, stream: str, part: str, first_index: int, log: Log) -> Position | None:
    """The position `saved` under `part`; None, with a warning naming the stream and the part, when it does not read:
    the scan then starts afresh, never from a guess."""
    problem = position_problem(saved)
    if problem is not None:
        report_unreadable(log, stream, part, saved, "the scan starts afresh", problem)
        return None
    return Position(max(saved["index"], first_index), tuple(saved.get("tail") or ()))


def read_scan(raw: Mapping[str, Any], stream: str, first_index: int, log: Log) -> Position | None:
    """The saved scan position of `raw`, if any; an unreadable one restarts the scan with a warning."""
    part = readable_part(raw, "scan", stream, log)
    return None if not part else read_position(part, stream, "'scan' position", first_index, log)
