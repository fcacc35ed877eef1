"""The logger the extractor writes to: the SDK's `Logging` in production, a recorder in tests.

The extractor never imports the SDK itself, so the benchmark and the tests can run it without a Fivetran runtime.
"""

from __future__ import annotations

from typing import Protocol


class Log(Protocol):
    def debug(self, message: str) -> None: ...
    def info(self, message: str) -> None: ...
    def warning(self, message: str) -> None: ...
    def severe(self, message: str) -> None: ...


class NullLog:
    """Drops every message."""

    def debug(self, message: str) -> None:
        pass

    info = warning = severe = debug
