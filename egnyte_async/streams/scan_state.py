"""The state of a stream that re-reads a whole listing every scan: where the scan resumes, if it is under way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egnyte_async.log import Log
from egnyte_async.pagination import Position
from egnyte_async.state import readable_part


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


def read_scan(raw: Mapping[str, Any], stream: str, first_index: int, log: Log) -> Position | None:
    """The saved scan position of `raw`, if any; an unreadable one restarts the scan with a warning."""
    part = readable_part(raw, "scan", stream, log)
    return None if not part else Position.from_state(part, first_index)
