"""Sinks without a destination: one that only counts, one that keeps every operation for a later replay.

The counting sink shows the extractor's own ceiling: nothing downstream of `op.upsert` costs anything.
"""

from __future__ import annotations

from typing import Any


class CountingOperations:
    """`op.upsert` and `op.checkpoint` that only count."""

    def __init__(self) -> None:
        self.upserts = 0
        self.deletes = 0
        self.checkpoints = 0

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        self.upserts += 1

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        self.deletes += 1

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.checkpoints += 1


class RecordingOperations(CountingOperations):
    """Keeps the exact sequence of operations, so the same rows and checkpoints can be replayed into a real sink."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: list[tuple[str, Any, Any]] = []

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        self.upserts += 1
        self.operations.append(("upsert", table, data))

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        self.deletes += 1
        self.operations.append(("delete", table, keys))

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.checkpoints += 1
        self.operations.append(("checkpoint", state, None))


class QuietLog:
    """The extractor's `Log` (egnyte_async.log) for a benchmark: drops debug and info lines, keeps warnings.

    Warnings and severe lines are counted and the first few kept, so a benchmark that skipped records says so.
    Every method of `Log` is needed: a retry, for one, logs at debug level.
    """

    MAX_KEPT = 20

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.warning_count = 0

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < self.MAX_KEPT:
            self.warnings.append(message)

    def severe(self, message: str) -> None:
        self.warning(message)
