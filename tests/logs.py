"""A logger for tests: the extractor's `Log`, keeping every line."""

from __future__ import annotations


class RecordingLog:
    """Keeps every message as (level, text)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def debug(self, message: str) -> None:
        self.lines.append(("debug", message))

    def info(self, message: str) -> None:
        self.lines.append(("info", message))

    def warning(self, message: str) -> None:
        self.lines.append(("warning", message))

    def severe(self, message: str) -> None:
        self.lines.append(("severe", message))

    def texts(self, level: str | None = None) -> list[str]:
        return [text for lvl, text in self.lines if level is None or lvl == level]
